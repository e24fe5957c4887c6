/**
 * `kv client`: {@linkcode KvClient}, a typed client that other Deno programs
 * can use, and the command line's three ways to use it: one request, a batch
 * from stdin, or an interactive prompt.
 *
 * @module
 */

import { TextLineStream } from "@std/streams";
import { LineReader, type LineSink } from "./line_reader.ts";
import {
  type AnswerShape,
  answerShape,
  encodeRequest,
  ERROR_PREFIX,
  NOT_EXIST,
  parseListLine,
  type Request,
  SUCCESS,
  USAGE,
} from "./protocol.ts";
import { formatAddr } from "./server.ts";

/** Options of {@linkcode KvClient.connect}. */
export interface ClientOptions {
  /** The server's address. @default {"127.0.0.1"} */
  hostname?: string;
  /** The server's port. @default {12000} */
  port?: number;
  /** Give up connecting after this long. @default {5000} */
  connectTimeoutMs?: number;
}

/** Defaults of {@linkcode ClientOptions}. */
export const CLIENT_DEFAULTS = {
  hostname: "127.0.0.1",
  port: 12000,
  connectTimeoutMs: 5_000,
} as const;

/** The server answered a request with an `Error: ` line. */
export class KvServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KvServerError";
  }
}

/** The connection failed, or closed with requests still unanswered. */
export class KvConnectionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KvConnectionError";
  }
}

interface Pending {
  shape: Exclude<AnswerShape, "none">;
  lines: string[];
  resolve(lines: string[]): void;
  reject(error: Error): void;
}

const encoder = new TextEncoder();
// ignoreBOM: a U+FEFF at the start of a key, value or line is data, not a byte-order mark.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const READ_BUFFER_BYTES = 64 * 1024;
// Answers are not limited by the protocol; a LIST line may be as long as a
// key plus a value. The reader still needs a bound: this one is generous.
const MAX_ANSWER_LINE_BYTES = 256 * 1024 * 1024;

/**
 * A connection to a kv server. Calls may overlap: requests are pipelined
 * (written as soon as they are made, coalesced into one write per tick) and
 * each answer goes to its request in order.
 *
 * @example
 * ```ts ignore
 * await using kv = await KvClient.connect({ port: 12000 });
 * await kv.put("name", "yyjun");
 * console.log(await kv.get("name")); // "yyjun"
 * ```
 */
export class KvClient implements AsyncDisposable {
  /** The server's address as `host:port`. */
  readonly address: string;
  readonly #conn: Deno.TcpConn;
  readonly #pending: Pending[] = [];
  // Lines that came with no request waiting, e.g. `Error: too many
  // connections`: they answer the next requests, in order.
  readonly #early: string[] = [];
  readonly #reading: Promise<void>;
  #outgoing: Uint8Array[] = [];
  #writing: Promise<void> = Promise.resolve();
  #failure: KvConnectionError | undefined;
  #closed = false;

  private constructor(conn: Deno.TcpConn, address: string) {
    this.#conn = conn;
    this.address = address;
    this.#reading = this.#readLoop();
  }

