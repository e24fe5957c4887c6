/**
 * {@linkcode SplitBuffer}: where a framer gathers a request split across
 * reads (RESP's `RespFramer`, the line protocol's `LineSplitter`). Up to
 * 4 KiB it is a small buffer of the framer's own, kept; up to 64 KiB one
 * borrowed from a {@linkcode BufferPool} until the framer lets go of it;
 * past that one of its own, freed (not left to the collector, which an
 * idle server never runs) once its request is done, outgrown, or its
 * connection ends. The borrowed and big ones count against a
 * {@linkcode PendingBudget} of all connections' partial requests.
 *
 * The framer keeps the buffer in use in a field of its own, so that feed()
 * and next() read it with no hop; this holds the rest, and is called only
 * when that buffer must grow or go.
 *
 * @module
 */

import { type BufferPool, freeNow, OWN_BYTES, POOLED_BYTES } from "./buffer_pool.ts";
import type { PendingBudget } from "./pending_budget.ts";

const EMPTY = new Uint8Array(0);

/** The buffers of one framer's split requests, and what they take from the budget. */
export class SplitBuffer {
  #small: Uint8Array = EMPTY;
  #pooled = false; // Whether the buffer in use was borrowed from #pool.
  readonly #pool: BufferPool;
  // What the buffer in use takes from #budget (0 while it is #small).
  readonly #budget: PendingBudget;
  #charged = 0;

  /** Borrows from `pool`; bigger buffers count against `budget`. */
  constructor(pool: BufferPool, budget: PendingBudget) {
    this.#pool = pool;
    this.#budget = budget;
  }

  /** The budget's limit, for the error of a request it had no room for. */
  get limitBytes(): number {
    return this.#budget.limitBytes;
  }

  /**
   * A buffer of `size` bytes (64 KiB if it is borrowed, past 4 KiB and up
   * to that), `bytes` copied to its start, in place of `own` (the buffer in
   * use, given back if borrowed); `undefined` (nothing changed) if that
   * would take more than the budget has left, unless `force` (the request
   * is complete with these bytes, held only until it has run).
   */
  grow(own: Uint8Array, bytes: Uint8Array, size: number, force = false): Uint8Array | undefined {
    let grown: Uint8Array;
    let pooled = false;
    if (size <= OWN_BYTES) grown = this.#small = new Uint8Array(size);
    else {
      // The rare path: a request past 4 KiB split across reads.
      const charge = size <= POOLED_BYTES ? POOLED_BYTES : size;
      if (force) this.#budget.force(charge - this.#charged);
      else if (!this.#budget.take(charge - this.#charged)) return undefined;
      this.#charged = charge;
      if (size <= POOLED_BYTES) {
        grown = this.#pool.take();
        pooled = true;
      } else grown = new Uint8Array(size);
    }
    grown.set(bytes);
    this.#letGo(own);
    this.#pooled = pooled;
    return grown;
  }

  /**
   * `bytes`, the start of a request that follows one which has run out of
   * `own` (a big buffer), moved to a buffer their size (the small one, one
   * borrowed, or one of its own only if they are past 64 KiB), and `own`
   * freed: a client that stops between two requests keeps and is counted
   * for no more than the line framer's would, not the megabyte of the
   * request before. Not refused by the budget: these bytes were held already.
   */
  shrink(own: Uint8Array, bytes: Uint8Array): Uint8Array {
    this.#uncharge();
    if (bytes.length > this.#small.length) {
      return this.grow(own, bytes, Math.max(bytes.length, OWN_BYTES), true)!;
    }
    this.#small.set(bytes);
    this.#letGo(own);
    this.#pooled = false;
    return this.#small;
  }

  /**
   * Lets go of `own` (the buffer in use, holding nothing now) if it is
   * borrowed or big, and of what it took from the budget; returns the
   * buffer to use from now on.
   */
  drop(own: Uint8Array): Uint8Array {
    this.#letGo(own);
    this.#pooled = false;
    this.#uncharge();
    return this.#small;
  }

  /** As {@linkcode drop}, but a no-op while `own` is the small buffer. */
  release(own: Uint8Array): Uint8Array {
    return own === this.#small ? own : this.drop(own);
  }

  /**
   * Gives `own` back to the pool if borrowed, or frees it now if it is a
   * big one (no request in it runs any more). Left to the collector, the
   * big buffers of clients that went away mid-request stayed: an idle
   * server's collector does not run.
   */
  #letGo(own: Uint8Array): void {
    if (this.#pooled) this.#pool.give(own);
    else if (own.length > POOLED_BYTES) freeNow(own);
  }

  /** Gives back to the budget what the buffer in use took. */
  #uncharge(): void {
    if (this.#charged !== 0) {
      this.#budget.give(this.#charged);
      this.#charged = 0;
    }
  }
}
