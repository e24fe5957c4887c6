/**
 * {@linkcode AnswerBuffer}: the bytes a connection will write next. Every
 * protocol's {@linkcode Reply} encodes into one, and the connection writes it
 * out once per batch of requests.
 *
 * @module
 */

const encoder = new TextEncoder();
// Answers past this size (an MGET of big values) grow in place, in a
// resizable buffer with room reserved, not allocated: by doubling and
// copying, a 300 MB MGET touched a gigabyte of fresh pages and held every
// client twice as long as Redis. Smaller ones keep plain buffers: V8 writes
// their views faster, and once it has seen both kinds, every answer's
// writes cost more (measured: 15 -> 25 ns an answer).
const GROW_IN_PLACE_BYTES = 64 << 20;
const RESERVE_BYTES = 2 ** 32;

/**
 * Answers gathered for one write, as bytes. A connection keeps one and
 * reuses it for every batch, so answering allocates nothing but an
 * occasional larger buffer.
 */
export class AnswerBuffer {
  #bytes: Uint8Array;
  #length = 0;
  readonly #keepBytes: number;

  /** `keepBytes`: a buffer grown past this is dropped by {@linkcode AnswerBuffer.clear}. */
  constructor(keepBytes = 64 * 1024) {
    this.#keepBytes = keepBytes;
    // Allocated on the first answer, so a connection that never asks costs nothing.
    this.#bytes = new Uint8Array(0);
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
    if (this.#bytes.length > this.#keepBytes) {
      const buffer = this.#bytes.buffer as ArrayBuffer;
      if (buffer.resizable) buffer.resize(0); // A huge answer's pages go back now, not at some GC.
      this.#bytes = new Uint8Array(this.#keepBytes);
    }
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
    this.#length += encoder.encodeInto(text, this.#bytes.subarray(this.#length)).written;
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
    const size = Math.max(2 * this.#bytes.length, this.#length + more, 4096);
    const buffer = this.#bytes.buffer as ArrayBuffer;
    if (buffer.resizable && size <= buffer.maxByteLength) {
      buffer.resize(size);
      this.#bytes = new Uint8Array(buffer, 0, size);
      return;
    }
    const grown = size < GROW_IN_PLACE_BYTES ? new Uint8Array(size) : new Uint8Array(
      new ArrayBuffer(size, { maxByteLength: Math.max(RESERVE_BYTES, size) }),
      0,
      size,
    );
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }
}