  /** Connects to a server. Throws `KvConnectionError` if it cannot. */
  static async connect(options: ClientOptions = {}): Promise<KvClient> {
    const hostname = options.hostname ?? CLIENT_DEFAULTS.hostname;
    const port = options.port ?? CLIENT_DEFAULTS.port;
    const address = formatAddr({ transport: "tcp", hostname, port });
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(),
      options.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs,
    );
    try {
      const conn = await Deno.connect({
        hostname,
        port,
        transport: "tcp",
        signal: timeout.signal,
      });
      conn.setNoDelay(true);
      return new KvClient(conn, address);
    } catch (error) {
      const reason = timeout.signal.aborted ? "timed out" : describeConnectError(error);
      throw new KvConnectionError(`cannot connect to ${address}: ${reason}`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stores `value` under `key`. */
  async put(key: string, value: string): Promise<void> {
    expectLine(await this.#call({ kind: "put", key, value }), SUCCESS);
  }

  /**
   * The value of `key`, or `undefined` if it is missing. (A stored value of
   * `Not exist!` reads as missing: the protocol cannot tell them apart.)
   */
  async get(key: string): Promise<string | undefined> {
    const answer = await this.#call({ kind: "get", key });
    return answer === NOT_EXIST ? undefined : answer;
  }

  /** Removes `key`. Returns whether it was there. */
  async delete(key: string): Promise<boolean> {
    const answer = await this.#call({ kind: "delete", key });
    if (answer === NOT_EXIST) return false;
    expectLine(answer, SUCCESS);
    return true;
  }

  /** Every pair the server holds. */
  async list(): Promise<Map<string, string>> {
    const lines = await this.request("LIST");
    throwIfError(lines[0] ?? "");
    if (lines.length === 1 && lines[0] === NOT_EXIST) return new Map();
    return new Map(lines.map(parseListLine));
  }

  /** Checks that the server answers. */
  async ping(): Promise<void> {
    expectLine(await this.#call({ kind: "ping" }), "PONG");
  }

  /**
   * Sends one raw request line and returns the answer's lines, as the server
   * sent them (`Error:` lines included; LIST's closing empty line left out).
   * A blank line gets no answer: `[]`. A line holding `\n` is two requests
   * but would be matched to one answer, so it is rejected with `RangeError`.
   */
  request(line: string | Uint8Array): Promise<string[]> {
    if (typeof line === "string" ? line.includes("\n") : line.includes(0x0a)) {
      return Promise.reject(
        new RangeError("Cannot send a request line that holds a newline"),
      );
    }
    const text = typeof line === "string" ? line : decodeForShape(line);
    const shape = text === undefined ? "line" : answerShape(dropCr(text));
    if (shape === "none") return Promise.resolve([]);
    const bytes = typeof line === "string" ? encoder.encode(`${line}\n`) : withNewline(line);
    return this.#send(bytes, shape);
  }

  /** Closes the connection. Requests still waiting fail. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#early.length = 0; // Closed by us: nothing more is answered.
      try {
        this.#conn.close();
      } catch {
        // Already closed.
      }
    }
    await this.#reading;
    await this.#writing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #call(
    request: Exclude<Request, { kind: "invalid" | "list" }>,
  ): Promise<string> {
    const [answer = ""] = await this.#send(
      encoder.encode(encodeRequest(request)),
      "line",
    );
    throwIfError(answer);
    return answer;
  }

  #send(bytes: Uint8Array, shape: Pending["shape"]): Promise<string[]> {
    const ended = this.#failure ??
      (this.#closed ? new KvConnectionError(`connection to ${this.address} is closed`) : undefined);
    // Lines the server sent just before closing (`Error: too many
    // connections`) still answer the next request after the close is read.
    if (ended && this.#early.length === 0) return Promise.reject(ended);
    const { promise, resolve, reject } = Promise.withResolvers<string[]>();
    const pending: Pending = { shape, lines: [], resolve, reject };
    this.#pending.push(pending);
    if (!ended) {
      this.#outgoing.push(bytes);
      // Requests made in the same tick go out in one write.
      if (this.#outgoing.length === 1) {
        this.#writing = this.#writing.then(() => this.#writeOutgoing());
      }
    }
    while (this.#early.length > 0 && this.#pending[0] === pending) {
      this.#take(this.#early.shift()!);
    }
    if (ended && this.#pending[0] === pending) {
      this.#pending.shift();
      reject(ended);
    }
    return promise;
  }

  async #writeOutgoing(): Promise<void> {
    const chunks = this.#outgoing;
    this.#outgoing = [];
    if (this.#failure || this.#closed) return;
    const bytes = chunks.length === 1 ? chunks[0]! : concat(chunks);
    try {
      for (let written = 0; written < bytes.length;) {
        written += await this.#conn.write(bytes.subarray(written));
      }
    } catch (error) {
      this.#fail(
        new KvConnectionError(
          `lost connection to ${this.address}: ${describeConnectError(error)}`,
          { cause: error },
        ),
      );
    }
  }

  async #readLoop(): Promise<void> {
    const reader = new LineReader(MAX_ANSWER_LINE_BYTES);
    const sink: LineSink = {
      line: (bytes, start, end) => {
        this.#take(decoder.decode(bytes.subarray(start, end)));
        return true;
      },
      bad: (problem) => {
        this.#fail(
          new KvConnectionError(
            `${this.address} sent a bad answer line (${problem})`,
          ),
        );
        return false;
      },
    };
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    try {
      while (true) {
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        reader.push(buffer.subarray(0, n), sink);
        if (this.#failure !== undefined) return; // A bad answer line: the sink failed us.
      }
      reader.flush(sink);
      this.#fail(new KvConnectionError(`connection closed by ${this.address}`));
    } catch (error) {
      this.#fail(
        this.#closed
          ? new KvConnectionError(`connection to ${this.address} is closed`)
          : new KvConnectionError(
            `lost connection to ${this.address}: ${describeConnectError(error)}`,
            { cause: error },
          ),
      );
    }
  }

  /** Hands one answer line to the oldest request waiting for it. */
  #take(line: string): void {
    const pending = this.#pending[0];
    if (pending === undefined) {
      this.#early.push(line);
      return;
    }
    if (
      pending.shape === "line" ||
      (pending.lines.length === 0 && isLoneError(line))
    ) {
      this.#pending.shift();
      pending.resolve([line]);
    } else if (line === "") {
      this.#pending.shift();
      pending.resolve(pending.lines);
    } else {
      pending.lines.push(line);
    }
  }

  #fail(error: KvConnectionError): void {
    this.#failure ??= error;
    for (const pending of this.#pending.splice(0)) {
      pending.reject(this.#failure);
    }
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    this.#closed = true;
  }
}

/**
 * An `Error:` line where a LIST answer was expected (a line too long, too
 * many connections). A LIST line always holds `, `; these errors never do.
 */
function isLoneError(line: string): boolean {
  return line.startsWith(ERROR_PREFIX) && !line.includes(", ");
}

function throwIfError(answer: string): void {
  if (answer.startsWith(ERROR_PREFIX)) {
    throw new KvServerError(answer.slice(ERROR_PREFIX.length));
  }
}

function expectLine(answer: string, expected: string): void {
  if (answer !== expected) {
    throw new KvConnectionError(
      `expected ${JSON.stringify(expected)}, got ${JSON.stringify(answer)}`,
    );
  }
}

/** Why a connection failed, in the words `kv client` and `kv bench` print. */
export function describeConnectError(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionRefused) {
    return "connection refused (is kv serve running?)";
  }
  if (error instanceof Deno.errors.ConnectionReset) return "connection reset";
  if (error instanceof Deno.errors.TimedOut) return "timed out";
  if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
    return "permission denied (run with --allow-net)";
  }
  return error instanceof Error ? error.message : String(error);
}

const strictDecoder = new TextDecoder("utf-8", {
  fatal: true,
  ignoreBOM: true,
});

function decodeForShape(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined; // The server will answer `Error: request is not valid UTF-8`.
  }
}

function dropCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

function withNewline(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = 0x0a;
  return out;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

// ---------------------------------------------------------------------------
// The command line: `kv client [REQUEST...]`.

/** Where the command line's output goes; main.ts passes the real streams. */
export interface ClientIo {
  stdin: ReadableStream<Uint8Array>;
  stdinIsTerminal: boolean;
  stdout(text: string): void | Promise<void>;
  stderr(text: string): void | Promise<void>;
}

/** Exit statuses of `kv client`. */
export const CLIENT_EXIT = { ok: 0, errorAnswer: 1, failure: 2 } as const;

// At most this many batch requests wait for answers at once, so a huge
// stdin does not pile up in memory.
const MAX_IN_FLIGHT = 4_096;
const FLUSH_OUTPUT_CHARS = 64 * 1024;

/**
 * Runs `kv client`: one request given as `words` (joined with one space),
 * else every stdin line as a request (batch), else a prompt on a terminal.
 * Returns the exit status.
 */
export async function runClient(
  words: string[],
  options: ClientOptions,
  io: ClientIo,
): Promise<number> {
  let client: KvClient;
  try {
    client = await KvClient.connect(options);
  } catch (error) {
    await io.stderr(`kv: ${errorText(error)}\n`);
    return CLIENT_EXIT.failure;
  }
  try {
    if (words.length > 0) return await runOnce(client, words.join(" "), io);
    if (!io.stdinIsTerminal) return await runBatch(client, io);
    return await runRepl(client, io);
  } catch (error) {
    await io.stderr(`kv: ${errorText(error)}\n`);
    return CLIENT_EXIT.failure;
  } finally {
    await client.close();
  }
}

async function runOnce(
  client: KvClient,
  line: string,
  io: ClientIo,
): Promise<number> {
  const lines = await client.request(line);
  await io.stdout(lines.map((answer) => `${answer}\n`).join(""));
  if (!lines.some(isErrorLine)) return CLIENT_EXIT.ok;
  // `kv client PING --port 1` sends "PING --port 1": say why it failed.
  if (OPTION_IN_REQUEST_REGEXP.test(line)) {
    await io.stderr("kv: note: options go before the request (kv client --port 1 PING)\n");
  }
  return CLIENT_EXIT.errorAnswer;
}

const OPTION_IN_REQUEST_REGEXP = /(^|\s)(--(host|port|help)\b|-[hp]\b)/;

/** Pipelines every stdin line; prints the answers in order as they come. */
async function runBatch(client: KvClient, io: ClientIo): Promise<number> {
  const answers: Promise<string[]>[] = [];
  let output = "";
  let sawError = false;
  const printOldest = async () => {
    for (const line of await answers.shift()!) {
      output += `${line}\n`;
      if (isErrorLine(line)) sawError = true;
    }
    if (output.length >= FLUSH_OUTPUT_CHARS) {
      await io.stdout(output);
      output = "";
    }
  };
  try {
    for await (const line of byteLines(io.stdin)) {
      const quit = isQuit(line);
      const answer = client.request(line);
      answer.catch(() => {}); // Awaited in order below; this only keeps an early failure from being "unhandled".
      answers.push(answer);
      if (quit) break; // The server closes after QUIT: nothing more is read.
      if (answers.length >= MAX_IN_FLIGHT) await printOldest();
    }
    while (answers.length > 0) await printOldest();
  } finally {
    await io.stdout(output);
  }
  return sawError ? CLIENT_EXIT.errorAnswer : CLIENT_EXIT.ok;
}

const QUIT_REGEXP = /^[ \t]*quit[ \t]*\r?$/i;

function isQuit(line: Uint8Array): boolean {
  return line.length <= 16 && QUIT_REGEXP.test(String.fromCharCode(...line));
}

/** Splits a byte stream on `\n`, keeping each line's bytes as they are. */
async function* byteLines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  let rest = new Uint8Array(0);
  for await (const chunk of stream) {
    const data = rest.length > 0 ? concat([rest, chunk]) : chunk;
    let start = 0;
    while (true) {
      const nl = data.indexOf(0x0a, start);
      if (nl === -1) break;
      yield data.subarray(start, nl);
      start = nl + 1;
    }
    rest = data.slice(start);
  }
  if (rest.length > 0) yield rest;
}

