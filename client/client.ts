/**
 * {@linkcode KvClient}: a typed client for Deno programs. Requests are
 * encoded from the command table, pipelined, and each answer goes back to
 * its request in order.
 *
 * @module
 */

import { formatAddr } from "../net/addr.ts";
import { concat } from "../net/bytes.ts";
import { connectTcp } from "../net/connect.ts";
import { closeQuietly, MAX_TIMER_MS, nextTurn, writeAll } from "../net/conn.ts";
import {
  answerShape,
  encodeRequest,
  lineBytes,
  lineText,
  parseListLine,
} from "../wire/line/encode.ts";
import { LineSplitter } from "../wire/line/lines.ts";
import { NOT_EXIST, PONG, SUCCESS } from "../wire/line/reply.ts";
import { AnswerQueue, type AnswerShape, isErrorAnswer } from "./answers.ts";
import {
  closedByServer,
  describeConnectError,
  expectLine,
  KvAnswerError,
  KvConnectionError,
  KvServerError,
  KvTimeoutError,
  notUtf8Answer,
  throwIfError,
  timedOut,
} from "./errors.ts";
import { CLIENT_DEFAULTS, type ClientOptions, type IrregularAnswer } from "./options.ts";
import { maskSecret, traceConn } from "./trace.ts";

export { CLIENT_DEFAULTS, type ClientOptions, type IrregularAnswer, isErrorAnswer };
// The errors KvClient throws, for `kv/client`'s importers to tell apart.
export { KvAnswerError, KvConnectionError, KvServerError, KvTimeoutError } from "./errors.ts";
export type { ServerClose } from "./errors.ts";
// The types ClientOptions names, for `kv/client`'s importers.
export type { ClientTls } from "../net/connect.ts";
export type { TraceEvent, Tracer } from "../net/trace.ts";

const encoder = new TextEncoder();
// ignoreBOM: a U+FEFF at the start of a key, value or line is data, not a byte-order mark.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const READ_BUFFER_BYTES = 64 * 1024;
// Answers are not limited by the protocol; a LIST line may be as long as a
// key plus a value. The reader still needs a bound: this one is generous.
const MAX_ANSWER_LINE_BYTES = 256 * 1024 * 1024;
const LF = 0x0a;
// An answer that grew by this much counts as progress for the answer timeout, as a whole line does.
const PROGRESS_BYTES = 64 * 1024;
// ... but only for this many timeouts after the last whole line: a server
// that floods bytes without end and never a \n (a loop that goes on once
// recv() returns b"") still times out, however fast it sends.
const MAX_PROGRESS_TIMEOUTS = 10;
// After a write failed: how long the read loop may take to read what the server sent before closing.
const WRITE_FAILED_READ_MS = 200;

/**
 * A connection to a kv server. Calls may overlap: requests are pipelined
 * (written as soon as they are made, coalesced into one write per tick) and
 * each answer goes to its request in order.
 *
 * @example
 * ```ts
 * import { KvClient, serve } from "kv";
 * await using server = serve({ port: 0 }); // or a `kv serve` already running: { port: 12000 }
 * await using kv = await KvClient.connect({ port: server.addr.port });
 * await kv.put("name", "yyjun");
 * console.log(await kv.get("name")); // "yyjun"
 * ```
 */
export class KvClient implements AsyncDisposable {
  /** The server's address as `host:port`. */
  readonly address: string;
  readonly #conn: Deno.Conn;
  readonly #answers = new AnswerQueue();
  readonly #reading: Promise<void>;
  readonly #lines = new LineSplitter(MAX_ANSWER_LINE_BYTES);
  readonly #options: ClientOptions;
  #outgoing: Uint8Array[] = [];
  #writing: Promise<void> = Promise.resolve();
  // Unframed: the answer the next request waits for before it is written.
  #lastAnswer: Promise<unknown> = Promise.resolve();
  #pauseTimer: ReturnType<typeof setTimeout> | undefined;
  #timeoutTimer: ReturnType<typeof setTimeout> | undefined;
  // Answer lines read so far, and when the last byte came.
  #linesTaken = 0;
  // Since the answer timeout was last armed: bytes and reads.
  #bytesSinceArm = 0;
  #readsSinceArm = 0;
  // When the timeout was last armed for a request sent or a whole line.
  #armedAt = 0;
  // What was missing from an answer the pause or the end took, if one was
  // (the \n outranks a LIST's empty line): a textbook server.
  #irregular: IrregularAnswer | undefined;
  #lastByteAt = 0;
  #failure: KvConnectionError | undefined;
  #closed = false;
  #writeClosed = false;

