/**
 * Splits a connection's byte stream into request lines: `\n` ends a line, a
 * `\r` right before it is dropped, each line must be valid UTF-8, and no line
 * may hold more than `maxLineBytes` bytes. Pure: it is fed chunks and calls a
 * {@linkcode LineSink}; it never touches a socket.
 *
 * @module
 */

/**
 * Receives what a {@linkcode LineReader} finds. Return `false` to stop the
 * reader right after this line: to quit, or to write answers before going on.
 */
export interface LineSink {
  /**
   * A complete line of valid UTF-8, without its `\n` (or `\r\n`): the line
   * is `bytes[start, end)`. It comes as bounds within the chunk read, so the
   * hot path copies nothing; the bytes are valid only during the call.
   */
  line(bytes: Uint8Array, start: number, end: number): boolean;
  /** A line that is not valid UTF-8, or one longer than the limit. */
  bad(problem: LineProblem): boolean;
}

/** Why a line could not be read. */
export type LineProblem = "invalid-utf8" | "too-long";

const LF = 0x0a;
const CR = 0x0d;
// Past this size the pending buffer is dropped once its line is done, so one
// long line does not pin a megabyte to an otherwise idle connection.
const KEEP_PENDING_BYTES = 64 * 1024;

/**
 * A bounded line splitter over bytes.
 *
 * Lines are handed on as positions in the chunk they arrived in; only a line
 * split across chunks is copied (into the pending buffer). UTF-8 is checked
 * once per run of lines: a run of ASCII bytes (the usual case) is valid as
 * it is, and a run with other bytes is decoded strictly, line by line only
 * if the whole run fails, so that a bad line costs only itself. `\n` (0x0A)
 * never occurs inside a multi-byte UTF-8 character, so splitting on bytes
 * first is safe even when a chunk boundary falls inside a character.
 */
export class LineReader {
  /** The most bytes a line may hold before its `\n` (a `\r` counts). */
  readonly maxLineBytes: number;
  #decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  #pending = new Uint8Array(0);
  #pendingLength = 0;
  #skipping = false;
  #sawNewline = false;

