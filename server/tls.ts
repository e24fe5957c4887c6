/**
 * TLS for `kv serve` (PROTOCOL.md, TLS), with handshakes that can be cut.
 *
 * Deno's TLS listener finishes a connection's handshake before it lets the
 * socket close (denoland/deno#14547): a client that connects and sends
 * nothing would hold its socket for as long as it likes, however the server
 * closes its end. So the public port is a plain TCP listener the server
 * owns, and each connection it accepts is piped, over loopback, into a TLS
 * listener inside the process. Cutting a connection closes the public
 * socket and the pipe; the TLS side then sees its peer gone and lets go.
 * Here: the front (the listener and the pairing of pipes); each connection
 * through it is a {@linkcode FrontConn} (server/tls_conn.ts).
 *
 * @module
 */

import { closeQuietly, describeError, isOutOfDescriptors, setRunningTimeout } from "../net/conn.ts";
import { LogBudget, type Logger } from "../net/log.ts";
import { FrontConn } from "./tls_conn.ts";

/** What the server needs of a listener. `Deno.Listener` is one. */
export interface Acceptor {
  /** The address it listens on. */
  readonly addr: Deno.Addr;
  /** The next connection. */
  accept(): Promise<Deno.Conn>;
  /** Stops listening. */
  close(): void;
}

/** The timeouts a TLS handshake is held to. */
export interface HandshakeTimeouts {
  readonly handshakeTimeoutMs: number;
  /** `--idle-timeout`; 0: none. */
  readonly idleTimeoutMs: number;
}

/**
 * How long a client may take over its TLS handshake: the handshake timeout,
 * or the idle timeout if that is shorter (a client that sends nothing is
 * idle too). An admitted client's handshake and a refused one's (which must
 * finish it to read the refusal: server/refusals.ts) are held to it alike.
 */
function handshakeLimitMs(timeouts: HandshakeTimeouts): number {
  const { handshakeTimeoutMs, idleTimeoutMs } = timeouts;
  return idleTimeoutMs > 0 ? Math.min(handshakeTimeoutMs, idleTimeoutMs) : handshakeTimeoutMs;
}

/**
 * Finishes a client's TLS handshake within the time allowed
 * ({@linkcode handshakeLimitMs}): a plaintext client or one that never
 * finishes costs the server nothing but its connection. Returns `undefined`
 * once it is done, or what went wrong, in the words `--verbose` logs.
 */
export async function finishHandshake(
  conn: Deno.TlsConn,
  timeouts: HandshakeTimeouts,
): Promise<string | undefined> {
  const result = await handshakeWithin(conn, handshakeLimitMs(timeouts));
  if (result === "done") return undefined;
  return result === "late"
    ? "TLS handshake took too long, closing"
    : `TLS handshake failed: ${describeError(result)}`;
}

/** The most handshake failures logged in a minute without --verbose; the rest are counted. */
export const TLS_LOG_LIMIT = 20;
const TLS_LOG_WINDOW_MS = 60_000;

/**
 * What a server logs without `--verbose` of a failed handshake: the two
 * failures whose fix is on the client's side and that its user cannot see
 * from the server (a client without TLS, one that does not trust the
 * certificate), in one line each with what to do, at most
 * {@linkcode TLS_LOG_LIMIT} lines a minute, so any client cannot fill the
 * log. The client's bytes are never shown: a plaintext client's first
 * request may be its AUTH. Other failures (a port scan's connect and close,
 * a handshake cut by its timeout) stay `--verbose`'s.
 */
export function newHandshakeLog(
  log: Logger,
  now: () => number,
): (id: number, peer: string, failed: string) => void {
  const budget = new LogBudget(TLS_LOG_LIMIT, TLS_LOG_WINDOW_MS);
  return (id, peer, failed) => {
    const alert = /received fatal alert: (\w+)/.exec(failed)?.[1];
    const why = /InvalidContentType/.test(failed)
      ? "does not speak TLS: its bytes are not a TLS handshake (plain text? connect with TLS: " +
        "kv client --tls, redis-cli --tls)"
      : alert !== undefined
      ? `refused this server's certificate (TLS alert ${alert}): the client must trust the CA ` +
        "that signed it (kv client --tls-ca FILE, redis-cli --cacert FILE)"
      : undefined;
    if (why === undefined) return;
    const logged = budget.take(now());
    if (logged === undefined) return;
    let line = `#${id} TLS client ${peer} ${why}`;
    if (logged.skipped > 0) line += `; ${logged.skipped} more failed before it, not logged`;
    if (logged.last) {
      line += `; that is ${TLS_LOG_LIMIT} this minute: the rest of this minute's are not logged ` +
        "(-v logs them all)";
    }
    log("info", line);
  };
}

