/**
 * `kv serve`: the TCP server. It owns the sockets and nothing else: the accept
 * loop, one connection loop per client (bytes → {@linkcode LineReader} →
 * {@linkcode parseLine} → {@linkcode execute} → bytes), the limits of
 * PROTOCOL.md and graceful shutdown.
 *
 * @module
 */

import { type LineProblem, LineReader, type LineSink } from "./line_reader.ts";
import { AnswerBuffer, ERRORS, execute, formatError, parseLine, RequestView } from "./protocol.ts";
import { Store } from "./store.ts";

/** How important a log line is. `debug` lines appear only with `--verbose`. */
export type LogLevel = "error" | "info" | "debug";
/** Where the server's log lines go (stderr in `kv serve`). */
export type Logger = (level: LogLevel, message: string) => void;

/** Options of {@linkcode serve}. */
export interface ServeOptions {
  /** The address to listen on. @default {"127.0.0.1"} */
  hostname?: string;
  /** The port to listen on; 0 asks the OS for a free one. @default {12000} */
  port?: number;
  /** The store to serve. @default {new Store()} */
  store?: Store;
  /** Aborting it shuts the server down gracefully. */
  signal?: AbortSignal;
  /** Connections served at once; one more gets an error and is closed. @default {10000} */
  maxConnections?: number;
  /** The most bytes a request line may hold before its `\n`. @default {1048576} */
  maxLineBytes?: number;
  /** Close a connection silent this long (0: never). @default {0} */
  idleTimeoutMs?: number;
  /** A client that never sent `\n` has its line taken after this pause (0: never). @default {100} */
  unframedPauseMs?: number;
  /** After shutdown starts, connections still open this long are cut. @default {5000} */
  shutdownGraceMs?: number;
  /** Receives log lines; `debug` lines are made only when `verbose` is set. @default {errors to stderr} */
  log?: Logger;
  /** Log every connection and request at `debug` level. @default {false} */
  verbose?: boolean;
}

/** How a server ended. */
export interface ServeResult {
  /** Connections still open when the shutdown grace ran out, and cut. */
  connectionsCut: number;
}

/** A running server, shaped like `Deno.serve`'s `HttpServer`. */
export interface KvServer extends AsyncDisposable {
  /** The address it listens on, with the real port. */
  readonly addr: Deno.NetAddr;
  /** Settles once the listener is closed and every connection has ended. */
  readonly finished: Promise<ServeResult>;
  /** Starts a graceful shutdown (as aborting `signal` does) and waits for it. */
  shutdown(): Promise<ServeResult>;
}

/** Defaults of {@linkcode ServeOptions}, shared with main.ts's help text. */
export const SERVE_DEFAULTS = {
  hostname: "127.0.0.1",
  port: 12000,
  maxConnections: 10_000,
  maxLineBytes: 1_048_576,
  idleTimeoutMs: 0,
  unframedPauseMs: 100,
  shutdownGraceMs: 5_000,
} as const;

// Redis reads 16 KiB at a time (PROTO_IOBUF_LEN); so do we. Each connection
// owns one such buffer while it waits for bytes.
const READ_BUFFER_BYTES = 16 * 1024;
// Answers are written once they pass this size, and the rest of the read is
// answered after: a few bytes of pipelined GETs or LISTs may ask for many
// copies of a big value or of the whole store. Each connection's answer
// buffer is reused up to this size; one big answer (a large LIST) gets a
// buffer of its own, dropped once written.
const MAX_REUSED_OUT_BYTES = 64 * 1024;
// After a failed accept (say, out of file descriptors) wait before trying
// again, doubling up to the maximum, instead of spinning.
const ACCEPT_BACKOFF_MS = { first: 5, max: 1_000 };
// Verbose logs quote at most this much of a client's bytes.
const LOG_SAMPLE_CHARS = 80;
// setTimeout takes a 32-bit delay and fires at once for a longer one, so
// longer pauses and timeouts wait this long instead (about 24 days).
const MAX_TIMER_MS = 2 ** 31 - 1;

const encoder = new TextEncoder();
// ignoreBOM: a U+FEFF at the start of a key, value or line is data, not a byte-order mark.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Starts a kv server. Throws `RangeError` for a limit out of range, and what
 * `Deno.listen` throws (`AddrInUse`, `PermissionDenied`, ...) if it cannot
 * bind; after that, nothing a client does makes it throw.
 */
