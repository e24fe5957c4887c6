/**
 * {@linkcode LineSplitter}: splits a byte stream into lines. `\n` ends a line,
 * a `\r` right before it is dropped, each line must be valid UTF-8, and no
 * line may hold more than `maxLineBytes` bytes (PROTOCOL.md, Requests and
 * Responses). Pure: it is fed chunks and pulled for lines; it never touches
 * a socket.
 *
 * @module
 */

import { type BufferPool, POOLED_BYTES, sharedPool } from "../buffer_pool.ts";
import { type PendingBudget, unbounded } from "../pending_budget.ts";
import { SplitBuffer } from "../split_buffer.ts";
import { isUtf8From } from "../utf8.ts";

/**
 * What {@linkcode LineSplitter.next} found. `"no-room"`: a partial line
 * could not grow, all connections' partial lines filling the budget; it is
 * dropped and skipped to its `\n`, as a line too long is.
 */
export type LineKind = "line" | "invalid-utf8" | "too-long" | "no-room";

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = new Uint8Array(0);

/**
 * A bounded line splitter over bytes.
 *
 * Lines are handed over as positions in the chunk they arrived in; only a
 * line split across chunks is copied (into the pending buffer). UTF-8 is
 * checked once per run of complete lines: a run of ASCII bytes (the usual
 * case) is valid as it is, and a run with other bytes is decoded strictly,
 * line by line only if the whole run fails, so that a bad line costs only
 * itself. `\n` (0x0A) never occurs inside a multi-byte UTF-8 character, so
 * splitting on bytes first is safe even when a chunk ends inside a character.
 *
 * @example
 * ```ts
 * import { LineSplitter } from "./lines.ts";
 * const lines = new LineSplitter(1024);
 * lines.feed(new TextEncoder().encode("PING\r\nGET, a"));
 * lines.next(); // "line": lines.bytes[lines.start, lines.end) is "PING"
 * lines.next(); // null: "GET, a" waits for its "\n"
 * ```
 */
export class LineSplitter {
  /** The line found by the last {@linkcode LineSplitter.next}: `bytes[start, end)`. */
  bytes: Uint8Array = EMPTY;
  /** Where the line starts in `bytes`. */
  start = 0;
  /** Where the line ends in `bytes`, its `\r\n` or `\n` left out. */
  end = 0;
  /** Set by the pause or the end of the stream: what remained was ended by it, not by `\n`. */
  endedWithoutNewline = false;
  #chunk: Uint8Array = EMPTY;
  #pos = 0;
  #last = -1; // The last `\n` of the chunk.
  #runChecked = false;
  #runValid = false;
  // The partial line: in a small buffer (up to 4 KiB), then in one borrowed
  // from the pool (up to 64 KiB, until release()), then in one of its own
  // (freed once it is outgrown or dropped, or its connection ends, or once
  // its line has run: so that one long line does not pin a megabyte to an
  // otherwise idle connection, nor to an idle server after its connection
  // has gone). #split grows them, lends them, and counts them against the
  // budget of all connections' partial lines.
  #pending: Uint8Array = EMPTY;
  #pendingLength = 0;
  readonly #split: SplitBuffer;
  #skipping = false;
  #sawNewline = false;
  #ended = false;

  #max: number;

  /**
   * Throws `RangeError` unless `maxLineBytes` is a positive integer. `pool`
   * lends the buffer of a partial line past 4 KiB; `budget` bounds such
   * buffers over every splitter that shares it (none by default).
   */
  constructor(
    maxLineBytes: number,
    pool: BufferPool = sharedPool,
    budget: PendingBudget = unbounded(),
  ) {
    this.#max = checkLimit(maxLineBytes);
    this.#split = new SplitBuffer(pool, budget);
  }

  /** The most bytes a line may hold before its `\n` (a `\r` counts). */
  get maxLineBytes(): number {
    return this.#max;
  }

  /**
   * Changes the limit for the lines not handed out yet (kv raises it once a
   * client has authenticated: README, Security). Throws `RangeError` unless
   * `maxLineBytes` is a positive integer.
   */
  setMaxLineBytes(maxLineBytes: number): void {
    this.#max = checkLimit(maxLineBytes);
  }

  /** Bytes of a partial line held, waiting for its `\n`. */
  get pendingBytes(): number {
    return this.#pendingLength;
  }

  /** The partial line held (a view: it changes with the next feed). */
  get pendingLine(): Uint8Array {
    return this.#pending.subarray(0, this.#pendingLength);
  }

