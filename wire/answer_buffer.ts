/**
 * {@linkcode AnswerBuffer}: the bytes a connection will write next. Every
 * protocol's {@linkcode Reply} encodes into one, and the connection writes it
 * out once per batch of requests.
 *
 * @module
 */

import { type BufferPool, freeNow, OWN_BYTES, POOLED_BYTES, sharedPool } from "./buffer_pool.ts";
import { AnswerTooLargeError } from "../command/reply.ts";
import type { PendingBudget } from "./pending_budget.ts";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
// Answers past this size (an MGET of big values) grow in place, in a
// resizable buffer with room reserved, not allocated: by doubling and
// copying, a 300 MB MGET touched a gigabyte of fresh pages and held every
// client twice as long as Redis. Smaller ones keep plain buffers: V8 writes
// their views faster, and once it has seen both kinds, every answer's
// writes cost more (measured: 15 -> 25 ns an answer).
const GROW_IN_PLACE_BYTES = 64 << 20;
const RESERVE_BYTES = 2 ** 32;

/**
 * What a connection's answers may take beyond a room of their own: past
 * `freeBytes`, a buffer takes the rest of its size from `budget`, which
 * every connection shares (`--max-answer-bytes`), and gives it back when it
 * goes. The room holds any one answer but those built whole of many values
 * (an MGET or EXEC naming a big value thousands of times, a KEYS of a big
 * store): a 70 KB MGET of a 1 MB value made the server build 5 GB, hold
 * 11 GB of RSS and answer no one else for 18 s.
 */
export interface AnswerRoom {
  /** What all connections' answers past their own room may hold together. */
  readonly budget: PendingBudget;
  /** What a connection's answer buffer may hold without taking from the budget. */
  readonly freeBytes: number;
}

/**
 * Answers gathered for one write, as bytes. A connection keeps one and
 * reuses it for every batch, so answering allocates nothing but an
 * occasional larger buffer. Its own buffer holds 4 KiB; answers past that
 * go to a buffer borrowed from a {@linkcode BufferPool}, kept until
 * {@linkcode AnswerBuffer.release}, and a bigger answer to one of its own.
 */
export class AnswerBuffer {
  // Allocated on the first answer, so a connection that never asks costs nothing.
  #bytes: Uint8Array = EMPTY;
  #length = 0;
  #own: Uint8Array = EMPTY; // The small buffer, kept: #bytes when no more is needed.
  #pooled = false; // Whether #bytes was borrowed from #pool.
  readonly #keepBytes: number;
  readonly #pool: BufferPool;
  readonly #room: AnswerRoom | undefined;
  #taken = 0; // Taken from #room's budget for #bytes.

  /**
   * `keepBytes`: a buffer grown past this is dropped by
   * {@linkcode AnswerBuffer.clear}; `pool` lends the buffers past 4 KiB;
   * past `room.freeBytes` a buffer takes from `room.budget`, and an answer
   * that would pass it throws {@linkcode AnswerTooLargeError} (no room:
   * never).
   */
  constructor(keepBytes = POOLED_BYTES, pool: BufferPool = sharedPool, room?: AnswerRoom) {
    this.#keepBytes = keepBytes;
    this.#pool = pool;
    this.#room = room;
  }

  /** Bytes gathered so far. */
  get length(): number {
    return this.#length;
  }

