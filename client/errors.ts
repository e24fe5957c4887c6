/**
 * The errors {@linkcode KvClient} throws, and the words `kv client`,
 * `kv bench` and `kv check` use for a failed connection.
 *
 * @module
 */

import { isOutOfDescriptors } from "../net/conn.ts";
import { show, showAsBytes } from "../net/show.ts";
import { permissionDenied } from "../net/permission.ts";
import {
  type AnswerQueue,
  type ListLimit,
  MAX_EARLY_BYTES,
  MAX_EARLY_LINES,
  type Refusal,
} from "./answers.ts";
import { ERROR_PREFIX, quote } from "../wire/line/reply.ts";
import { readAsCp949 } from "../wire/utf8.ts";
import type { IrregularAnswer } from "./options.ts";

/** The server answered a request with an `Error: ` line. */
export class KvServerError extends Error {
  /** `message`: the answer after `Error: `. */
  constructor(message: string) {
    super(message);
    this.name = "KvServerError";
  }
}

/** How the server closed a connection: what a message of one's own needs (`kv client --lang ko`). */
export interface ServerClose {
  /** Requests still waiting for their answers (0: it closed an idle connection). */
  readonly unanswered: number;
  /** Whether no byte had come on the connection (a TLS server's way with a plaintext client). */
  readonly silent: boolean;
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
  /**
   * The server closed in the middle of an answer line: the bytes of it that
   * came, before any `\n` (with `answerPauseMs` 0, such a line is no
   * answer). `undefined` otherwise.
   */
  readonly cut: Uint8Array | undefined;
  /** The server closed the connection: how. `undefined` when it ended otherwise. */
  readonly serverClose: ServerClose | undefined;
  /**
   * The client stopped reading a server that sent more answer lines that no
   * request asked for than it keeps (1,000, or 256 KiB of them: a server
   * that sends without end): how many it kept, which
   * `KvClient.finish()` returns. `undefined` otherwise.
   */
  readonly unasked: number | undefined;

  /** `message` says what failed; `options.cause` holds the error underneath. */
  constructor(
    message: string,
    options?: ErrorOptions & {
      answers?: number;
      afterEnd?: IrregularAnswer;
      cut?: Uint8Array;
      serverClose?: ServerClose;
      unasked?: number;
    },
  ) {
    super(message, options);
    this.name = "KvConnectionError";
    this.cut = options?.cut;
    this.serverClose = options?.serverClose;
    this.answers = options?.answers;
    this.afterEnd = options?.afterEnd;
    this.unasked = options?.unasked;
  }
}

/**
 * An answer line that is not UTF-8 (a server that encodes with cp949 or
 * latin-1): that request fails, and the connection stands. The line ended
 * with its `\n`, so the answers after it still go to their own requests.
 */
export class KvAnswerError extends Error {
  /** The answer line's bytes, as they came (without the `\n`). */
  readonly bytes: Uint8Array;

  /** `message` shows the bytes and the likely cause (an encoding other than UTF-8). */
  constructor(message: string, bytes: Uint8Array) {
    super(message);
    this.name = "KvAnswerError";
    this.bytes = bytes;
  }
}

/**
 * No answer came in time (`answerTimeoutMs`): the connection is closed,
 * and `received` holds the bytes that did arrive for the request.
 */
export class KvTimeoutError extends KvConnectionError {
  /**
   * What arrived of the answer before the time ran out; of a long answer
   * whose lines were handed on as they came (`KvClient.requestEach`), only
   * its two ends (see `receivedBytes`).
   */
  readonly received: Uint8Array;
  /** How many bytes arrived of the answer: `received.length`, unless it keeps only the ends. */
  readonly receivedBytes: number;
  /** Whether bytes were still arriving when the time ran out (a server that sends without end). */
  readonly flowing: boolean;
  /** The timeout (`answerTimeoutMs`), when known. */
  readonly timeoutMs: number | undefined;
  /**
   * How long it waited since the request was sent or the answer's last whole
   * line came (or since the resume, when a stall of this process restarted
   * the wait), when known: longer than `timeoutMs` when 64 KiB at a time
   * without a `\n` restarted the wait.
   */
  readonly waitedMs: number | undefined;