  /** Whether the rest of an over-long line is being skipped, up to its `\n` (or {@linkcode LineSplitter.endLine}). */
  get skipping(): boolean {
    return this.#skipping;
  }

  /** Whether any `\n` has been seen (PROTOCOL.md: the unframed pause then stops applying). */
  get sawNewline(): boolean {
    return this.#sawNewline;
  }

  /**
   * Hands over a chunk. Its lines are handed out in place, so it must not
   * change until {@linkcode LineSplitter.next} returns `null`.
   */
  feed(chunk: Uint8Array): void {
    this.#chunk = chunk;
    this.#pos = 0;
    this.#last = chunk.lastIndexOf(LF);
    this.#runChecked = false;
    this.#runValid = this.#last >= 0 && isUtf8(chunk, 0, this.#last);
  }

  /**
   * Ends the partial line held, as if its `\n` had come: at the end of the
   * stream, or when an unframed client's line has sat unchanged for the
   * pause. The next {@linkcode LineSplitter.next} hands it over.
   */
  endLine(): void {
    this.#ended = true;
  }

  /**
   * Finds the next line. Returns `"line"` (see `bytes`, `start`, `end`),
   * `"invalid-utf8"` (its bytes there too, to show) or `"too-long"` for a
   * line that cannot be read, or
   * `null` once the chunks fed hold no more complete line; the rest of the
   * chunk has then been copied, so the chunk may be reused.
   */
  next(): LineKind | null {
    const pos = this.#pos;
    // The fast path: the next complete line of a run already checked (no
    // partial line or skipping is pending while a run is being handed out).
    if (this.#runChecked && pos <= this.#last) {
      const chunk = this.#chunk;
      // A plain loop: for lines of tens of bytes, a call to indexOf() costs
      // more than the scan. It stops at #last at the latest.
      let nl = pos;
      while (chunk[nl] !== LF) nl++;
      this.#pos = nl + 1;
      if (nl - pos <= this.#max && this.#runValid) {
        // `bytes` is the chunk already (set when the run began).
        this.start = pos;
        this.end = nl > pos && chunk[nl - 1] === CR ? nl - 1 : nl;
        return "line";
      }
      return this.#line(chunk, pos, nl, this.#runValid);
    }
    return this.#nextSlow();
  }

