/**
 * The I/O chores every part of kv shares, each written once: writing all
 * of a buffer (to a socket or a file), closing quietly, telling a peer that
 * went away from a bug, and giving the other sockets their turn.
 *
 * @module
 */

import { setImmediate } from "node:timers";

/** Anything with Deno's `write()`: a socket, a file. */
export interface Writer {
  write(bytes: Uint8Array): Promise<number>;
}

/**
 * Writes every byte of `bytes`: `write()` may take only part of a buffer
 * (Deno.Conn docs), so this loops until all of it is written.
 */
export async function writeAll(writer: Writer, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    const wrote = await writer.write(written === 0 ? bytes : bytes.subarray(written));
    // A writer that takes nothing would hold the caller for ever.
    if (wrote <= 0) throw new Deno.errors.WriteZero("the writer took none of the bytes written");
    written += wrote;
  }
}

/** Closes a socket or listener that may be closed already. */
export function closeQuietly(closer: { close(): void }): void {
  try {
    closer.close();
  } catch {
    // BadResource: closed already (a second close throws).
  }
}

/**
 * Whether `error` only means that the peer went away (reset, broken pipe,
 * end of stream mid-frame) or that we closed the socket ourselves
 * (Interrupted, BadResource): a normal end of a connection, not a bug.
 */
export function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.BadResource ||
    // macOS: a write racing the peer's close may fail with EPROTOTYPE ("Protocol wrong type
    // for socket") in place of EPIPE or ECONNRESET (libuv turns it into ECONNRESET: libuv
    // #3413; golang/go#51538). Rust has no kind for it, so Deno throws a plain Error.
    (error as { code?: unknown } | null)?.code === "EPROTOTYPE";
}

/**
 * Whether an error of `accept()` is the connecting client's loss, not the
 * listener's: a client that connects and resets before its accept surfaces
 * (Deno 2.9) as NotConnected. The next accept goes on.
 */
export function isClientGone(error: unknown): boolean {
  return error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted;
}

/**
 * Whether `error` says this process (EMFILE, `ulimit -n`) or the whole
 * system (ENFILE) is out of file descriptors: an `accept`, a `connect` or an
 * `open` that fails so works once some are closed.
 */
export function isOutOfDescriptors(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "EMFILE" || code === "ENFILE";
}

/** `Name: message` of an error, for a log line. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The message of an error, for a user-facing line. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The longest delay `setTimeout` honours: it takes a 32-bit delay and fires
 * at once for a longer one (with a warning). Every timer a user's setting
 * can make long is capped at it (about 24.8 days).
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A timer that fires this late (ms) means the process was stopped (SIGSTOP,
 * a suspended VM or laptop, a debugger, a frozen container), not that its
 * peers were slow: what they sent meanwhile waits unread in the kernel, and
 * the timer fires before it is read.
 */
export const PAUSED_LATE_MS = 1000;

/**
 * How late a timer of `ms` must fire to mean the process was not running:
 * {@linkcode PAUSED_LATE_MS}, or half the timeout for one shorter than 2 s.
 * A 300 ms timeout that fires 200 ms late (a loaded machine ran other
 * processes) gave its peer a third of its time: what it sent may wait
 * unread.
 */
export function pausedLateMs(ms: number): number {
  return Math.min(PAUSED_LATE_MS, ms / 2);
}

/**
 * How many times in a row one timeout starts over for a late timer. One stop
 * needs one; a process whose own event loop is blocked a second at every
 * turn (overload, not a stop) looks stopped each time, and without a cap
 * would time nobody out, a handshake flood's stalled handshakes included.
 */
export const PAUSED_RESTARTS = 3;

/**
 * Calls `fire` once `ms` have passed with this process running: a timer
 * that fires {@linkcode pausedLateMs} or more late (a second, or half of a
 * timeout under 2 s) starts over, for the whole `ms`, from the resume, so a
 * peer is not timed out for the time we could not hear it
 * ({@linkcode PauseCheck}). At most {@linkcode PAUSED_RESTARTS} times;
 * `lateMs` ({@linkcode pausedLateMs}) is for tests. With `look`, a timer
 * that does not start over gives the pending I/O one look (a 0 ms timer: a
 * turn of the event loop, which polls every socket) before `fire`: a timer
 * that fires a little late, by less than `lateMs`, fires before the bytes
 * that arrived meanwhile are read. `onRestart` hears of each start over.
 * Returns the function that cancels it, the look included.
 */