const REPL_HELP = `Type a request and press Enter; the server's answer is printed below it.
  ${USAGE.put.padEnd(18)} store a value (it may hold commas)
  ${USAGE.get.padEnd(18)} read a value
  ${USAGE.delete.padEnd(18)} remove a key
  ${USAGE.list.padEnd(18)} every key and value
  ${USAGE.ping.padEnd(18)} check the server answers
  ${"quit".padEnd(18)} say goodbye and leave (also: exit, Ctrl-D)
Command words are case-insensitive; spaces around commas are ignored.
`;

/** The interactive prompt, for a person at a terminal. */
async function runRepl(client: KvClient, io: ClientIo): Promise<number> {
  const prompt = `kv ${client.address}> `;
  await io.stdout(
    `Connected to kv at ${client.address}. Type "help" for the commands.\n${prompt}`,
  );
  // @std/streams comes untyped from the npm mirror; this is its real type.
  const lines: ReadableStream<string> = io.stdin
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new TextLineStream());
  for await (const line of lines) {
    const word = line.trim().toLowerCase();
    if (word === "help" || word === "?") {
      await io.stdout(REPL_HELP + prompt);
      continue;
    }
    if (word === "exit") return CLIENT_EXIT.ok;
    const answer = await client.request(line);
    await io.stdout(
      answer.map((text) => `${text}\n`).join("") +
        (word === "quit" ? "" : prompt),
    );
    if (word === "quit") return CLIENT_EXIT.ok;
  }
  await io.stdout("\n");
  return CLIENT_EXIT.ok;
}

function isErrorLine(line: string): boolean {
  return line.startsWith(ERROR_PREFIX);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