  /**
   * `message` names the server and the time waited; `waits` says the times
   * in numbers (and how many bytes came, when `received` keeps only their ends).
   */
  constructor(
    message: string,
    received: Uint8Array,
    flowing = false,
    waits?: { timeoutMs: number; waitedMs: number; receivedBytes?: number },
  ) {
    super(message);
    this.name = "KvTimeoutError";
    this.received = received;
    this.receivedBytes = waits?.receivedBytes ?? received.length;
    this.flowing = flowing;
    this.timeoutMs = waits?.timeoutMs;
    this.waitedMs = waits?.waitedMs;
  }
}

/**
 * No answer came over UDP, after every try (`udpRequest()`): the request
 * or its answer was lost, or nothing listens there. On Windows, which
 * reports the ICMP "port unreachable" a send to a closed port brings back,
 * `portUnreachable` says that nothing listens there, without the wait.
 */
export class KvNoAnswerError extends KvConnectionError {
  /** How many times the request was sent. */
  readonly tries: number;
  /** Whether the server's host said that nothing listens on that port (Windows only). */
  readonly portUnreachable: boolean;

  /** `tries`: how many datagrams were sent without an answer. */
  constructor(message: string, tries: number, portUnreachable = false) {
    super(message);
    this.name = "KvNoAnswerError";
    this.tries = tries;
    this.portUnreachable = portUnreachable;
  }
}

/** Why a connection failed, in the words `kv client` and `kv bench` print. */
export function describeConnectError(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionRefused) {
    return "connection refused (is the server running, on that port?)";
  }
  if (error instanceof Deno.errors.ConnectionReset) return "connection reset";
  if (error instanceof Deno.errors.TimedOut) return error.message || "timed out";
  if (error instanceof Deno.errors.NotCapable) {
    return permissionDenied(["--allow-net"], Deno.build.standalone);
  }
  // The operating system said no (a firewall rule, say): no Deno flag helps.
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  const message = error instanceof Error ? error.message : String(error);
  // EMFILE from connect() is this process's limit, not the server's.
  if (isOutOfDescriptors(error)) {
    return `${message}: this process is out of file descriptors, not the server (raise ` +
      "ulimit -n, or open fewer connections)";
  }
  // A self-signed server's certificate: say how to trust it.
  if (/UnknownIssuer/.test(message)) {
    return `${message} (to trust a server's own certificate, give it with --tls-ca FILE, or tls.caCerts)`;
  }
  // A server without TLS answers the handshake's first bytes with a plain
  // `Error:` line, which is no TLS record.
  if (/InvalidContentType/.test(message)) {
    return `${message} (the server does not speak TLS: connect without --tls and --tls-ca, ` +
      "or without the tls option)";
  }
  // The certificate names other hosts: connect by a name it holds, or make it for this one.
  const name = /certificate not valid for name "([^"]*)"/.exec(message)?.[1];
  if (name !== undefined) {
    return `${message} (connect with --host set to a name the certificate holds, or make the ` +
      `server's certificate for "${name}", with -addext subjectAltName as README "Security" shows)`;
  }
  if (/certificate expired|certificate not valid yet/.test(message)) {
    return `${message} (the server's certificate is out of its dates: its owner must renew it, ` +
      "or this machine's clock is wrong)";
  }
  // `openssl req -x509` without the README's -addext makes a CA certificate, which TLS
  // refuses as a server's own.
  if (/CaUsedAsEndEntity/.test(message)) {
    return `${message} (the server's certificate is a CA certificate: make it with ` +
      `-addext basicConstraints=critical,CA:FALSE, as README "Security" shows)`;
  }
  return message;
}

// A close this soon after the first answer is a server that closes after each one.
const CLOSE_AFTER_ANSWER_MS = 250;

