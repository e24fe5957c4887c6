/**
 * The errors {@linkcode KvClient} throws, and the words `kv client` and
 * `kv bench` use for a failed connection.
 *
 * @module
 */

import type { IrregularAnswer } from "./options.ts";

/** The server answered a request with an `Error: ` line. */
export class KvServerError extends Error {
  /** `message`: the answer after `Error: `. */
  constructor(message: string) {
    super(message);
    this.name = "KvServerError";
  }
}

/** The connection failed, or closed with requests still unanswered. */
export class KvConnectionError extends Error {
  /**
   * When the server closed the connection: how many answers had come on it.
   * One, with requests still waiting, is how a server that takes one request
   * per connection shows (`kv client` then says so).
   */
  readonly answers: number | undefined;
  /**
   * The server closed with requests unanswered once this client had said it
   * sends no more (`closeWrite()`), and an answer came without its end:
   * `newline`, a server that reads one request per `recv()` took several
   * as one; `list-end`, a LIST without its empty line took the answers
   * after it. `undefined` otherwise.
   */
  readonly afterEnd: IrregularAnswer | undefined;

  /** `message` says what failed; `options.cause` holds the error underneath. */
  constructor(
    message: string,
    options?: ErrorOptions & { answers?: number; afterEnd?: IrregularAnswer },
  ) {
    super(message, options);
    this.name = "KvConnectionError";
    this.answers = options?.answers;
    this.afterEnd = options?.afterEnd;
  }
}

/**
 * No answer came in time (`answerTimeoutMs`): the connection is closed,
 * and `received` holds the bytes that did arrive for the request.
 */
export class KvTimeoutError extends KvConnectionError {
  /** What arrived of the answer before the time ran out. */
  readonly received: Uint8Array;
  /** Whether bytes were still arriving when the time ran out (a server that sends without end). */
  readonly flowing: boolean;

  /** `message` names the server and the time waited. */
  constructor(message: string, received: Uint8Array, flowing = false) {
    super(message);
    this.name = "KvTimeoutError";
    this.received = received;
    this.flowing = flowing;
  }
}

/**
 * No answer came over UDP, after every try (`udpRequest()`): the request
 * or its answer was lost, or nothing listens there.
 */
export class KvNoAnswerError extends KvConnectionError {
  /** How many times the request was sent. */
  readonly tries: number;

  /** `tries`: how many datagrams were sent without an answer. */
  constructor(message: string, tries: number) {
    super(message);
    this.name = "KvNoAnswerError";
    this.tries = tries;
  }
}

/** Why a connection failed, in the words `kv client` and `kv bench` print. */
export function describeConnectError(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionRefused) {
    return "connection refused (is the server running, on that port?)";
  }
  if (error instanceof Deno.errors.ConnectionReset) return "connection reset";
  if (error instanceof Deno.errors.TimedOut) return "timed out";
  if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
    return "permission denied (run with --allow-net)";
  }
  return error instanceof Error ? error.message : String(error);
}
