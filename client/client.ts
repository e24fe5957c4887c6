/**
 * {@linkcode KvClient}: a typed client for Deno programs. Requests are
 * encoded from the command table, pipelined, and each answer goes back to
 * its request in order (the connection under it, with its reads, writes and
 * timers: pipeline.ts).
 *
 * @module
 */

import { formatAddr } from "../net/addr.ts";
import { connectTcp } from "../net/connect.ts";
import { setRunningTimeout } from "../net/conn.ts";
import {
  answerShape,
  encodeRequest,
  lineBytes,
  lineText,
  parseListLine,
} from "../wire/line/encode.ts";
import { NOT_EXIST, PONG, SUCCESS } from "../wire/line/reply.ts";
import { isErrorAnswer } from "./answers.ts";
import {
  describeConnectError,
  expectLine,
  KvConnectionError,
  KvServerError,
  throwIfError,
} from "./errors.ts";
import {
  type AnswerEnd,
  checkNumbers,
  CLIENT_DEFAULTS,
  type ClientOptions,
  type IrregularAnswer,
} from "./options.ts";
import { Pipeline } from "./pipeline.ts";
import { type ClientTraceEmit, maskSecret, traceConn, traceConnectFailure } from "./trace.ts";

export { type AnswerEnd, CLIENT_DEFAULTS, type ClientOptions, type IrregularAnswer, isErrorAnswer };
// The errors KvClient throws, for `kv/client`'s importers to tell apart.
export { KvAnswerError, KvConnectionError, KvServerError, KvTimeoutError } from "./errors.ts";
export type { ServerClose } from "./errors.ts";
// The types ClientOptions names, for `kv/client`'s importers.
export type { ClientTls } from "../net/connect.ts";
export type { TraceEvent, Tracer } from "../net/trace.ts";

const encoder = new TextEncoder();