/** The error for a connection the server closed, from what the client saw of it. */
export function closedByServer(
  address: string,
  seen: {
    /** Requests still waiting for an answer. */
    waiting: number;
    /** Whether any byte came on the connection. */
    received: boolean;
    /** Whether the client speaks TLS. */
    tls: boolean;
    /** After the client's half-close: what an answer taken without its end lacked. */
    irregular: IrregularAnswer | undefined;
    /** Answers taken so far. */
    answered: number;
    /** Whether the last of them was an error line (a refusal, not an answer). */
    lastWasError?: boolean;
    /** Time since the last byte came. */
    sinceLastByteMs: number;
    /** An answer line the close cut off before its `\n` (not taken as an answer). */
    cut?: Uint8Array;
  },
): KvConnectionError {
  const waiting = seen.waiting > 0;
  const serverClose = { unanswered: seen.waiting, silent: !seen.received };
  if (waiting && seen.cut !== undefined) {
    return new KvConnectionError(
      `connection closed by ${address} in the middle of an answer (${seen.cut.length} bytes of ` +
        `it came, ${quote(new TextDecoder().decode(seen.cut))}, with no \\n)`,
      { cut: seen.cut, answers: seen.answered, serverClose },
    );
  }
  // Closed once we said we send no more, by a server whose answers lacked an
  // end: one that reads a request per recv() took several as one.
  const afterEnd = waiting ? seen.irregular : undefined;
  // A TLS server closes a plaintext client without a byte, once it has sent
  // its first request: say so. (A server that closes an idle connection,
  // stopping, is not that.)
  const hint = !waiting
    ? ""
    : !seen.received
    ? seen.tls
      ? ""
      : " before any answer (if it speaks TLS, connect with TLS: --tls, or the tls option)"
    : afterEnd !== undefined
    ? ` once the requests ended, with ${seen.waiting} unanswered`
    : " with requests still unanswered";
  // The count only with requests waiting, or for a close right after the
  // first answer (a prompt's next request comes later): an idle close, a
  // timeout's, is not that habit.
  const rightAfterFirst = !waiting && seen.answered === 1 &&
    seen.sinceLastByteMs < CLOSE_AFTER_ANSWER_MS;
  // A refusal (`Error: too many connections`) then the close: no habit to name.
  const refused = seen.answered === 1 && seen.lastWasError === true;
  return new KvConnectionError(`connection closed by ${address}${hint}`, {
    answers: refused
      ? undefined
      : rightAfterFirst
      ? 1
      : !waiting || afterEnd !== undefined
      ? undefined
      : seen.answered,
    afterEnd,
    serverClose,
  });
}

/**
 * The error for an answer that did not come within `ms`: `received` is what
 * came of it; bytes that kept coming (three reads or more since the wait
 * began, the last in its final quarter) mean a server that sends without end.
 * `waitedMs`: since the request was sent or its last whole line came (or a
 * stall of ours restarted the wait); longer than `ms` when bytes without a
 * `\n` kept restarting the wait.
 */
export function timedOut(
  address: string,
  ms: number,
  received: Uint8Array,
  seen: { reads: number; sinceLastByteMs: number; waitedMs?: number; receivedBytes?: number },
): KvTimeoutError {
  const flowing = received.length > 0 && seen.reads >= 3 && seen.sinceLastByteMs < ms / 4;
  const what = received.length > 0 ? "whole answer" : "answer";
  const waited = seen.waitedMs ?? ms;
  const message = waited >= 1.5 * ms
    ? `no ${what} from ${address} in ${seconds(waited)} s: bytes came ` +
      `without a \\n, and each 64 KiB restarted the ${ms / 1000} s timeout`
    : `no ${what} from ${address} within ${ms / 1000} s`;
  return new KvTimeoutError(message, received, flowing, {
    timeoutMs: ms,
    waitedMs: waited,
    receivedBytes: seen.receivedBytes,
  });
}

/**
 * The error for a server that sent more answer lines no request asked for
 * than the client keeps (`kept` of them), as one that sends without end does.
 */
export function tooManyUnasked(address: string, kept: number): KvConnectionError {
  return new KvConnectionError(
    `stopped reading ${address}: it sent more answer lines than were asked for (past ` +
      `${MAX_EARLY_LINES.toLocaleString("en")} lines or ${MAX_EARLY_BYTES / 1024} KiB with no ` +
      "request waiting): a server that sends without end (does its loop stop " +
      'when recv() returns b""?)',
    { unasked: kept },
  );
}