  constructor(maxLineBytes: number) {
    if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) {
      throw new RangeError(
        `Cannot use maxLineBytes ${maxLineBytes}: expected a positive integer`,
      );
    }
    this.maxLineBytes = maxLineBytes;
  }

  /** Bytes of a partial line held, waiting for its `\n`. */
  get pendingBytes(): number {
    return this.#pendingLength;
  }

  /** Whether any `\n` has been seen (PROTOCOL.md: the unframed pause then stops applying). */
  get sawNewline(): boolean {
    return this.#sawNewline;
  }

  /**
   * Feeds one chunk. Calls `sink` for every line it completes, in order,
   * until the sink returns `false`. Returns how many bytes of `chunk` it
   * took: all of them, unless the sink stopped it, in which case it took the
   * bytes up to the end of that line, and `chunk.subarray(taken)` may be
   * pushed later to go on from there.
   */
  push(chunk: Uint8Array, sink: LineSink): number {
    let pos = 0;
    if (this.#skipping) {
      // PROTOCOL.md: after an over-long line, skip to the next `\n`.
      const nl = chunk.indexOf(LF);
      if (nl === -1) return chunk.length;
      this.#skipping = false;
      this.#sawNewline = true;
      pos = nl + 1;
    }
    if (this.#pendingLength > 0) {
      const nl = chunk.indexOf(LF, pos);
      if (nl === -1) {
        this.#hold(chunk.subarray(pos), sink);
        return chunk.length;
      }
      this.#sawNewline = true;
      const rest = chunk.subarray(pos, nl);
      let go: boolean;
      if (this.#pendingLength + rest.length > this.maxLineBytes) {
        this.#release();
        go = sink.bad("too-long");
      } else {
        this.#append(rest);
        go = this.#emitPending(sink);
      }
      pos = nl + 1;
      if (!go) return pos;
    }
    const last = chunk.lastIndexOf(LF);
    if (last >= pos) {
      this.#sawNewline = true;
      const stoppedAt = this.#emitRun(chunk, pos, last, sink);
      if (stoppedAt !== -1) return stoppedAt;
      pos = last + 1;
    }
    // The rest is a partial line. If it is too long, the sink hears so at
    // once; whatever it answers, the rest of the chunk is that line's.
    if (pos < chunk.length) this.#hold(chunk.subarray(pos), sink);
    return chunk.length;
  }

  /**
   * Ends the partial line held, as if its `\n` had come: at the end of the
   * stream, or when an unframed client's line has sat unchanged for the pause.
   */
  flush(sink: LineSink): boolean {
    if (this.#skipping) {
      this.#skipping = false;
      return true;
    }
    return this.#pendingLength === 0 || this.#emitPending(sink);
  }

  /** Appends bytes to the partial line, or reports it too long and starts skipping. */
  #hold(bytes: Uint8Array, sink: LineSink): void {
    if (this.#pendingLength + bytes.length > this.maxLineBytes) {
      this.#release();
      this.#skipping = true;
      sink.bad("too-long");
      return;
    }
    this.#append(bytes);
  }

  #append(bytes: Uint8Array): void {
    const length = this.#pendingLength + bytes.length;
    if (length > this.#pending.length) {
      const grown = new Uint8Array(
        Math.min(
          this.maxLineBytes,
          Math.max(length, 2 * this.#pending.length, 256),
        ),
      );
      grown.set(this.#pending.subarray(0, this.#pendingLength));
      this.#pending = grown;
    }
    this.#pending.set(bytes, this.#pendingLength);
    this.#pendingLength = length;
  }

  #emitPending(sink: LineSink): boolean {
    const bytes = this.#pending.subarray(0, this.#pendingLength);
    this.#pendingLength = 0;
    const go = this.#emitLine(bytes, 0, bytes.length, this.#isUtf8(bytes, 0, bytes.length), sink);
    if (this.#pending.length > KEEP_PENDING_BYTES) this.#release();
    return go;
  }

  #release(): void {
    this.#pending = new Uint8Array(0);
    this.#pendingLength = 0;
  }

  /**
   * Emits the complete lines of `chunk[from, to]`, where `chunk[to]` is a
   * `\n`. Returns -1, or where the sink stopped it: just past that line.
   */
  #emitRun(chunk: Uint8Array, from: number, to: number, sink: LineSink): number {
    const valid = this.#isUtf8(chunk, from, to);
    for (let start = from; start <= to;) {
      // A plain loop: for lines of tens of bytes, a call to indexOf() costs
      // more than the scan. It stops at `to` at the latest.
      let nl = start;
      while (chunk[nl] !== LF) nl++;
      if (!this.#emitLine(chunk, start, nl, valid, sink)) return nl + 1;
      start = nl + 1;
    }
    return -1;
  }

  /** `valid`: whether the line is already known to be UTF-8 (else it is checked). */
  #emitLine(
    bytes: Uint8Array,
    start: number,
    end: number,
    valid: boolean,
    sink: LineSink,
  ): boolean {
    if (end - start > this.maxLineBytes) return sink.bad("too-long");
    if (end > start && bytes[end - 1] === CR) end--;
    if (!valid && !this.#isUtf8(bytes, start, end)) return sink.bad("invalid-utf8");
    return sink.line(bytes, start, end);
  }

  /**
   * Whether `bytes[start, end)` is valid UTF-8: ASCII bytes are skipped by a
   * scan (faster than a TextDecoder call at any size measured), and only
   * from the first other byte on is the rest decoded strictly.
   */
  #isUtf8(bytes: Uint8Array, start: number, end: number): boolean {
    let i = start;
    while (i < end && bytes[i]! < 0x80) i++;
    if (i === end) return true;
    try {
      this.#decoder.decode(bytes.subarray(i, end));
      return true;
    } catch {
      return false;
    }
  }
}
