/**
 * {@linkcode Framer}: what a connection needs of a wire protocol's reading
 * side. A connection feeds it the bytes it reads and pulls requests out,
 * one at a time, until it needs more bytes.
 *
 * @module
 */

import type { Request } from "../command/request.ts";

/**
 * What a framer sees of a connection's session: whether it has
 * authenticated. Before AUTH, framers hold a client to smaller limits
 * (README, Security).
 */
export interface AuthState {
  /** False until AUTH succeeds on a server with a password; then true for good. */
  readonly authenticated: boolean;
}

/** Splits a connection's bytes into requests. One per connection; pure. */
export interface Framer {
  /**
   * Hands over the next chunk read. The framer takes requests from it in
   * place, so the chunk must stay unchanged until {@linkcode Framer.next}
   * returns `false`; by then the framer has copied any partial request.
   */
  feed(chunk: Uint8Array): void;
  /**
   * Fills `into` with the next request, or returns `false` if the bytes fed
   * so far hold no complete one. The request's bytes stay valid until the
   * next call.
   */
  next(into: Request): boolean;
  /**
   * The stream ended (or, for the line protocol, an unframed client's pause
   * ran out): a partial request held is taken as complete by the next
   * {@linkcode Framer.next}, if the protocol allows.
   */
  end(): void;
  /**
   * The connection has run every request and waits for bytes: a buffer
   * borrowed for a request split across reads goes back to its pool, if
   * no partial request is held, and the chunk last fed is let go of (its
   * requests are no longer valid).
   */
  release(): void;
  /**
   * The connection has ended: a partial request held no longer counts
   * against the budget of all connections' unfinished requests.
   */
  close(): void;
  /** Bytes of a partial request held, waiting for the rest. */
  readonly pendingBytes: number;
  /**
   * Whether the unframed pause applies now (only the line protocol has one:
   * PROTOCOL.md, Unframed clients).
   */
  readonly awaitsUnframed: boolean;
  /**
   * Whether the last request was ended by the pause or the end of the
   * stream rather than by its protocol's own end (`--trace` says so).
   */
  readonly endedWithoutNewline: boolean;
}
