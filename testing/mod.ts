/**
 * The tests' helpers, in one place: a server on a free port, a raw socket
 * that reads lines the way `nc` would, scripted stand-in servers, a fake
 * process for the command line, a store that tests can watch, a collector of
 * trace events, UDP peers, a file system for the log (fake_fs.ts), real
 * kv processes (process.ts), and bounds on every wait. (`deno test` runs `*_test.ts` files only, so this module is
 * never run as a test itself.)
 *
 * @module
 */

import type { MainIo } from "../cli/io.ts";
import type { Context } from "../command/command.ts";
import { Request } from "../command/request.ts";
import { execute } from "../command/table.ts";
import { AnswerBuffer } from "../wire/answer_buffer.ts";
import { RespFramer } from "../wire/resp/framer.ts";
import { RespReply } from "../wire/resp/reply.ts";
import { type Clock, SYSTEM_CLOCK } from "../store/clock.ts";
import { closeQuietly, writeAll } from "../net/conn.ts";
import type { LogLevel } from "../server/log.ts";
import { type KvServer, serve, type ServeOptions } from "../server/serve.ts";
import type { PairVisitor, Store, StoreInfo, ValueSink, WriteOptions } from "../store/store.ts";
import { within } from "./wait.ts";

export { BOUND_MS, gate, within } from "./wait.ts";
export { TraceCollector } from "./trace.ts";
export { scriptedUdpServer, UdpPeer } from "./udp.ts";
export { diskFullError, FakeFs, ioError, sampleLog } from "./fake_fs.ts";
export {
  E2E_ROOT,
  e2eDir,
  type KvProcess,
  type KvProcessOptions,
  runKv,
  startKv,
} from "./process.ts";

const encoder = new TextEncoder();
// ignoreBOM: a raw socket must hand back every byte; the default decoder
// would strip a U+FEFF at the start of each line it decodes.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** What a command handler gets, outside a server: for running commands in pure tests. */
export function testContext(store: Store, clock: Clock = SYSTEM_CLOCK): Context {
  return {
    store,
    clock,
    session: {
      closing: false,
      id: 1,
      peer: "127.0.0.1:1",
      local: "127.0.0.1:12000",
      createdAt: clock.now(),
      resp: 2,
      name: "",
      protocol: "resp",
      authenticated: true,
      authFailures: 0,
    },
    guard: { password: undefined, failed: () => {} },
    stats: {
      startedAt: clock.now(),
      port: 12000,
      connectionsReceived: 1,
      connectionsRejected: 0,
      commandsProcessed: 0,
      keyspaceHits: 0,
      keyspaceMisses: 0,
      connectedClients: () => 1,
      maxClients: 10_000,
      persistent: false,
    },
  };
}

/**
 * Runs requests given as text through Redis's protocol, in-process: RESP
 * framer, command table, RESP reply, on `store` at `clock`'s time. Each call
 * returns the reply bytes as text (one character per byte), so a test can
 * compare them with what Redis sends, byte for byte.
 */
export class RespHarness {
  readonly context: Context;
  readonly #framer: RespFramer;
  readonly #request = new Request();
  readonly #out = new AnswerBuffer();
  readonly #reply: RespReply;

  /** Speaks to `store`, with expiry by `clock`. */
  constructor(store: Store, clock: Clock = SYSTEM_CLOCK) {
    this.context = testContext(store, clock);
    this.#framer = new RespFramer(1024 * 1024, this.context.session);
    this.#reply = new RespReply(this.#out, this.context.session);
  }

