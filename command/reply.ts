/**
 * The reply seam: handlers say what an answer means ({@linkcode Reply}), and
 * each wire protocol decides its bytes. A second protocol is then one framer
 * and one `Reply`, not a copy of the commands.
 *
 * @module
 */

import { StoreFullError, type ValueSink } from "../store/store.ts";
import type { Command } from "./command.ts";

/** Why a request failed: each protocol words these its own way. */
export type Failure =
  | { readonly kind: "unknownCommand"; readonly word: string; readonly args?: readonly string[] }
  | { readonly kind: "usage"; readonly command: Command }
  /** A field that may not be empty was (`key` in `GET, `, `password` in `AUTH, `). */
  | { readonly kind: "emptyField"; readonly field: string }
  | { readonly kind: "invalidUtf8" }
  | { readonly kind: "lineTooLong"; readonly limitBytes: number }
  /**
   * A partial request could not grow: all connections' unfinished requests
   * hold `limitBytes` already (`--max-pending-bytes`). Dropped as a line too
   * long is; a Redis client's connection closes.
   */
  | { readonly kind: "pendingFull"; readonly limitBytes: number }
  /**
   * The answer would have grown past what answers built whole may hold
   * together (`--max-answer-bytes`: an MGET or EXEC of big values): it was
   * not made. The command ran; only its answer is this error.
   */
  | { readonly kind: "answerTooLarge"; readonly limitBytes: number }
  | { readonly kind: "tooManyConnections" }
  | { readonly kind: "storeFull" }
  | { readonly kind: "notText" }
  | { readonly kind: "authRequired" }
  | { readonly kind: "wrongPassword" }
  | { readonly kind: "noPassword" }
  /** A Redis-only error, worded as Redis words it, code first (`ERR syntax error`). */
  | { readonly kind: "redis"; readonly text: string }
  /** The framing broke (Redis: `ERR Protocol error: ...`); the connection closes after. */
  | { readonly kind: "protocol"; readonly text: string }
  /**
   * A change the store could not make durable (disk full, I/O error; or,
   * `closed`, its file was closed before the server): it was undone.
   */
  | { readonly kind: "notDurable"; readonly closed?: boolean };

// A write the store had no room for: each protocol words it (Redis: its OOM error).
const STORE_FULL: Failure = { kind: "storeFull" };

/**
 * Answers a store write that threw: {@linkcode StoreFullError} (the store
 * changed nothing) is the request's failure (`storeFull`), not
 * the connection's; anything else is rethrown.
 */
export function refuseWhenFull(reply: Reply, error: unknown): void {
  if (!(error instanceof StoreFullError)) throw error;
  reply.error(STORE_FULL);
}

/**
 * The meanings an answer can have. A handler calls one method per request
 * (LIST: one {@linkcode Reply.pair} per pair, then {@linkcode Reply.endList}).
 * As a {@linkcode ValueSink}, a reply takes a GET's value straight from the
 * store: its `addBytes()` is the answer "here is the value".
 */
export interface Reply extends ValueSink {
  /** The request did what it asked (a stored value, a deleted key). */
  ok(): void;
  /** The key asked for is not there. */
  notFound(): void;
  /** The answer to PING. */
  pong(): void;
  /** The answer to QUIT; the connection closes after it. */
  bye(): void;
  /** The request failed; the connection stays open. */
  error(failure: Failure): void;
  /** One pair of a listing (`flags` as a store gives them); returns whether this protocol could show it. */
  pair(
    bytes: Uint8Array,
    keyStart: number,
    keyEnd: number,
    valueStart: number,
    valueEnd: number,
    flags: number,
  ): boolean;
  /** The end of a listing that showed `shown` pairs. */
  endList(shown: number): void;
}

/**
 * The meanings only Redis's protocol has words for: numbers, nulls, arrays,
 * maps and the rest (RESP2, and RESP3 after `HELLO 3`).
 */
export interface RedisReply extends Reply {
  /** An integer (`:n`); a bigint for values beyond 2^53. */
  integer(n: number | bigint): void;
  /** A short status (`+text`), such as `OK` or `string`. */
  simple(text: string): void;
  /** A bulk string of text (UTF-8). */
  bulk(text: string): void;
  /** A bulk string of bytes, `bytes[start, end)`. */
  bytes(bytes: Uint8Array, start: number, end: number): void;
  /** No value (RESP2 `$-1`, RESP3 `_`). */
  nil(): void;
  /** No array (RESP2 `*-1`, RESP3 `_`). */
  nilArray(): void;
  /** An array of `length` elements, which follow. */
  array(length: number): void;
  /** A map of `pairs` key-value pairs, which follow (RESP2: a flat array). */
  map(pairs: number): void;
  /** A set of `length` elements, which follow (RESP2: an array). */
  set(length: number): void;
  /** A floating-point number (RESP3 `,`; RESP2 a bulk string). */
  double(n: number): void;
  /** A text to show as it is (RESP3 verbatim `txt`; RESP2 a bulk string). */
  verbatim(text: string): void;
  /** Where the next answer starts, for {@linkcode RedisReply.rewind}. */
  mark(): number;
  /** Takes back what was answered since `mark` (an answer that could not be finished). */
  rewind(mark: number): void;
}

/**
 * Thrown by a reply's buffer when the answer being made would pass what the
 * server lets answers hold together (`--max-answer-bytes`), before it takes
 * the memory: the connection (or EXEC, for one of its commands) puts the
 * `answerTooLarge` failure in the answer's place.
 */
export class AnswerTooLargeError extends Error {
  /** The limit it would have passed. */
  readonly limitBytes: number;

  /** An answer refused under a limit of `limitBytes`. */
  constructor(limitBytes: number) {
    super(`answers being made hold ${limitBytes} bytes already`);
    this.name = "AnswerTooLargeError";
    this.limitBytes = limitBytes;
  }
}