/**
 * Finishes `conn`'s TLS handshake within `ms` of the server running (a
 * handshake under way while it was stopped gets its whole time again from
 * the resume: its client's messages wait unread meanwhile): `"done"`,
 * `"late"` (the handshake then fails once the connection is closed, as
 * expected), or why it failed (a plaintext client, a bad certificate).
 */
async function handshakeWithin(
  conn: Deno.TlsConn,
  ms: number,
): Promise<"done" | "late" | Error> {
  let cancel: (() => void) | undefined;
  const late = new Promise<"late">((resolve) => {
    cancel = setRunningTimeout(() => resolve("late"), ms);
  });
  const handshake = conn.handshake();
  try {
    const result = await Promise.race([handshake.then(() => "done" as const), late]);
    if (result === "late") handshake.catch(() => {});
    return result;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  } finally {
    cancel!();
  }
}

/** A listener whose connections are piped through a TLS listener inside the process. */
export interface TlsAcceptor extends Acceptor {
  /** The loopback address of the inner TLS listener the pipes connect to. */
  readonly pipeAddr: Deno.NetAddr;
}

/** A TLS listener on `hostname:port` whose connections' handshakes can be cut. */
export function listenTls(
  options: { hostname: string; port: number; cert: string; key: string },
): TlsAcceptor {
  const outer = Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
  let inner: Deno.TlsListener;
  try {
    inner = Deno.listenTls({
      hostname: "127.0.0.1",
      port: 0,
      cert: options.cert,
      key: options.key,
    });
  } catch (error) {
    outer.close();
    throw error;
  }
  return new TlsFront(outer, inner);
}

// A pipe's connection to the inner listener that has not arrived by then
// (the machine is that loaded) fails that one client.
const PAIR_TIMEOUT_MS = 10_000;
const DRAIN_BACKOFF_MS = { first: 5, max: 1_000 };

class TlsFront implements TlsAcceptor {
  readonly addr: Deno.Addr;
  readonly pipeAddr: Deno.NetAddr;
  readonly #outer: Deno.TcpListener;
  readonly #inner: Deno.TlsListener;
  // Pairings go one at a time: connect a pipe to the inner listener, then
  // take the inner connection whose far end is that pipe (its address and port).
  #turn: Promise<unknown> = Promise.resolve();
  // The inner listener is drained all the time, not only while a pairing
  // waits: a local program that fills its accept queue (it is a loopback
  // port anyone on the machine can reach) would otherwise stall every pipe's
  // connect behind it. What arrives is kept while a pairing waits for its
  // own; anything else is closed.
  #waiting: ((tls: Deno.TlsConn) => void) | undefined;
  // And if the inner accept fails meanwhile (out of file descriptors), the
  // pairing fails at once, rather than when its timeout runs out.
  #innerFailed: ((error: unknown) => void) | undefined;
  // A client whose pipe could not be made for want of file descriptors:
  // kept, and paired again at the next accept (which the server's accept
  // loop retries with a backoff), so that it waits as a plain client waits
  // in the listen backlog, instead of being closed without a word.
  #held: Deno.TcpConn | undefined;
  #closed = false;
  // A failed accept (out of file descriptors) is retried after a pause,
  // doubling as the server's own accept loop does.
  #pause: { timer: ReturnType<typeof setTimeout>; resolve: () => void } | undefined;

  constructor(outer: Deno.TcpListener, inner: Deno.TlsListener) {
    this.#outer = outer;
    this.#inner = inner;
    this.addr = outer.addr;
    this.pipeAddr = inner.addr;
    void this.#drain(); // Ends when the inner listener closes.
  }

