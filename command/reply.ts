/**
 * The reply seam: handlers say what an answer means ({@linkcode Reply}), and
 * each wire protocol decides its bytes. A second protocol is then one framer
 * and one `Reply`, not a copy of the commands.
 *
 * @module
 */

import type { ValueSink } from "../store/store.ts";
import type { Command } from "./command.ts";

/** Why a request failed: each protocol words these its own way. */
export type Failure =
  | { readonly kind: "unknownCommand"; readonly word: string }
  | { readonly kind: "usage"; readonly command: Command }
  | { readonly kind: "emptyKey" }
  | { readonly kind: "invalidUtf8" }
  | { readonly kind: "lineTooLong"; readonly limitBytes: number }
  | { readonly kind: "tooManyConnections" }
  | { readonly kind: "storeFull" }
  | { readonly kind: "notText" }
  /** A change the store could not make durable (disk full, I/O error): it was undone. */
  | { readonly kind: "notDurable" };

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
