/**
 * {@linkcode ReadBuffers}: the buffers a connection reads into, and how an
 * idle connection comes to keep a small one only, whatever it once sent.
 *
 * @module
 */

import type { BufferPool } from "../wire/buffer_pool.ts";

// Reads start small and grow while they fill the buffer: a short-lived or
// idle connection costs 1 KiB (a storm of connects allocates little, so the
// garbage collector does not stall everyone), and its own buffer grows to 16
// KiB, what Redis reads at once. A client that sends more at once is read 64
// KiB at a time into a buffer borrowed from the server's pool, until a read
// takes all there was. The next read may then wait as long as the client is
// idle, and Deno holds a read's buffer until bytes come (it cannot be shrunk
// or given back meanwhile), so that read goes into the connection's own: an
// idle connection keeps 16 KiB at most, not the 64 KiB of its biggest burst.
const FIRST_READ_BYTES = 1024;
const OWN_READ_BYTES = 16 * 1024;

/** One connection's read buffers: its own, and one borrowed from the pool while a burst lasts. */
export class ReadBuffers {
  readonly #pool: BufferPool;
  #buffer: Uint8Array | undefined; // Where the next read goes.
  #own: Uint8Array | undefined; // The connection's own, while #buffer is borrowed.
  #holding = false; // Whether #buffer is kept while the connection waits (drained()).
  #batch = 0; // Bytes read since the connection last waited.

  /** Reads that borrow from `pool` past 16 KiB. */
  constructor(pool: BufferPool) {
    this.#pool = pool;
  }

  /** The buffer for the next read (1 KiB on the first). */
  get next(): Uint8Array {
    return this.#buffer ??= new Uint8Array(FIRST_READ_BYTES);
  }

  /**
   * The read into `buffer` ({@linkcode ReadBuffers.next}) brought `n`
   * bytes: if it filled it, more is likely waiting, and the next read gets
   * a bigger buffer (twice this one, or a borrowed 64 KiB past 16 KiB).
   */
  read(buffer: Uint8Array, n: number): void {
    this.#batch += n;
    if (n === buffer.length && this.#own === undefined) {
      if (n < OWN_READ_BYTES) this.#buffer = new Uint8Array(2 * n);
      else {
        this.#own = buffer;
        this.#buffer = this.#pool.take();
      }
    }
  }

  /**
   * The last read took all there was (less than its buffer holds) and its
   * requests are answered: the next read may wait for long. A borrowed
   * buffer goes back, and that read waits with the connection's own. Unless
   * the batch read since the last wait was too big for that (past 16 KiB:
   * its client likely pipelines such batches, each after the answers to the
   * last) and the pool lets it hold on (a few connections at a time): then
   * its next batch comes in one read again, not in two reads and two writes.
   */
  drained(): void {
    const batch = this.#batch;
    this.#batch = 0;
    if (this.#own === undefined) return;
    const pool = this.#pool;
    if (batch > OWN_READ_BYTES && (this.#holding || (this.#holding = pool.hold()))) return;
    pool.give(this.#buffer!);
    this.#buffer = this.#own;
    this.#own = undefined;
    if (this.#holding) {
      this.#holding = false;
      pool.unhold();
    }
  }

  /**
   * The connection has ended. A borrowed buffer is left to the garbage
   * collector, not given back: a read or a write may still hold it.
   */
  end(): void {
    if (this.#holding) this.#pool.unhold();
    this.#holding = false;
  }
}