/**
 * The error for a LIST answer past `limit`, what `KvClient.list()` and
 * `request()` hold whole (`maxListLines`, `maxListBytes`).
 */
export function listTooBig(address: string, limit: ListLimit): KvConnectionError {
  return new KvConnectionError(
    `stopped reading ${address}: its LIST answer passed ${limit.lines.toLocaleString("en")} ` +
      `lines or ${limit.bytes.toLocaleString("en")} bytes, more than list() and request() hold ` +
      "whole (maxListLines, maxListBytes; requestEach() takes a LIST of any size a few lines at " +
      "a time; or the server sends without end)",
  );
}

/** The error for a connection lost under a read or a write (or closed by us: `closedByUs`). */
export function lostConnection(
  address: string,
  error: unknown,
  closedByUs = false,
): KvConnectionError {
  return closedByUs
    ? new KvConnectionError(`connection to ${address} is closed`)
    : new KvConnectionError(`lost connection to ${address}: ${describeConnectError(error)}`, {
      cause: error,
    });
}

/** The error for an answer line past 256 MiB with no `\n`. */
export function answerLineTooLong(address: string): KvConnectionError {
  return new KvConnectionError(
    `${address} sent an answer line past 256 MiB with no \\n: ` +
      'a server that sends without end (does its loop stop when recv() returns b""?)',
  );
}

/**
 * The error a connection fails with for a line `answers` refused
 * ({@linkcode Refusal}); `unreadable`: the refused line's own, if it was not UTF-8.
 */
export function refusedLineError(
  refusal: Refusal,
  address: string,
  answers: AnswerQueue,
  unreadable: Error | undefined,
): KvConnectionError {
  if (refusal === "unasked-unreadable") return new KvConnectionError(unreadable!.message);
  if (refusal === "unasked-too-many") return tooManyUnasked(address, answers.early.length);
  return listTooBig(address, answers.listLimit);
}

/** Throws `KvServerError` for an `Error: ` answer. */
export function throwIfError(answer: string): void {
  if (answer.startsWith(ERROR_PREFIX)) throw new KvServerError(answer.slice(ERROR_PREFIX.length));
}

/** Throws `KvConnectionError` unless the answer is `expected` (a server that is not kv). */
export function expectLine(answer: string, expected: string): void {
  if (answer !== expected) {
    throw new KvConnectionError(
      `expected ${JSON.stringify(expected)}, got ${JSON.stringify(answer)}`,
    );
  }
}

/**
 * `ms` in seconds as a message says them: whole past 10, else to a tenth
 * (cli/client_messages.ts's Korean lines say the same number).
 */
export function seconds(ms: number): string {
  return ms >= 10_000 ? String(Math.round(ms / 1000)) : (ms / 1000).toFixed(1);
}

/** Why an answer line that is not UTF-8 was refused, with what it reads as in cp949, where it is Korean. */
export function notUtf8Answer(address: string, line: Uint8Array): string {
  const korean = readAsCp949(line.length > 64 * 1024 ? line.subarray(0, 64 * 1024) : line);
  return `${address} sent an answer line that is not UTF-8: ${showAsBytes(line)} ` +
    (korean === undefined
      ? "(answers are UTF-8 text: does the server encode them with another codec, such as latin-1 or cp949?)"
      : `(it reads as cp949: ${
        show(korean)
      }; answers are UTF-8 text: encode them with .encode() or .encode("utf-8"), not "cp949")`);
}

/**
 * Why a connection takes no more requests, if it does not: the error it
 * ended with (after a timeout, a later call did not wait, so it says that),
 * or that it was closed, or closed for sending.
 */
export function unusable(
  address: string,
  failure: KvConnectionError | undefined,
  closed: boolean,
  writeClosed: boolean,
): KvConnectionError | undefined {
  if (failure instanceof KvTimeoutError) {
    return new KvConnectionError(
      `connection to ${address} is closed: an earlier request timed out (${failure.message})`,
      { cause: failure },
    );
  }
  if (failure !== undefined) return failure;
  if (closed) return new KvConnectionError(`connection to ${address} is closed`);
  if (writeClosed) return new KvConnectionError(`connection to ${address} is closed for sending`);
  return undefined;
}