  /** The bytes gathered, as a view valid until the next add or clear. */
  bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /** Empties the buffer, and gives back the memory a large answer took. */
  clear(): void {
    this.#length = 0;
    if (this.#bytes.length > this.#keepBytes) this.#drop();
  }

  /**
   * Gives a borrowed buffer back to the pool, if it is empty: the connection
   * waits for its client now, and an idle connection keeps 4 KiB at most.
   */
  release(): void {
    if (this.#pooled && this.#length === 0) this.#drop();
  }

  /** Takes back the bytes added since the buffer held `length` (an answer that could not be made). */
  truncate(length: number): void {
    if (length < this.#length) this.#length = length;
  }

  /** Lets go of #bytes (a borrowed or a big one) for the small one. */
  #drop(): void {
    const bytes = this.#bytes;
    if (bytes === this.#own) return;
    this.#bytes = this.#own;
    if (this.#taken > 0) {
      this.#room!.budget.give(this.#taken);
      this.#taken = 0;
    }
    if (this.#pooled) {
      this.#pooled = false;
      this.#pool.give(bytes);
      return;
    }
    // A big answer's pages go back now, not at some GC.
    const buffer = bytes.buffer as ArrayBuffer;
    if (buffer.resizable) buffer.resize(0);
    else freeNow(bytes);
  }

  /** Adds one byte. */
  addByte(byte: number): void {
    if (this.#length === this.#bytes.length) this.#grow(1);
    this.#bytes[this.#length++] = byte;
  }

  /** Adds `bytes[start, end)`. */
  addBytes(bytes: Uint8Array, start: number, end: number): void {
    const length = end - start;
    if (this.#length + length > this.#bytes.length) this.#grow(length);
    if (length <= 32) {
      // Short copies (most values) by hand: `set` + `subarray` cost more.
      const out = this.#bytes;
      for (let i = start, at = this.#length; i < end; i++, at++) out[at] = bytes[i]!;
    } else {
      this.#bytes.set(bytes.subarray(start, end), this.#length);
    }
    this.#length += length;
  }

  /** Adds a whole constant, such as `Success!\n`. */
  addLine(bytes: Uint8Array): void {
    this.addBytes(bytes, 0, bytes.length);
  }

  /** Adds text as UTF-8. */
  addText(text: string): void {
    // A UTF-16 unit never takes more than 3 bytes in UTF-8.
    if (this.#length + text.length * 3 > this.#bytes.length) this.#grow(text.length * 3);
    // ASCII (Redis's simple strings, numbers, most errors) by hand: encodeInto
    // is a call into Deno's runtime and a view made, for every answer.
    const out = this.#bytes;
    let at = this.#length;
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      if (unit >= 0x80) {
        this.#length = at + encoder.encodeInto(text.slice(i), out.subarray(at)).written;
        return;
      }
      out[at++] = unit;
    }
    this.#length = at;
  }

  /** Adds an integer's decimal digits, with `-` if it is negative (no string is made for a safe integer). */
  addInteger(n: number | bigint): void {
    if (typeof n === "number" && Number.isSafeInteger(n)) {
      if (n < 0) {
        this.addByte(0x2d);
        n = -n;
      }
      return this.addDecimal(n);
    }
    this.addText(String(n));
  }

  /** Adds a non-negative integer's decimal digits (no string is made). */
  addDecimal(n: number): void {
    let digits = 1;
    for (let power = 10; power <= n; power *= 10) digits++;
    if (this.#length + digits > this.#bytes.length) this.#grow(digits);
    const out = this.#bytes;
    let at = this.#length + digits;
    this.#length = at;
    do {
      const digit = n % 10;
      out[--at] = 0x30 + digit;
      n = (n - digit) / 10;
    } while (n > 0);
  }

  #grow(more: number): void {
    let size = Math.max(2 * this.#bytes.length, this.#length + more, OWN_BYTES);
    if (this.#room !== undefined && size > this.#room.freeBytes) {
      size = this.#claim(size, this.#length + more);
    }
    const buffer = this.#bytes.buffer as ArrayBuffer;
    if (buffer.resizable && size <= buffer.maxByteLength) {
      buffer.resize(size);
      this.#bytes = new Uint8Array(buffer, 0, size);
      return;
    }
    let grown: Uint8Array;
    let pooled = false;
    if (size <= OWN_BYTES) grown = this.#own = new Uint8Array(OWN_BYTES); // The first answer.
    else if (size <= POOLED_BYTES) {
      grown = this.#pool.take();
      pooled = true;
    } else {
      grown = size < GROW_IN_PLACE_BYTES ? new Uint8Array(size) : new Uint8Array(
        new ArrayBuffer(size, { maxByteLength: Math.max(RESERVE_BYTES, size) }),
        0,
        size,
      );
    }
    grown.set(this.#bytes.subarray(0, this.#length));
    if (this.#pooled) this.#pool.give(this.#bytes);
    this.#pooled = pooled;
    this.#bytes = grown;
  }

  /**
   * Takes from the budget what a buffer of `size` needs past the free room,
   * or, if the budget has not that much left, all it has, as long as that
   * holds `needed` (growing by what is needed alone would copy the whole
   * buffer for every byte added after); returns the size got. Throws
   * {@linkcode AnswerTooLargeError} if even `needed` does not fit: nothing
   * is taken.
   */
  #claim(size: number, needed: number): number {
    const { budget, freeBytes } = this.#room!;
    const most = freeBytes + this.#taken + budget.limitBytes - budget.heldBytes;
    const got = Math.min(size, most);
    if (got < needed) throw new AnswerTooLargeError(budget.limitBytes);
    const more = got - freeBytes - this.#taken;
    if (more > 0) {
      budget.force(more); // Within the limit: `most` left room for it.
      this.#taken += more;
    }
    return got;
  }
}