  private constructor(conn: Deno.Conn, address: string, options: ClientOptions) {
    this.#conn = conn;
    this.address = address;
    this.#options = options;
    this.#reading = this.#readLoop();
  }

  /**
   * Connects to a server (and with `password`, authenticates). Throws
   * `KvConnectionError` if it cannot, `KvServerError` if the server refuses
   * the password.
   */
  static async connect(options?: ClientOptions): Promise<KvClient> {
    options ??= {};
    const hostname = options.hostname ?? CLIENT_DEFAULTS.hostname;
    const port = options.port ?? CLIENT_DEFAULTS.port;
    const address = formatAddr({ hostname, port });
    const startedAt = performance.now();
    try {
      const conn = await connectTcp(hostname, port, {
        timeoutMs: options.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs,
        tls: options.tls,
      });
      if (options.trace !== undefined) traceConn(conn, options.trace, startedAt, options.password);
      const client = new KvClient(conn, address, options);
      if (options.password !== undefined) {
        // One budget for connecting: what the TCP connect and the TLS handshake left.
        const budget = options.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs;
        await client.#authenticate(
          options.password,
          Math.max(0, budget - (performance.now() - startedAt)),
        );
      }
      return client;
    } catch (error) {
      if (error instanceof KvServerError) throw error;
      const reason = describeConnectError(error);
      throw new KvConnectionError(`cannot connect to ${address}: ${reason}`, { cause: error });
    }
  }

  /**
   * Sends AUTH; a wrong password closes this client and throws
   * `KvServerError`. Its answer counts as part of connecting: none within
   * `timeoutMs` closes the client (`Deno.errors.TimedOut`).
   */
  async #authenticate(password: string, timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Deno.errors.TimedOut("no answer to AUTH in time")),
        Math.min(timeoutMs, MAX_TIMER_MS),
      );
    });
    try {
      expectLine(await Promise.race([this.#call("AUTH", password), late]), SUCCESS);
    } catch (error) {
      await this.close();
      // A server that is not kv may echo the request: the password is never
      // shown, as it is or as JSON quotes it.
      if (error instanceof Error) error.message = maskSecret(error.message, password);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stores `value` under `key`. Throws `RangeError` for a key or value the
   * protocol cannot carry (README, "Where the contract leaves room").
   */
  async put(key: string, value: string): Promise<void> {
    expectLine(await this.#call("PUT", key, value), SUCCESS);
  }

  /**
   * The value of `key`, or `undefined` if it is missing. (A stored value of
   * `Not exist!` reads as missing, and one that starts with `Error: ` as a
   * `KvServerError`: the protocol cannot tell them apart.)
   */
  async get(key: string): Promise<string | undefined> {
    const answer = await this.#call("GET", key);
    return answer === NOT_EXIST ? undefined : answer;
  }

  /** Removes `key`. Returns whether it was there. */
  async delete(key: string): Promise<boolean> {
    const answer = await this.#call("DELETE", key);
    if (answer === NOT_EXIST) return false;
    expectLine(answer, SUCCESS);
    return true;
  }

  /** Every pair the server holds. */
  async list(): Promise<Map<string, string>> {
    const lines = await this.request("LIST");
    if (isErrorAnswer(lines)) throwIfError(lines[0]!);
    if (lines.length === 1 && lines[0] === NOT_EXIST) return new Map();
    return new Map(lines.map(parseListLine));
  }

  /** Checks that the server answers. */
  async ping(): Promise<void> {
    expectLine(await this.#call("PING"), PONG);
  }

  /**
   * Sends one raw request line and returns the answer's lines, as the server
   * sent them (`Error:` lines included; LIST's closing empty line left out).
   * {@linkcode isErrorAnswer} tells whether they are an error: a LIST's
   * first key may start with `Error: ` too.
   * A blank line gets no answer: `[]`. A line holding `\n` is two requests
   * but would be matched to one answer, so it is rejected with `RangeError`.
   * An answer with a line that is not UTF-8 is rejected with
   * `KvAnswerError`; the connection stands.
   */
  request(line: string | Uint8Array): Promise<string[]> {
    if (typeof line === "string" ? line.includes("\n") : line.includes(0x0a)) {
      return Promise.reject(new RangeError("Cannot send a request line that holds a newline"));
    }
    const text = lineText(line);
    // Bytes that are not UTF-8 get one error line back.
    const shape = text === undefined ? "line" : answerShape(text.replace(/\r$/, ""));
    if (shape === "none") return Promise.resolve([]);
    return this.#send(lineBytes(line), shape);
  }

  /**
   * Sends no more requests: once those made so far are written, half-closes
   * the connection (our FIN). The server answers what it has, then closes;
   * requests still waiting get their answers. Later requests fail.
   */
  async closeWrite(): Promise<void> {
    this.#writeClosed = true;
    await this.#writing;
    if (this.#failure !== undefined || this.#closed) return;
    try {
      await this.#conn.closeWrite();
    } catch {
      // The connection is gone already: the read loop fails what still waits.
    }
  }

  /**
   * After {@linkcode KvClient.closeWrite} and every answer: waits up to
   * `ms` for the server to close its side, and returns the answer lines
   * that came with no request (a server that answered more often than it
   * was asked, as one that reads a long request in pieces does).
   */
  async finish(ms: number): Promise<readonly string[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#reading,
      new Promise<void>((resolve) => timer = setTimeout(resolve, Math.min(ms, MAX_TIMER_MS))),
    ]);
    clearTimeout(timer);
    return [...this.#answers.early];
  }

  /**
   * Whether the connection still stands as far as the client has seen: no
   * close of the server's has been read yet, it was not lost, and
   * {@linkcode KvClient.close} was not called. After
   * {@linkcode KvClient.finish}, a server that is still open and still
   * sending tells of a loop that does not stop at the end of the requests.
   */
  get open(): boolean {
    return !this.#closed && this.#failure === undefined;
  }

  /**
   * Settles once the connection is over (the server closed it, it was lost,
   * or {@linkcode KvClient.close} closed it) with the error later calls
   * fail with. Never rejects.
   */
  get ended(): Promise<KvConnectionError | undefined> {
    return this.#reading.then(() => this.#failure);
  }

  /** Closes the connection. Requests still waiting fail. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#answers.dropEarly(); // Closed by us: nothing more is answered.
      this.#stopTimers();
      closeQuietly(this.#conn);
    }
    await this.#reading;
    await this.#writing;
  }

  /** Closes the connection, as {@linkcode KvClient.close} does. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #call(name: string, ...args: string[]): Promise<string> {
    const [answer = ""] = await this.#send(encoder.encode(encodeRequest(name, ...args)), "line");
    throwIfError(answer);
    return answer;
  }

  #send(bytes: Uint8Array, shape: AnswerShape): Promise<string[]> {
    const failure = this.#failure;
    // A timeout closed the connection: a later call did not wait, so it says that.
    const ended = (failure instanceof KvTimeoutError
      ? new KvConnectionError(
        `connection to ${this.address} is closed: an earlier request timed out (${failure.message})`,
        { cause: failure },
      )
      : failure) ??
      (this.#closed
        ? new KvConnectionError(`connection to ${this.address} is closed`)
        : this.#writeClosed
        ? new KvConnectionError(`connection to ${this.address} is closed for sending`)
        : undefined);
    // Lines the server sent just before closing (`Error: too many
    // connections`) still answer the next request after the close is read.
    if (ended && !this.#answers.hasEarly) return Promise.reject(ended);
    const promise = this.#answers.add(shape, ended);
    if (!ended && this.#options.unframed) {
      // Alone and without its \n, once the request before it is answered.
      const before = this.#lastAnswer;
      this.#lastAnswer = promise.catch(() => {});
      const alone = bytes.at(-1) === LF ? bytes.subarray(0, -1) : bytes;
      this.#writing = this.#writing.then(() => before).then(() => {
        this.#outgoing.push(alone);
        this.#armTimeout();
        return this.#writeOutgoing();
      });
    } else if (!ended) {
      this.#outgoing.push(bytes);
      if (this.#answers.waiting === 1) this.#armTimeout();
      // Requests made in the same tick go out in one write.
      if (this.#outgoing.length === 1) {
        this.#writing = this.#writing.then(() => this.#writeOutgoing());
      }
    }
    return promise;
  }

  async #writeOutgoing(): Promise<void> {
    const chunks = this.#outgoing;
    this.#outgoing = [];
    if (this.#failure || this.#closed) return;
    try {
      await writeAll(this.#conn, chunks.length === 1 ? chunks[0]! : concat(chunks));
    } catch (error) {
      // A server that refused us wrote why before it closed (`Error: too
      // many connections`): read that first, so it answers the first request
      // and the close is told as the read loop finds it.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#reading,
        new Promise((resolve) => timer = setTimeout(resolve, WRITE_FAILED_READ_MS)),
      ]);
      clearTimeout(timer);
      this.#fail(
        new KvConnectionError(
          `lost connection to ${this.address}: ${describeConnectError(error)}`,
          { cause: error },
        ),
      );
    }
  }

  /** Hands every complete answer line to its request; false if the connection failed. */
  #takeLines(): boolean {
    const lines = this.#lines;
    for (let kind = lines.next(); kind !== null; kind = lines.next()) {
      if (kind === "too-long") {
        this.#fail(
          new KvConnectionError(
            `${this.address} sent an answer line past 256 MiB with no \\n: ` +
              'a server that sends without end (does its loop stop when recv() returns b""?)',
          ),
        );
        return false;
      }
      const bytes = lines.bytes.subarray(lines.start, lines.end);
      // A line that is not UTF-8 still ended where a line ends: only its
      // request fails (a prompt goes on). One no request waits for fails the connection.
      const unreadable = kind === "invalid-utf8"
        ? new KvAnswerError(notUtf8Answer(this.address, bytes), bytes.slice())
        : undefined;
      if (!this.#answers.take(decoder.decode(bytes), unreadable)) {
        this.#fail(new KvConnectionError(unreadable!.message));
        return false;
      }
      this.#linesTaken++;
    }
    return true;
  }

  async #readLoop(): Promise<void> {
    const lines = this.#lines;
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    let received = false;
    try {
      while (true) {
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        received = true;
        lines.feed(buffer.subarray(0, n));
        this.#lastByteAt = performance.now();
        this.#bytesSinceArm += n;
        this.#readsSinceArm++;
        const taken = this.#linesTaken;
        if (!this.#takeLines()) return;
        // Progress is a whole line, or 64 KiB of one (a big value on a slow
        // link) for a while: a server that trickles or floods bytes without
        // end and never a \n (a loop that goes on once recv() returns b"")
        // still times out.
        if (this.#linesTaken !== taken) {
          this.#armTimeout();
        } else if (this.#bytesSinceArm >= PROGRESS_BYTES) {
          this.#armTimeout(true);
        }
        this.#armPause();
      }
      // The end of the stream ends an answer that had no \n yet: say so, as
      // the pause does (answers glued together, "Success!Not exist!", are
      // how a server that reads one request per recv() shows).
      const unterminated = lines.pendingBytes > 0;
      // Without a pause (answers end with \n, as the protocol says), a line
      // the close cut off is no answer to a request waiting for one: a value
      // cut short must not pass as whole. (Bytes nobody waits for are still
      // taken, to be said, not dropped.)
      const cut = unterminated && (this.#options.answerPauseMs ?? 0) === 0 &&
          this.#answers.first !== undefined
        ? lines.pendingLine.slice()
        : undefined;
      let missing: IrregularAnswer | undefined;
      if (cut === undefined) {
        lines.endLine();
        this.#takeLines();
        if (unterminated) missing = "newline";
      }
      // The end of the stream ends a LIST still open, as the pause would
      // have (a textbook server closes once the client half-closes).
      const open = this.#answers.first;
      if ((this.#options.answerPauseMs ?? 0) > 0 && open !== undefined && open.lines.length > 0) {
        this.#answers.endList();
        missing ??= "list-end";
      }
      // Told once the answer is taken whole: the requests still waiting are those after it.
      if (missing !== undefined) this.#irregularAnswer(missing);
      this.#fail(closedByServer(this.address, {
        waiting: open === undefined ? 0 : this.#answers.waiting,
        received,
        tls: this.#options.tls !== undefined,
        irregular: this.#writeClosed ? this.#irregular : undefined,
        answered: this.#answers.answered,
        lastWasError: this.#answers.lastWasError,
        sinceLastByteMs: performance.now() - this.#lastByteAt,
        cut,
      }));
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

  /**
   * While a request waits: a new timeout from now (it was sent, or its
   * answer progressed). Progress by bytes alone (`partLine`) counts for
   * {@linkcode MAX_PROGRESS_TIMEOUTS} timeouts after the last whole line.
   */
  #armTimeout(partLine = false): void {
    const ms = this.#options.answerTimeoutMs ?? CLIENT_DEFAULTS.answerTimeoutMs;
    const now = performance.now();
    if (!partLine) this.#armedAt = now;
    else if (now - this.#armedAt >= MAX_PROGRESS_TIMEOUTS * ms) return;
    clearTimeout(this.#timeoutTimer);
    this.#timeoutTimer = undefined;
    this.#bytesSinceArm = 0;
    this.#readsSinceArm = 0;
    if (ms <= 0 || this.#answers.waiting === 0 || this.#closed) return;
    // A timer that came due while the process was not running fires before
    // the bytes that arrived meanwhile are read: it decides after one look at
    // the I/O, unless that look re-armed or stopped it.
    const timer = setTimeout(() =>
      nextTurn().then(() => {
        if (this.#timeoutTimer !== timer) return;
        this.#timedOut(ms);
      }), Math.min(ms, MAX_TIMER_MS));
    this.#timeoutTimer = timer;
  }

  /** No answer came within `ms`: the request fails, and the connection with it. */
  #timedOut(ms: number): void {
    const pending = this.#answers.first;
    if (pending === undefined) return;
    // Read before the copy below, which takes a while for a flood's megabytes.
    const seen = {
      reads: this.#readsSinceArm,
      sinceLastByteMs: performance.now() - this.#lastByteAt,
      waitedMs: performance.now() - this.#armedAt,
    };
    const received = concat([
      ...pending.lines.map((line) => encoder.encode(`${line}\n`)),
      this.#lines.pendingLine,
    ]);
    this.#fail(timedOut(this.address, ms, received, seen));
  }

  /** Part of an answer came: it is taken whole if nothing more comes for the pause. */
  #armPause(): void {
    const ms = this.#options.answerPauseMs ?? 0;
    clearTimeout(this.#pauseTimer);
    this.#pauseTimer = undefined;
    const pending = this.#answers.first;
    if (ms <= 0 || pending === undefined) return;
    if (this.#lines.pendingBytes === 0 && pending.lines.length === 0) return;
    // As the timeout's: a stall of our own is not the server's pause.
    const timer = setTimeout(() =>
      nextTurn().then(() => {
        if (this.#pauseTimer === timer) this.#paused(pending);
      }), Math.min(ms, MAX_TIMER_MS));
    this.#pauseTimer = timer;
  }

  /** Nothing more came for the pause: what came of `pending` is taken as its answer. */
  #paused(pending: NonNullable<AnswerQueue["first"]>): void {
    this.#pauseTimer = undefined;
    let missing: IrregularAnswer | undefined;
    if (this.#lines.pendingBytes > 0) {
      missing = "newline";
      this.#lines.endLine();
      if (!this.#takeLines()) return;
    }
    if (this.#answers.first === pending && pending.lines.length > 0) {
      missing ??= "list-end";
      this.#answers.endList();
    }
    this.#armTimeout();
    if (missing !== undefined) this.#irregularAnswer(missing);
  }

  /** An answer was taken without its end: noted, and told. */
  #irregularAnswer(missing: IrregularAnswer): void {
    if (this.#irregular !== "newline") this.#irregular = missing;
    this.#options.onIrregularAnswer?.(missing, this.#answers.waiting);
  }

  #stopTimers(): void {
    clearTimeout(this.#pauseTimer);
    clearTimeout(this.#timeoutTimer);
    this.#pauseTimer = this.#timeoutTimer = undefined;
  }

  #fail(error: KvConnectionError): void {
    this.#stopTimers();
    this.#failure ??= error;
    this.#answers.rejectAll(this.#failure);
    closeQuietly(this.#conn);
    this.#closed = true;
  }
}
