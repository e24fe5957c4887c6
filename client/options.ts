/**
 * {@linkcode ClientOptions}: how a {@linkcode KvClient} connects, reads its
 * answers (including from servers that do not end them with `\n`), and
 * reaches a server with TLS or a password.
 *
 * @module
 */

import type { ClientTls } from "../net/connect.ts";
import type { Tracer } from "../net/trace.ts";

/** Options of `KvClient.connect()`. */
export interface ClientOptions {
  /** The server's address. @default {"127.0.0.1"} */
  hostname?: string;
  /** The server's port. @default {12000} */
  port?: number;
  /** Give up connecting (the TCP connect, the TLS handshake, AUTH) after this long. @default {5000} */
  connectTimeoutMs?: number;
  /**
   * For a server that does not end its answers as the protocol says (a
   * textbook server answers `Success!` with no `\n`): an answer that has
   * stopped growing for this long is taken as complete. 0 waits for the
   * `\n` (and LIST's empty line): a close before it is a `KvConnectionError`,
   * never an answer cut short.
   * @default {0}
   */
  answerPauseMs?: number;
  /**
   * Called when `answerPauseMs` (or the server's close) took an answer:
   * which end was missing, how many requests still wait for their
   * answers once it is taken (more than none, when requests were sent
   * together, is how a server that takes several as one shows), and what
   * ended it: the pause waited out, the server's close, or the server's
   * close once this client had said it sends no more (`closeWrite()`: a
   * textbook server closes when `recv()` returns `b""`, and all that came
   * by then, answers run together without `\n` included, is one answer).
   */
  onIrregularAnswer?: (
    missing: IrregularAnswer,
    waiting: number,
    endedBy: AnswerEnd,
  ) => void;
  /**
   * Called, at the first request, with the lines the server sent before it
   * was made (a greeting, `Welcome!`), none of them an `Error:` line: they
   * then answer no request. Unset, they answer the first requests, as any
   * line that comes with no request waiting does (a refusal, `Error: too
   * many connections`, sent before the server closes, still does). A
   * greeting that comes once a request is on its way cannot be told from
   * its answer: see `greetingWaitMs`.
   */
  onGreeting?: (lines: readonly string[]) => void;
  /**
   * How long `connect()` waits for the server's first bytes before it
   * returns (and before AUTH): a greeting sent as a client connects is
   * then read before any request is made. A server that speaks only to
   * answer, as the protocol's do, costs the whole wait.
   * @default {0}
   */
  greetingWaitMs?: number;
  /**
   * Fail with `KvTimeoutError` (and close) when a request has waited this
   * long with neither a whole line of its answer nor 64 KiB of one arriving
   * (bytes that trickle in without a `\n` do not keep it waiting). 0 waits
   * forever. Later calls then fail at once, saying the connection closed.
   * @default {10000}
   */
  answerTimeoutMs?: number;
  /**
   * The textbook client's way, for a server that reads one request per
   * `recv()`: each request is sent without `\n`, alone, and the next only
   * once it is answered.
   * @default {false}
   */
  unframed?: boolean;
  /**
   * The most lines of one LIST answer that `list()` and `request()` hold
   * whole: past it (or past `maxListBytes`) the request fails with
   * `KvConnectionError` and the connection closes, rather than fill the
   * memory (a server that sends `x, y\n` without end). The default is ten
   * times a million-pair store; `requestEach()` takes a LIST of any size,
   * a few lines at a time, and is the way for a bigger one.
   * @default {10000000}
   */
  maxListLines?: number;
  /**
   * The most bytes of one LIST answer (each line's with its `\n`) that
   * `list()` and `request()` hold whole, as `maxListLines`.
   * @default {1073741824}
   */
  maxListBytes?: number;
  /** Speak TLS (PROTOCOL.md, TLS), trusting these CA certificates besides the system's. */
  tls?: ClientTls;
  /** Send `AUTH, password` first (a server started with a password). */
  password?: string;
  /** Receives the socket's events: connect, send, recv, half-close, close, and the pause that takes an answer (`kv client --trace`). @default {undefined} */
  trace?: Tracer;
}

/** What took an answer that lacked its end: the pause, the server's close, or its close after our `closeWrite()`. */
export type AnswerEnd = "pause" | "close" | "close-after-end";

/** What `answerPauseMs` found missing: the `\n` of a line, or the empty line of a LIST. */
export type IrregularAnswer = "newline" | "list-end";

/** Defaults of {@linkcode ClientOptions}. */
export const CLIENT_DEFAULTS = {
  hostname: "127.0.0.1",
  port: 12000,
  connectTimeoutMs: 5_000,
  answerPauseMs: 0,
  answerTimeoutMs: 10_000,
  unframed: false,
  maxListLines: 10_000_000,
  maxListBytes: 1024 * 1024 * 1024,
} as const;

/**
 * Throws `RangeError`, naming the option, for a number of `options` that is
 * not an integer from its least value: a negative or NaN timeout was taken
 * as is (an `answerTimeoutMs` of -5 waited forever, a `connectTimeoutMs` of
 * NaN printed Node's `TimeoutNaNWarning` and gave up after 1 ms).
 */
export function checkNumbers(
  options: Record<string, unknown>,
  least: Record<string, number>,
): void {
  for (const [name, min] of Object.entries(least)) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
      throw new RangeError(`Cannot use ${name} ${value}: expected an integer from ${min}`);
    }
  }
}