  /** The rest of next(): a partial line, a skipped one, a new run, a tail, the end. */
  #nextSlow(): LineKind | null {
    // A line handed out of a big buffer (#takePending) has run: the buffer
    // goes, here and not only at release(), which does nothing while a
    // partial line is held (a client that sent the start of another line
    // after a big one would keep it while it idles). Only this path follows
    // a line from the pending buffer: such a line ends the run it was in.
    if (this.#pendingLength === 0 && this.#pending.length > POOLED_BYTES) this.#release();
    const chunk = this.#chunk;
    const length = chunk.length;
    if (this.#skipping && this.#pos < length) {
      // PROTOCOL.md: after an over-long line, skip to the next `\n`.
      const nl = chunk.indexOf(LF, this.#pos);
      if (nl === -1) {
        this.#pos = length;
      } else {
        this.#skipping = false;
        this.#sawNewline = true;
        this.#pos = nl + 1;
      }
    }
    if (this.#pendingLength > 0 && this.#pos < length) {
      const nl = chunk.indexOf(LF, this.#pos);
      if (nl === -1) {
        const tail = chunk.subarray(this.#pos);
        this.#pos = length;
        return this.#hold(tail);
      }
      this.#sawNewline = true;
      const rest = chunk.subarray(this.#pos, nl);
      this.#pos = nl + 1;
      if (this.#pendingLength + rest.length > this.#max) {
        this.#release();
        return "too-long";
      }
      this.#append(rest, false); // Complete now: held only until it has run.
      return this.#takePending(false);
    }
    if (this.#pos <= this.#last && !this.#skipping) {
      this.#runChecked = true;
      this.#sawNewline = true;
      if (!this.#runValid && this.#pos > 0) this.#runValid = isUtf8(chunk, this.#pos, this.#last);
      this.bytes = chunk;
      this.endedWithoutNewline = false;
      return this.next();
    }
    if (this.#pos < length && !this.#skipping) {
      const tail = chunk.subarray(this.#pos);
      this.#pos = length;
      const kind = this.#hold(tail);
      if (kind !== null) return kind;
    }
    if (this.#ended) {
      this.#ended = false;
      if (this.#skipping) {
        this.#skipping = false;
        return null;
      }
      if (this.#pendingLength > 0) return this.#takePending(true);
    }
    return null;
  }

  /** Appends bytes to the partial line, or reports it too long and starts skipping. */
  #hold(bytes: Uint8Array): LineKind | null {
    if (this.#pendingLength + bytes.length > this.#max) {
      // PROTOCOL.md: the error is sent as soon as the limit is passed.
      this.#release();
      this.#skipping = true;
      return "too-long";
    }
    if (!this.#append(bytes, true)) {
      // All connections' partial lines fill the budget: refused as a line
      // past the limit is, and skipped to its `\n`.
      this.#release();
      this.#skipping = true;
      return "no-room";
    }
    return null;
  }

  /**
   * Appends to the partial line; returns `false` (nothing changed) if its
   * buffer had to grow past what the budget has left, unless `checked` is
   * `false` (the line is complete with these bytes).
   */
  #append(bytes: Uint8Array, checked: boolean): boolean {
    const length = this.#pendingLength + bytes.length;
    if (length > this.#pending.length) {
      const size = Math.min(this.#max, Math.max(length, 2 * this.#pending.length, 256));
      const held = this.#pending.subarray(0, this.#pendingLength);
      const grown = this.#split.grow(this.#pending, held, size, !checked);
      if (grown === undefined) return false;
      this.#pending = grown;
    }
    this.#pending.set(bytes, this.#pendingLength);
    this.#pendingLength = length;
    return true;
  }

  #takePending(endedWithoutNewline: boolean): LineKind {
    const bytes = this.#pending;
    const length = this.#pendingLength;
    // A big buffer stays #pending, counted, until its line has run: the
    // next call of next() lets go of it (#nextSlow).
    this.#pendingLength = 0;
    const kind = this.#line(bytes, 0, length, isUtf8(bytes, 0, length));
    this.endedWithoutNewline = endedWithoutNewline;
    return kind;
  }

  /** Drops the partial line (too long), or a big buffer whose line has run: it goes, the small one stays. */
  #release(): void {
    this.#pendingLength = 0;
    this.#pending = this.#split.drop(this.#pending);
  }

  /**
   * The connection has ended: its partial line no longer counts against
   * the budget, and its buffer goes (back to the pool, or freed if big), as
   * does a big one whose line has run.
   */
  close(): void {
    this.#pendingLength = 0;
    this.#split.drop(this.#pending);
    this.#pending = EMPTY;
    this.bytes = EMPTY;
  }

  /**
   * The connection waits for bytes now: gives back the buffer a long line
   * borrowed, if no partial line is held, and lets go of the chunk last fed
   * (it may be a read buffer that goes back to a pool too). The lines handed
   * out are no longer valid.
   */
  release(): void {
    if (this.#pendingLength !== 0) return;
    this.#pending = this.#split.release(this.#pending);
    if (this.#chunk !== EMPTY) {
      this.#chunk = EMPTY;
      this.#pos = 0;
      this.#last = -1;
      this.bytes = EMPTY;
    }
  }

  /** `valid`: whether the line is already known to be UTF-8 (else it is checked). */
  #line(bytes: Uint8Array, start: number, end: number, valid: boolean): LineKind {
    this.endedWithoutNewline = false;
    if (end - start > this.#max) return "too-long";
    if (end > start && bytes[end - 1] === CR) end--;
    this.bytes = bytes;
    this.start = start;
    this.end = end;
    return valid || isUtf8(bytes, start, end) ? "line" : "invalid-utf8";
  }
}

function checkLimit(maxLineBytes: number): number {
  if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) {
    throw new RangeError(`Cannot use maxLineBytes ${maxLineBytes}: expected a positive integer`);
  }
  return maxLineBytes;
}

/**
 * Whether `bytes[start, end)` is valid UTF-8. ASCII (the usual case) is
 * skipped by a scan, four bytes at a time over a long run, and only from the
 * first other byte on is the rest checked strictly (wire/utf8.ts): faster
 * than a TextDecoder call at any size measured, and a bad byte costs no
 * exception.
 */
function isUtf8(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  if (end - start >= 64) {
    while ((bytes.byteOffset + i) & 3) {
      if (bytes[i]! >= 0x80) return isUtf8From(bytes, i, end);
      i++;
    }
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset + i, (end - i) >>> 2);
    let w = 0;
    while (w < words.length && (words[w]! & 0x80808080) === 0) w++;
    i += w << 2;
  }
  while (i < end && bytes[i]! < 0x80) i++;
  return i === end || isUtf8From(bytes, i, end);
}