export function setRunningTimeout(
  fire: () => void,
  ms: number,
  { lateMs = pausedLateMs(ms), look = false, onRestart }: {
    lateMs?: number;
    look?: boolean;
    onRestart?: () => void;
  } = {},
): () => void {
  const wait = Math.min(ms, MAX_TIMER_MS);
  const pause = new PauseCheck(lateMs);
  let timer: ReturnType<typeof setTimeout>;
  const arm = () => {
    pause.due(wait);
    timer = setTimeout(() => {
      // A 0 ms timeout has no time to count again.
      if (wait > 0 && pause.stopped()) {
        onRestart?.();
        arm();
      } else if (look) timer = setTimeout(fire, 0);
      else fire();
    }, wait);
  };
  arm();
  return () => clearTimeout(timer);
}

/**
 * Tells whether a timer fired late enough to mean the process was stopped,
 * and so should start over ({@linkcode setRunningTimeout}, server/idle.ts):
 * `lateMs` or more past its due time, at most {@linkcode PAUSED_RESTARTS}
 * times in a row. Lateness is read on `Date.now()`, which runs on through a
 * suspend of the machine (timers do not).
 */
export class PauseCheck {
  readonly #lateMs: number;
  #dueAt = 0;
  #restarts = 0; // Late firings in a row that started the timer over.

  /** `lateMs`: how late a firing means a stop ({@linkcode pausedLateMs}). */
  constructor(lateMs: number) {
    this.#lateMs = lateMs;
  }

  /** The timer is set to fire in `wait` ms. */
  due(wait: number): void {
    this.#dueAt = Date.now() + wait;
  }

  /** Called as the timer fires: whether it should start over for a stop. */
  stopped(): boolean {
    if (Date.now() - this.#dueAt < this.#lateMs) {
      this.#restarts = 0;
      return false;
    }
    return this.#restarts++ < PAUSED_RESTARTS;
  }
}

/**
 * Whether `promise` settles within `ms` of this process running
 * ({@linkcode setRunningTimeout}, with its look): a timer that comes due
 * while the process is not running (a loaded machine, a long synchronous
 * step) fires before the I/O that arrived meanwhile is read, so a timer late
 * by {@linkcode pausedLateMs} starts over from the resume, and one a little
 * late gives the pending I/O one look before the answer is no: a stall of
 * our own is not taken for the peer's silence.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  const settle = () => {
    settled = true;
  };
  let cancel: (() => void) | undefined;
  const timeUp = new Promise<void>((resolve) => {
    cancel = setRunningTimeout(resolve, ms, { look: true });
  });
  try {
    await Promise.race([promise.then(settle, settle), timeUp]);
    return settled;
  } finally {
    cancel!();
  }
}

/**
 * Waits for `read` or for `ms` of silence, whichever comes first. Returns
 * `true` if the silence won; the read is then still pending.
 */
export async function quiet(read: Promise<number | null>, ms: number): Promise<boolean> {
  return !(await settlesWithin(read, ms));
}

/**
 * Resolves on the event loop's next turn, once it has polled every socket
 * (a timer's turn): a connection whose reads and writes never have to wait
 * (a client that pipelines without end and reads at once: a read whose
 * bytes are there already resolves without a turn) calls it now and then,
 * so that the other clients are served meanwhile.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Resolves after the pending I/O callbacks have run (`setImmediate`):
 * cheaper than {@linkcode nextTurn} when called again and again (timers
 * nested that deep are clamped to 4 ms), for a long walk of the store
 * that writes little.
 */
export function afterIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Throws a `TypeError` that says how to turn UDP on, when this Deno runs
 * without it (`Deno.listenDatagram` needs `--unstable-net` in Deno 2.9).
 */
export function requireDatagrams(): void {
  if (typeof Deno.listenDatagram !== "function") {
    throw new TypeError(
      'UDP needs Deno\'s --unstable-net: run deno with it, or add "unstable": ["net"] to your ' +
        "deno.json (kv's own has it)",
    );
  }
}

/**
 * Whether an error of a UDP socket's `receive()` is Windows telling of an
 * ICMP "port unreachable" that came back for an earlier `send()` on it:
 * Winsock fails the next `recvfrom()` with WSAECONNRESET (10054, "An
 * existing connection was forcibly closed by the remote host"), which Deno
 * throws as `ConnectionReset`. The socket itself is fine. Linux and macOS
 * report no ICMP error on a UDP socket that was never connected, as none of
 * kv's are, so this is Windows' alone.
 */
export function isPortUnreachable(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset;
}

/**
 * Whether a UDP `send()` failed because the system will not send a
 * datagram that long (EMSGSIZE). Linux refuses only what no datagram can
 * hold (over 65,507 bytes over IPv4); macOS refuses anything past its
 * `net.inet.udp.maxdgram`, 9,216 bytes by default, even on loopback. Deno
 * throws a plain `Error` for it, naming the errno in `code`.
 */
export function isMessageTooLong(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "EMSGSIZE";
}