export function serve(options: ServeOptions = {}): KvServer {
  const config: Config = { ...SERVE_DEFAULTS, ...withoutUndefined(options) };
  checkLimits(config);
  const listener = Deno.listen({
    hostname: config.hostname,
    port: config.port,
    transport: "tcp",
  });
  return new Server(
    listener,
    config,
    options.store ?? new Store(),
    options.signal,
  );
}

type Config =
  & Required<Omit<ServeOptions, "store" | "signal" | "log" | "verbose">>
  & Pick<ServeOptions, "log" | "verbose">;

class Server implements KvServer {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<ServeResult>;
  readonly #listener: Deno.TcpListener;
  readonly #config: Config;
  readonly #store: Store;
  readonly #log: Logger;
  readonly #connections = new Set<Connection>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #stop = new AbortController();
  #nextId = 1;
  #connectionsCut = 0;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    listener: Deno.TcpListener,
    config: Config,
    store: Store,
    signal?: AbortSignal,
  ) {
    this.#listener = listener;
    this.addr = listener.addr;
    this.#config = config;
    this.#store = store;
    this.#log = config.log ?? logErrors;
    const onAbort = () => this.#beginShutdown();
    if (signal?.aborted) this.#stop.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    this.finished = this.#run().finally(() => signal?.removeEventListener("abort", onAbort));
  }

  shutdown(): Promise<ServeResult> {
    this.#beginShutdown();
    return this.finished;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  async #run(): Promise<ServeResult> {
    if (this.#stop.signal.aborted) this.#listener.close();
    else await this.#acceptLoop();
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    clearTimeout(this.#graceTimer);
    return { connectionsCut: this.#connectionsCut };
  }

  async #acceptLoop(): Promise<void> {
    let backoffMs = 0;
    while (true) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
        backoffMs = 0;
      } catch (error) {
        if (this.#stop.signal.aborted) return;
        // A client that connects and resets at once surfaces here as
        // NotConnected (Deno 2.9); it is that client's loss, not ours.
        if (
          error instanceof Deno.errors.NotConnected ||
          error instanceof Deno.errors.ConnectionReset ||
          error instanceof Deno.errors.ConnectionAborted
        ) continue;
        if (error instanceof Deno.errors.BadResource) return;
        backoffMs = Math.min(
          ACCEPT_BACKOFF_MS.max,
          backoffMs * 2 || ACCEPT_BACKOFF_MS.first,
        );
        this.#log(
          "error",
          `accept failed, retrying in ${backoffMs} ms: ${describe(error)}`,
        );
        await sleep(backoffMs, this.#stop.signal);
        continue;
      }
      if (this.#stop.signal.aborted) {
        // Accepted just as the shutdown began, too late to be stopped by it.
        closeQuietly(conn);
        return;
      }
      this.#track(this.#admit(conn));
    }
  }

  #track(task: Promise<void>): void {
    // A handler that is not awaited must never reject: an unhandled
    // rejection would end the whole process (STYLE.md 5).
    const tracked: Promise<void> = task
      .catch((error) => this.#log("error", `connection failed: ${describe(error)}`))
      .finally(() => this.#tasks.delete(tracked));
    this.#tasks.add(tracked);
  }

  async #admit(conn: Deno.TcpConn): Promise<void> {
    const id = this.#nextId++;
    if (this.#connections.size >= this.#config.maxConnections) {
      // Like redis's acceptCommonHandler: a best-effort error line, then close.
      this.#log(
        "info",
        `#${id} refused: already ${this.#connections.size} open (--max-connections)`,
      );
      try {
        await conn.write(
          encoder.encode(formatError(ERRORS.tooManyConnections)),
        );
      } catch {
        // The client may be gone already; it gets nothing more either way.
      } finally {
        closeQuietly(conn);
      }
      return;
    }
    const connection = new Connection(
      conn,
      id,
      this.#config,
      this.#store,
      this.#log,
    );
    this.#connections.add(connection);
    try {
      await connection.run();
    } catch (error) {
      // A bug, not a client's doing: log it, drop this connection, go on.
      this.#log("error", `#${id} failed: ${describe(error)}`);
    } finally {
      connection.close();
      this.#connections.delete(connection);
    }
  }

  #beginShutdown(): void {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    for (const connection of this.#connections) connection.stop();
    if (this.#connections.size > 0) {
      this.#graceTimer = setTimeout(() => {
        for (const connection of this.#connections) {
          // One that stop() already closed is just slow to notice: not cut.
          if (connection.close()) this.#connectionsCut++;
        }
      }, Math.min(this.#config.shutdownGraceMs, MAX_TIMER_MS));
    }
  }
}

