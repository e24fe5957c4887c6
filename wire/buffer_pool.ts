/**
 * {@linkcode BufferPool}: the 64 KiB buffers a connection borrows for a
 * burst (its reads, its answers, a request split across reads) and gives
 * back once it waits for bytes again, as Redis 7.4 reads every client into
 * one shared query buffer. An idle connection so keeps only its small
 * buffers, whatever it once sent, and a connection under constant load
 * borrows the same buffers again instead of allocating.
 *
 * @module
 */

/** The size of every pooled buffer: a connection's largest read, and the answers it writes at once. */
export const POOLED_BYTES = 64 * 1024;
// A buffer past its small size goes to the pool only once it has grown
// past this: a connection keeps this much of each kind for itself.
/** What a connection keeps of each buffer for itself: more is borrowed from the pool. */
export const OWN_BYTES = 4 * 1024;
// Buffers kept for the next borrower (2 MiB): more are freed. A connection
// holds one only while it has bytes to read or to write, so few are out at
// once.
const KEEP = 32;
// Connections that may keep a borrowed buffer while they wait for bytes (2
// MiB), those whose client pipelines batches too big for their own buffer.
const HOLDERS = 32;

/** Buffers of {@linkcode POOLED_BYTES}, lent and given back. Not for sharing across threads. */
export class BufferPool {
  readonly #free: Uint8Array[] = [];
  #lent = 0;
  #holders = 0;

  /**
   * Buffers taken and not given back: held, or dropped with a connection
   * that ended while it held them (the garbage collector frees those).
   */
  get lent(): number {
    return this.#lent;
  }

  /** Buffers waiting for the next {@linkcode BufferPool.take}. */
  get idle(): number {
    return this.#free.length;
  }

  /**
   * Whether a borrower may keep a buffer while it waits for bytes, for as
   * long as it may take (an idle client): yes for 32 at a time, each until
   * {@linkcode BufferPool.unhold}. More would be the memory an idle
   * connection should not keep.
   */
  hold(): boolean {
    if (this.#holders === HOLDERS) return false;
    this.#holders++;
    return true;
  }

  /** A borrower let go of what {@linkcode BufferPool.hold} allowed it. */
  unhold(): void {
    this.#holders--;
  }

  /** Borrowers that {@linkcode BufferPool.hold} allowed to keep a buffer while they wait. */
  get holders(): number {
    return this.#holders;
  }

  /** A buffer of {@linkcode POOLED_BYTES}, with whatever its last borrower left in it. */
  take(): Uint8Array {
    this.#lent++;
    return this.#free.pop() ?? new Uint8Array(POOLED_BYTES);
  }

  /** Gives back a buffer from {@linkcode BufferPool.take}, once: no view of it may be used after. */
  give(buffer: Uint8Array): void {
    this.#lent--;
    if (this.#free.length < KEEP) this.#free.push(buffer);
    else freeNow(buffer);
  }
}

/** The pool of everything that is not given one (a client's line splitter, the UDP server). */
export const sharedPool: BufferPool = new BufferPool();

/**
 * Frees a buffer's memory now rather than at the garbage collector's next
 * run, which an idle server may not have for a long time: after a burst of
 * many connections, tens of megabytes would wait for it. Its views are
 * empty after this.
 */
export function freeNow(buffer: Uint8Array): void {
  (buffer.buffer as ArrayBuffer).transfer(0);
}