  async #drain(): Promise<void> {
    let backoffMs = DRAIN_BACKOFF_MS.first;
    while (!this.#closed) {
      let tls: Deno.TlsConn;
      try {
        tls = await this.#inner.accept();
      } catch (error) {
        if (this.#closed) return;
        // Out of file descriptors, say: try again once some are free (or at
        // the next pairing, which wakes this pause). Only that fails the
        // pairing under way: another error may be another socket's.
        if (isOutOfDescriptors(error)) this.#innerFailed?.(error);
        await new Promise<void>((resolve) => {
          this.#pause = { timer: setTimeout(resolve, backoffMs), resolve };
        });
        this.#pause = undefined;
        backoffMs = Math.min(backoffMs * 2, DRAIN_BACKOFF_MS.max);
        continue;
      }
      backoffMs = DRAIN_BACKOFF_MS.first;
      if (this.#waiting === undefined) closeQuietly(tls); // No pairing under way: a stray.
      else this.#waiting(tls);
    }
  }

  accept(): Promise<Deno.Conn> {
    const paired = this.#turn.then(async () => {
      if (this.#closed) throw new Deno.errors.BadResource("the TLS listener is closed");
      const raw = this.#held ?? await this.#outer.accept();
      this.#held = undefined;
      try {
        return await this.#pair(raw);
      } catch (error) {
        if (isOutOfDescriptors(error) && !this.#closed) this.#held = raw;
        else closeQuietly(raw);
        throw error;
      }
    });
    this.#turn = paired.catch(() => {});
    return paired;
  }

  /** Ends the inner drain's pause after a failed accept: a pairing wants its connection now. */
  #wake(): void {
    if (this.#pause === undefined) return;
    clearTimeout(this.#pause.timer);
    this.#pause.resolve();
  }

  /** Pipes `raw` into the inner listener; on failure closes the pipe (`raw` is the caller's). */
  async #pair(raw: Deno.TcpConn): Promise<Deno.Conn> {
    let pipe: Deno.TcpConn | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Until the pipe's own connection is found, what the inner listener
    // accepts waits here: it may come before the connect resolves.
    const arrived: Deno.TlsConn[] = [];
    let found: ((tls: Deno.TlsConn) => void) | undefined;
    this.#waiting = (tls) => (found === undefined ? arrived.push(tls) : found(tls));
    const innerFailed = Promise.withResolvers<never>();
    innerFailed.promise.catch(() => {}); // Unless raced below, nobody waits for it.
    this.#innerFailed = innerFailed.reject;
    this.#wake();
    let late = false;
    try {
      const paired = (async () => {
        const connected = await Deno.connect({
          hostname: "127.0.0.1",
          port: this.#inner.addr.port,
        });
        if (late) {
          closeQuietly(connected); // The pairing gave up (or failed) meanwhile.
          throw new Error("the TLS pipe connected too late");
        }
        pipe = connected;
        const { hostname, port } = connected.localAddr;
        return await new Promise<Deno.TlsConn>((resolve) => {
          found = (tls) => {
            // Address and port: a local program may connect from 127.0.0.2 with the same port.
            if (tls.remoteAddr.port === port && tls.remoteAddr.hostname === hostname) resolve(tls);
            else closeQuietly(tls); // A stray local client: never paired with anyone.
          };
          for (const tls of arrived.splice(0)) found(tls);
        });
      })();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          late = true;
          reject(new Error("the TLS pipe's loopback connection did not arrive"));
        }, PAIR_TIMEOUT_MS);
      });
      paired.catch(() => {}); // A late failure is the timeout's to report.
      const tls = await Promise.race([paired, timeout, innerFailed.promise]);
      try {
        raw.setNoDelay(true);
        pipe!.setNoDelay(true);
      } catch (error) {
        // A socket its client already reset may refuse it (macOS: EINVAL):
        // the pipe's inner end goes too, or nothing would close it.
        closeQuietly(tls);
        throw error;
      }
      return new FrontConn(tls, raw, pipe!);
    } catch (error) {
      late = true; // A connect still under way closes its pipe when it resolves.
      if (pipe !== undefined) closeQuietly(pipe);
      throw error;
    } finally {
      clearTimeout(timer);
      this.#waiting = undefined;
      this.#innerFailed = undefined;
      for (const tls of arrived.splice(0)) closeQuietly(tls);
    }
  }

  close(): void {
    this.#closed = true;
    closeQuietly(this.#outer);
    closeQuietly(this.#inner);
    if (this.#held !== undefined) closeQuietly(this.#held);
    this.#held = undefined;
    // A pairing whose pipe connected but was not yet accepted inside would
    // wait out its timeout (10 s), and the shutdown with it.
    this.#innerFailed?.(new Deno.errors.BadResource("the TLS listener is closed"));
    this.#wake();
  }
}