/** One client's connection: its read loop, and the sink its lines go to. */
class Connection implements LineSink {
  readonly #conn: Deno.TcpConn;
  readonly #id: number;
  readonly #config: Config;
  readonly #store: Store;
  readonly #log: Logger;
  readonly #reader: LineReader;
  readonly #verbose: boolean;
  readonly #request = new RequestView();
  readonly #answers = new AnswerBuffer(MAX_REUSED_OUT_BYTES);
  #stopping = false;
  #quit = false;
  #reading = false;
  #writing = false;
  #closed = false;
  #lastActiveAt = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    conn: Deno.TcpConn,
    id: number,
    config: Config,
    store: Store,
    log: Logger,
  ) {
    this.#conn = conn;
    this.#id = id;
    this.#config = config;
    this.#store = store;
    this.#log = log;
    this.#verbose = config.verbose === true;
    this.#reader = new LineReader(config.maxLineBytes);
  }

  async run(): Promise<void> {
    if (this.#verbose) {
      this.#debug(`connected from ${formatAddr(this.#conn.remoteAddr)}`);
    }
    try {
      this.#conn.setNoDelay(true);
      if (this.#config.idleTimeoutMs > 0) {
        this.#lastActiveAt = Date.now();
        this.#idleTimer = setTimeout(
          () => this.#checkIdle(),
          Math.min(this.#config.idleTimeoutMs, MAX_TIMER_MS),
        );
      }
      await this.#loop();
    } catch (error) {
      if (!isDisconnect(error)) throw error;
      if (this.#verbose && !this.#closed) {
        this.#debug(`dropped: ${describe(error)}`);
      }
    } finally {
      clearTimeout(this.#idleTimer);
      if (this.#verbose) this.#debug("closed");
    }
  }

  async #loop(): Promise<void> {
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    const conn = this.#conn;
    const reader = this.#reader;
    // The hot path: one read, every complete line in it answered, one write
    // (more only when the answers pass MAX_REUSED_OUT_BYTES).
    // Kept flat (no helper promises per chunk) because it runs per read.
    while (!this.#stopping) {
      let n: number | null;
      if (this.#unframed()) {
        const read = await this.#readUnframed(buffer);
        if (read === "quit") return;
        n = read;
      } else {
        this.#reading = true;
        n = await conn.read(buffer);
        this.#reading = false;
      }
      if (n === null) {
        // End of stream, or a half-close: a last line with no `\n` is
        // still a request (PROTOCOL.md, "Ends of lines").
        reader.flush(this);
        if (this.#answers.length > 0) await this.#write();
        return;
      }
      if (this.#idleTimer !== undefined) this.#lastActiveAt = Date.now();
      // push() stops after QUIT, or once the answers pass
      // MAX_REUSED_OUT_BYTES: they are written, then the rest is answered.
      for (let taken = 0; taken < n;) {
        taken += reader.push(buffer.subarray(taken, n), this);
        if (this.#answers.length > 0) await this.#write();
        if (this.#quit) return;
      }
    }
    await this.#linger(buffer);
  }

  /**
   * Shutdown came while this connection was busy, and its client may still be
   * sending. Closing with bytes unread would make the kernel reset the
   * connection and drop answers not yet delivered, so end only the write
   * side: the client reads its answers, then the end of the stream. What it
   * still sends is discarded until it closes; the grace timer bounds the wait.
   */
  async #linger(buffer: Uint8Array): Promise<void> {
    await this.#conn.closeWrite();
    this.#reading = true;
    while ((await this.#conn.read(buffer)) !== null) {
      // Requests that come after the shutdown began get no answer.
    }
  }

  /** Whether the unframed pause applies to the next read (PROTOCOL.md, "Unframed clients"). */
  #unframed(): boolean {
    return this.#config.unframedPauseMs > 0 && !this.#reader.sawNewline &&
      this.#reader.pendingBytes > 0;
  }

  /**
   * Reads the next chunk of a client that has never sent `\n` and has a
   * partial line waiting. The read races the pause: if the line sits
   * unchanged that long, it is answered as a request.
   */
  async #readUnframed(buffer: Uint8Array): Promise<number | null | "quit"> {
    this.#reading = true;
    const read = this.#conn.read(buffer);
    if (await pause(read, this.#config.unframedPauseMs)) {
      this.#reading = false;
      this.#reader.flush(this);
      if (this.#answers.length > 0) await this.#write();
      if (this.#quit || this.#stopping) {
        read.catch(() => {}); // Rejects once we close the conn: expected.
        return "quit";
      }
      this.#reading = true;
    }
    const n = await read;
    this.#reading = false;
    return n;
  }

  /** Writes every answer gathered so far, all of it, before reading on. */
  async #write(): Promise<void> {
    const bytes = this.#answers.bytes();
    this.#writing = true;
    try {
      for (let written = 0; written < bytes.length;) {
        written += await this.#conn.write(bytes.subarray(written));
      }
    } finally {
      this.#answers.clear();
      this.#writing = false;
      // Idle time counts from the end of the last answer, too.
      if (this.#idleTimer !== undefined) this.#lastActiveAt = Date.now();
    }
  }

  line(bytes: Uint8Array, start: number, end: number): boolean {
    const request = this.#request;
    if (!parseLine(bytes, start, end, request)) return true;
    const mark = this.#answers.length;
    execute(request, bytes, this.#store, this.#answers);
    if (this.#verbose) {
      const answer = decoder.decode(this.#answers.bytes().subarray(mark)).trimEnd();
      this.#debug(`${sample(decoder.decode(bytes.subarray(start, end)))} -> ${sample(answer)}`);
    }
    // Like redis after a reply that closes: no more buffered requests run.
    if (request.kind === "quit") this.#quit = true;
    return !this.#quit && this.#answers.length < MAX_REUSED_OUT_BYTES;
  }

  bad(problem: LineProblem): boolean {
    const message = problem === "too-long"
      ? ERRORS.lineTooLong(this.#config.maxLineBytes)
      : ERRORS.invalidUtf8;
    if (this.#verbose) this.#debug(`bad line -> Error: ${message}`);
    this.#answers.addText(formatError(message));
    return this.#answers.length < MAX_REUSED_OUT_BYTES;
  }

  /** Graceful shutdown: wake a connection waiting for bytes; a busy one stops after its write. */
  stop(): void {
    this.#stopping = true;
    if (this.#reading) this.close();
  }

  /** Closes the socket, once; returns whether this call closed it. A pending read or write then rejects. */
  close(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    closeQuietly(this.#conn);
    return true;
  }

  /** Lazy idle timer: reads only stamp the time; the timer re-arms itself until the connection is truly idle. */
  #checkIdle(): void {
    const idleMs = this.#config.idleTimeoutMs;
    const silentMs = Date.now() - this.#lastActiveAt;
    if (this.#writing || silentMs < idleMs) {
      this.#idleTimer = setTimeout(
        () => this.#checkIdle(),
        Math.min(this.#writing ? idleMs : idleMs - silentMs, MAX_TIMER_MS),
      );
      return;
    }
    if (this.#verbose) this.#debug(`idle for ${silentMs} ms, closing`);
    this.#idleTimer = undefined;
    this.close();
  }

  #debug(message: string): void {
    this.#log("debug", `#${this.#id} ${message}`);
  }
}

/**
 * Waits for `read` or for `ms` of silence, whichever comes first. Returns
 * `true` if the pause won; the read is then still pending.
 */
async function pause(
  read: Promise<number | null>,
  ms: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const paused = new Promise<true>((resolve) => {
    timer = setTimeout(() => resolve(true), Math.min(ms, MAX_TIMER_MS));
  });
  try {
    return await Promise.race([read.then(() => false, () => false), paused]);
  } finally {
    clearTimeout(timer);
  }
}

/** Errors that only mean the peer went away, or that we closed the socket. */
function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.BadResource;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // BadResource: already closed.
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function logErrors(level: LogLevel, message: string): void {
  // deno-lint-ignore no-console
  if (level === "error") console.error(message);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function sample(text: string): string {
  const quoted = JSON.stringify(
    text.length > LOG_SAMPLE_CHARS ? text.slice(0, LOG_SAMPLE_CHARS) : text,
  );
  return text.length > LOG_SAMPLE_CHARS ? `${quoted}... (${text.length} chars)` : quoted;
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatAddr(addr: Deno.Addr): string {
  if (addr.transport !== "tcp" && addr.transport !== "udp") {
    return addr.transport;
  }
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

// The least value of each limit; 0 turns the timers off.
const LEAST = {
  maxConnections: 1,
  maxLineBytes: 1,
  idleTimeoutMs: 0,
  unframedPauseMs: 0,
  shutdownGraceMs: 0,
} as const;

/** Fails before binding rather than in every connection later. */
function checkLimits(config: Config): void {
  for (const [name, least] of Object.entries(LEAST)) {
    const value = config[name as keyof typeof LEAST];
    if (!Number.isSafeInteger(value) || value < least) {
      throw new RangeError(
        `Cannot use ${name} ${value}: expected an integer from ${least}`,
      );
    }
  }
}

function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}