  /** Sends raw bytes (text as Latin-1, one byte per character) and returns every reply. */
  send(raw: string): string {
    this.#framer.feed(Uint8Array.from(raw, (char) => char.charCodeAt(0)));
    while (this.#framer.next(this.#request)) {
      const more = execute(this.#request, this.context, this.#reply);
      // A continuation (none in RESP today) is stepped to its end.
      while (more !== undefined && !more.step(this.#reply));
    }
    const text = String.fromCharCode(...this.#out.bytes());
    this.#out.clear();
    return text;
  }

  /** Sends one command, its words as a RESP array of bulk strings, and returns the reply. */
  command(...words: (string | Uint8Array)[]): string {
    let raw = `*${words.length}\r\n`;
    for (const word of words) {
      const bytes = typeof word === "string" ? encoder.encode(word) : word;
      raw += `$${bytes.length}\r\n${String.fromCharCode(...bytes)}\r\n`;
    }
    return this.send(raw);
  }
}

/** Starts a server on 127.0.0.1, port 0, that logs nothing unless asked. */
export function startTestServer(options: ServeOptions = {}): KvServer & { port: number } {
  const server = serve({ hostname: "127.0.0.1", port: 0, log: () => {}, ...options });
  return Object.assign(server, { port: server.addr.port });
}

/** A port nothing listens on (the OS just handed it out and took it back). */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Joins strings (as UTF-8) and raw byte arrays into one buffer. */
export function bytes(...parts: (string | number[])[]): Uint8Array {
  const chunks = parts.map((part) =>
    typeof part === "string" ? encoder.encode(part) : Uint8Array.from(part)
  );
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * A raw TCP connection to a server, read line by line. Every read is
 * bounded by {@linkcode BOUND_MS}: a missing answer fails the test (and
 * closes the connection) instead of hanging it.
 */
export class RawConn implements AsyncDisposable {
  /** The socket, for what the helpers do not cover. */
  readonly conn: Deno.TcpConn;
  #buffered = new Uint8Array(0);
  #eof = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<RawConn> {
    return new RawConn(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes all of `data` (a string is sent as UTF-8). */
  async send(data: string | Uint8Array): Promise<void> {
    await writeAll(this.conn, typeof data === "string" ? encoder.encode(data) : data);
  }

  /** Reads one line (without `\n`); `null` if the server closed first. */
  async readLine(): Promise<string | null> {
    while (true) {
      const nl = this.#buffered.indexOf(0x0a);
      if (nl !== -1) {
        const line = decoder.decode(this.#buffered.subarray(0, nl));
        this.#buffered = this.#buffered.slice(nl + 1);
        return line;
      }
      if (!(await this.#fill())) return null;
    }
  }

  /** Reads exactly `count` lines; fails if the server closes first. */
  async readLines(count: number): Promise<string[]> {
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const line = await this.readLine();
      if (line === null) throw new Error(`connection closed after ${i} of ${count} lines`);
      lines.push(line);
    }
    return lines;
  }

  /** Reads the lines of a LIST answer up to (not including) its empty line. */
  async readList(): Promise<string[]> {
    const lines: string[] = [];
    while (true) {
      const line = await this.readLine();
      if (line === null) {
        throw new Error(`connection closed inside a LIST after ${lines.length} lines`);
      }
      if (line === "") return lines;
      lines.push(line);
    }
  }

  /** Reads every remaining byte until the server closes, as text. */
  async readToEnd(): Promise<string> {
    while (await this.#fill());
    const text = decoder.decode(this.#buffered);
    this.#buffered = new Uint8Array(0);
    return text;
  }

  /** Whether the server has closed its side (after all buffered bytes are read). */
  async closedByServer(): Promise<boolean> {
    return this.#buffered.length === 0 && !(await this.#fill()) && this.#buffered.length === 0;
  }

  /** Shuts down the write side: the server sees the end of the stream. */
  async closeWrite(): Promise<void> {
    await this.conn.closeWrite();
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(64 * 1024);
    let n: number | null;
    try {
      n = await within("waiting for the server", this.conn.read(chunk));
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) n = null;
      else {
        this.close();
        throw error;
      }
    }
    if (n === null) {
      this.#eof = true;
      return false;
    }
    const joined = new Uint8Array(this.#buffered.length + n);
    joined.set(this.#buffered);
    joined.set(chunk.subarray(0, n), this.#buffered.length);
    this.#buffered = joined;
    return true;
  }

  /** Closes the socket (once; later calls do nothing). */
  close(): void {
    closeQuietly(this.conn);
  }

  /** Closes the socket. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** Sends `data` and reads exactly `count` answer lines. */
export async function exchange(
  conn: RawConn,
  data: string | Uint8Array,
  count: number,
): Promise<string[]> {
  await conn.send(data);
  return await conn.readLines(count);
}

/** Sends `request` on a fresh connection and returns the first answer line. */
export async function ask(port: number, request: string): Promise<string | null> {
  await using conn = await RawConn.connect(port);
  await conn.send(`${request}\n`);
  return await conn.readLine();
}

/** Fails unless a fresh connection still gets `PONG` for `PING`. */
export async function assertAlive(port: number): Promise<void> {
  const answer = await ask(port, "PING");
  if (answer !== "PONG") throw new Error(`the server no longer answers PING (got ${answer})`);
}

/**
 * Reads `count` lines from `conn` without keeping them (answers can be
 * 100 MB), passing each to `check`. Fails if the connection ends first, or
 * if bytes follow the last line.
 */
export async function readLinesChecked(
  conn: Deno.Conn,
  count: number,
  check: (line: string, index: number) => void,
): Promise<void> {
  const streamDecoder = new TextDecoder();
  const buffer = new Uint8Array(256 * 1024);
  let carry = "";
  let index = 0;
  while (index < count) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`connection closed after ${index} of ${count} lines`);
    const lines = (carry + streamDecoder.decode(buffer.subarray(0, n), { stream: true }))
      .split("\n");
    carry = lines.pop()!;
    for (const line of lines) {
      if (index === count) throw new Error(`more than ${count} lines`);
      check(line, index++);
    }
  }
  if (carry !== "") throw new Error(`bytes after the last expected line: ${JSON.stringify(carry)}`);
}

/**
 * A stand-in server on port 0: `handle` scripts each connection, which is
 * closed after. `done` settles once the first connection's script is over.
 */
export function scriptedServer(
  handle: (conn: Deno.TcpConn) => Promise<void>,
): AsyncDisposable & { port: number; done: Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const handlers: Promise<void>[] = [];
  const first = Promise.withResolvers<void>();
  const accepting = (async () => {
    for await (const conn of listener) {
      const handler = handle(conn).catch(() => {}).finally(() => closeQuietly(conn));
      if (handlers.length === 0) handler.then(first.resolve);
      handlers.push(handler);
    }
  })();
  return {
    port: listener.addr.port,
    done: first.promise,
    async [Symbol.asyncDispose]() {
      closeQuietly(listener);
      await accepting;
      await Promise.all(handlers);
    },
  };
}

/** Writes all of `data` to `conn` (a string as UTF-8). */
export async function send(conn: Deno.Conn, data: string | Uint8Array): Promise<void> {
  await writeAll(conn, typeof data === "string" ? encoder.encode(data) : data);
}

/** Reads until exactly `count` lines have arrived on `conn`; fails on EOF or extra bytes. */
export async function readRawLines(conn: Deno.Conn, count: number): Promise<string[]> {
  const lines: string[] = [];
  await readLinesChecked(conn, count, (line) => lines.push(line));
  return lines;
}

/** Collects a server's log lines and wakes whoever waits for a given one. */
export class LogCollector {
  /** Every line logged so far. */
  readonly lines: { level: LogLevel; message: string }[] = [];
  #waiters: { ready: () => boolean; resolve: () => void }[] = [];

  /** The logger to pass to `serve()`. */
  readonly log = (level: LogLevel, message: string): void => {
    this.lines.push({ level, message });
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.ready()) return true;
      waiter.resolve();
      return false;
    });
  };

  /** Resolves once `count` lines have matched `pattern`. */
  waitFor(pattern: RegExp, count = 1): Promise<void> {
    const ready = () => this.lines.filter((line) => pattern.test(line.message)).length >= count;
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ ready, resolve }));
  }

  /** The messages logged at `error` level. */
  errors(): string[] {
    return this.lines.filter((line) => line.level === "error").map((line) => line.message);
  }
}

/**
 * A store a test watches through the {@linkcode Store} interface: it counts
 * GETs and lets the test act inside a GET or a write, then hands each call
 * to the store it wraps.
 */
export class ObservedStore implements Store {
  /** GETs seen so far. */
  gets = 0;
  /** Pairs visited by scans so far (LIST streams through scan). */
  pairsScanned = 0;
  /** Called with each GET's key, before it runs. */
  onGet: (key: string) => void = () => {};
  /** Called with each set's key, before it runs. */
  onSet: (key: string) => void = () => {};
  /** Called after each sweep of the active expiry cycle, with how many keys it removed. */
  onSweep: (removed: number) => void = () => {};
  readonly #inner: Store;

  /** Watches `inner`. */
  constructor(inner: Store) {
    this.#inner = inner;
  }

  get size(): number {
    return this.#inner.size;
  }

  get(key: Uint8Array, start: number, end: number, out: ValueSink): boolean {
    this.gets++;
    this.onGet(decoder.decode(key.subarray(start, end)));
    return this.#inner.get(key, start, end, out);
  }

  set(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
    options?: WriteOptions,
  ): void {
    this.onSet(decoder.decode(key.subarray(keyStart, keyEnd)));
    this.#inner.set(key, keyStart, keyEnd, value, valueStart, valueEnd, options);
  }

  delete(key: Uint8Array, start: number, end: number): boolean {
    return this.#inner.delete(key, start, end);
  }

  expiry(key: Uint8Array, start: number, end: number): number {
    return this.#inner.expiry(key, start, end);
  }

  expire(key: Uint8Array, start: number, end: number, expireAtMs: number): boolean {
    return this.#inner.expire(key, start, end, expireAtMs);
  }

  clear(): void {
    this.#inner.clear();
  }

  scan(cursor: number, count: number, visit: PairVisitor): number {
    return this.#inner.scan(
      cursor,
      count,
      (bytes, keyStart, keyEnd, valueStart, valueEnd, flags) => {
        this.pairsScanned++;
        visit(bytes, keyStart, keyEnd, valueStart, valueEnd, flags);
      },
    );
  }

  sweep(budgetMs: number): number {
    const removed = this.#inner.sweep?.(budgetMs) ?? 0;
    this.onSweep(removed);
    return removed;
  }

  info(): StoreInfo {
    return this.#inner.info?.() ?? { expiringKeys: 0, expiredKeys: 0, datasetBytes: 0 };
  }

  commit(): Promise<boolean> | undefined {
    return this.#inner.commit?.();
  }
}

/** A fake process: stdin from the given chunks, stdout and stderr captured. */
export class FakeIo {
  /** The streams to pass to `main()`. */
  readonly io: MainIo;
  #stdout = "";
  #stderr = "";
  #waiters: { stream: "stdout" | "stderr"; pattern: RegExp; resolve(m: RegExpMatchArray): void }[] =
    [];

  /** `stdin`: what the process reads; `terminal`: whether stdin is a terminal. */
  constructor(
    options: {
      stdin?: string | Uint8Array | (string | Uint8Array)[] | ReadableStream<Uint8Array>;
      terminal?: boolean;
      signal?: AbortSignal;
      stderrIsTerminal?: boolean;
    } = {},
  ) {
    const input = options.stdin ?? "";
    const stdin = input instanceof ReadableStream ? input : ReadableStream.from(
      (Array.isArray(input) ? input : [input]).map((chunk) =>
        typeof chunk === "string" ? encoder.encode(chunk) : chunk
      ),
    );
    this.io = {
      stdin,
      stdinIsTerminal: options.terminal ?? false,
      stderrIsTerminal: options.stderrIsTerminal ?? false,
      stdout: (text) => {
        this.#stdout += text;
        this.#wake();
      },
      stderr: (text) => {
        this.#stderr += text;
        this.#wake();
      },
      signal: options.signal,
    };
  }

  /** Everything written to stdout so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** Everything written to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves once stdout matches `pattern`. */
  waitForStdout(pattern: RegExp): Promise<RegExpMatchArray> {
    return this.#waitFor("stdout", pattern);
  }

  /** Resolves once stderr matches `pattern`. */
  waitForStderr(pattern: RegExp): Promise<RegExpMatchArray> {
    return this.#waitFor("stderr", pattern);
  }

  #waitFor(stream: "stdout" | "stderr", pattern: RegExp): Promise<RegExpMatchArray> {
    const { promise, resolve } = Promise.withResolvers<RegExpMatchArray>();
    this.#waiters.push({ stream, pattern, resolve });
    this.#wake();
    return promise;
  }

  #wake(): void {
    this.#waiters = this.#waiters.filter(({ stream, pattern, resolve }) => {
      const match = (stream === "stdout" ? this.#stdout : this.#stderr).match(pattern);
      if (match) resolve(match);
      return !match;
    });
  }
}

export {
  type Mistake,
  studentServer,
  type TestLineServer,
  textbookServer,
} from "./student_servers.ts";