/**
 * A connection to a kv server. Calls may overlap: requests are pipelined
 * (written as soon as they are made, coalesced into one write per tick) and
 * each answer goes to its request in order. It does not reconnect: once the
 * connection is over ({@linkcode KvClient.ended}), every call fails with
 * `KvConnectionError`; connect a new client (to a restarted server, say).
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
  readonly #pipeline: Pipeline;

  private constructor(
    conn: Deno.Conn,
    address: string,
    options: ClientOptions,
    traced?: ClientTraceEmit,
  ) {
    this.address = address;
    this.#pipeline = new Pipeline(conn, address, options, traced);
  }

  /**
   * Connects to a server (and with `password`, authenticates). Throws
   * `KvConnectionError` if it cannot, `KvServerError` if the server refuses
   * the password, and `RangeError` (before connecting) for a timeout that is
   * not a whole number of milliseconds (`connectTimeoutMs` from 1, the
   * others from 0), or a `maxListLines` or `maxListBytes` that is not a
   * whole number from 1.
   */
  static async connect(options?: ClientOptions): Promise<KvClient> {
    options ??= {};
    checkNumbers({ ...options }, {
      connectTimeoutMs: 1,
      answerTimeoutMs: 0,
      answerPauseMs: 0,
      greetingWaitMs: 0,
      maxListLines: 1,
      maxListBytes: 1,
    });
    const hostname = options.hostname ?? CLIENT_DEFAULTS.hostname;
    const port = options.port ?? CLIENT_DEFAULTS.port;
    const address = formatAddr({ hostname, port });
    const startedAt = performance.now();
    const timeoutMs = options.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs;
    let conn: Deno.Conn | undefined;
    try {
      conn = await connectTcp(hostname, port, { timeoutMs, tls: options.tls });
      const traced = options.trace === undefined
        ? undefined
        : traceConn(conn, options.trace, startedAt, options.password);
      const client = new KvClient(conn, address, options, traced);
      if (options.greetingWaitMs) await client.#pipeline.firstBytes(options.greetingWaitMs);
      if (options.password !== undefined) {
        // One budget for connecting: what the TCP connect and the TLS handshake left.
        await client.#authenticate(
          options.password,
          Math.max(0, timeoutMs - (performance.now() - startedAt)),
        );
      }
      return client;
    } catch (error) {
      if (error instanceof KvServerError) throw error;
      // No socket, so no `connect` line: the trace says why.
      if (conn === undefined && options.trace !== undefined) {
        traceConnectFailure(options.trace, startedAt, address, error, timeoutMs);
      }
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
    let cancel: (() => void) | undefined;
    // As the answer timeout's (pipeline.ts): a timer that came due while
    // this process was not running fires before the answer that arrived
    // meanwhile is read, so a stall of ours is not taken for the server's.
    const late = new Promise<never>((_, reject) => {
      cancel = setRunningTimeout(
        () => reject(new Deno.errors.TimedOut("no answer to AUTH in time")),
        timeoutMs,
        { look: true },
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
      cancel?.();
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

  /**
   * Every pair the server holds, gathered whole: a LIST past
   * `maxListLines` (10,000,000 by default) or `maxListBytes` (1 GiB) fails
   * with `KvConnectionError` and closes the connection, so that a server
   * that sends without end cannot fill the memory.
   * {@linkcode KvClient.requestEach} takes a LIST of any size, a few lines
   * at a time.
   */
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
   * A LIST is held whole, up to `maxListLines` and `maxListBytes`, as
   * {@linkcode KvClient.list} holds it.
   * A blank line gets no answer: `[]`. A line holding `\n` is two requests
   * but would be matched to one answer, so it is rejected with `RangeError`.
   * An answer with a line that is not UTF-8 is rejected with
   * `KvAnswerError`; the connection stands.
   */
  request(line: string | Uint8Array): Promise<string[]> {
    return this.requestEach(line);
  }

  /**
   * Sends one raw request line as {@linkcode KvClient.request} does, but
   * hands a LIST's lines to `onLines` as they are read (a few at a time,
   * in order), so that an answer of a million pairs need not be held
   * whole. The next read waits for a promise `onLines` returns: a slow
   * consumer slows the server, and the answer timeout does not run
   * meanwhile. Settles with the lines not handed over: an error answer's
   * one line ({@linkcode isErrorAnswer} tells it), a one-line answer, or
   * the last lines of a LIST. Fails as `request` does; lines handed over
   * before the failure stay handed over (a line that is not UTF-8 and
   * those after it are not: the request fails with `KvAnswerError` once
   * the answer ends). Without `onLines`, it is `request`. `onLines` must
   * not wait for this client (a request on it, or its close): the client
   * reads nothing more until `onLines` is done.
   *
   * @example
   * ```ts
   * import { KvClient, serve } from "kv";
   * await using server = serve({ port: 0 });
   * await using kv = await KvClient.connect({ port: server.addr.port });
   * await kv.put("a", "1");
   * const print = (lines: string[]) => console.log(lines.join("\n"));
   * const rest = await kv.requestEach("LIST", print);
   * if (rest.length > 0) print(rest);
   * ```
   */
  requestEach(
    line: string | Uint8Array,
    onLines?: (lines: string[]) => void | Promise<void>,
  ): Promise<string[]> {
    if (typeof line === "string" ? line.includes("\n") : line.includes(0x0a)) {
      return Promise.reject(new RangeError("Cannot send a request line that holds a newline"));
    }
    const text = lineText(line);
    // Bytes that are not UTF-8 get one error line back.
    const shape = text === undefined ? "line" : answerShape(text.replace(/\r$/, ""));
    if (shape === "none") return Promise.resolve([]);
    return this.#pipeline.send(lineBytes(line), shape, onLines);
  }

  /**
   * Sends no more requests: once those made so far are written, half-closes
   * the connection (our FIN). The server answers what it has, then closes;
   * requests still waiting get their answers. Later requests fail.
   */
  closeWrite(): Promise<void> {
    return this.#pipeline.closeWrite();
  }

  /**
   * After {@linkcode KvClient.closeWrite} and every answer: waits up to
   * `ms` for the server to close its side, and returns the answer lines
   * that came with no request (a server that answered more often than it
   * was asked, as one that reads a long request in pieces does).
   */
  finish(ms: number): Promise<readonly string[]> {
    return this.#pipeline.finish(ms);
  }

  /**
   * Whether the connection still stands as far as the client has seen: no
   * close of the server's has been read yet, it was not lost, and
   * {@linkcode KvClient.close} was not called. After
   * {@linkcode KvClient.finish}, a server that is still open and still
   * sending tells of a loop that does not stop at the end of the requests.
   */
  get open(): boolean {
    return this.#pipeline.open;
  }

  /**
   * Settles once the connection is over (the server closed it, it was lost,
   * or {@linkcode KvClient.close} closed it) with the error later calls
   * fail with. Never rejects.
   */
  get ended(): Promise<KvConnectionError | undefined> {
    return this.#pipeline.ended;
  }

  /** Closes the connection. Requests still waiting fail. */
  close(): Promise<void> {
    return this.#pipeline.close();
  }

  /** Closes the connection, as {@linkcode KvClient.close} does. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #call(name: string, ...args: string[]): Promise<string> {
    const bytes = encoder.encode(encodeRequest(name, ...args));
    const [answer = ""] = await this.#pipeline.send(bytes, "line");
    throwIfError(answer);
    return answer;
  }
}
