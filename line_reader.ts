/**
 * Splits a connection's byte stream into request lines: `\n` ends a line, a
 * `\r` right before it is dropped, each line is decoded as strict UTF-8, and
 * no line may hold more than `maxLineBytes` bytes. Pure: it is fed chunks and
 * calls a {@linkcode LineSink}; it never touches a socket.
 *
 * @module
 */

/** Receives what a {@linkcode LineReader} finds. Return `false` to stop reading. */
export interface LineSink {
  /**
   * A complete line, decoded, without its `\n` (or `\r\n`): the line is
   * `text.slice(start, end)`. It comes as bounds within a larger string so
   * that the hot path makes no string per line.
   */
  line(text: string, start: number, end: number): boolean;
  /** A line that is not valid UTF-8, or one longer than the limit. */
  bad(problem: LineProblem): boolean;
}

/** Why a line could not be read. */
export type LineProblem = "invalid-utf8" | "too-long";

const LF = 0x0a;
const CR = 0x0d;
// Runs of lines up to this size take the ASCII fast path of asciiText();
// past it one TextDecoder call is cheaper (measured crossover ~200 bytes).
const SMALL_RUN_BYTES = 128;
// Past this size the pending buffer is dropped once its line is done, so one
// long line does not pin a megabyte to an otherwise idle connection.
const KEEP_PENDING_BYTES = 64 * 1024;

/**
 * A bounded line splitter over bytes.
 *
 * Whole runs of complete lines are decoded at once (one `TextDecoder` call per
 * chunk, not per line); only when such a run is not valid UTF-8 is it decoded
 * line by line, so that a bad line costs only itself. `\n` (0x0A) never occurs
 * inside a multi-byte UTF-8 character, so splitting on bytes first is safe
 * even when a chunk boundary falls inside a character.
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
   * Feeds one chunk. Calls `sink` for every line it completes, in order.
   * Returns `false` once the sink asked to stop; the rest is then discarded.
   */
  push(chunk: Uint8Array, sink: LineSink): boolean {
    let pos = 0;
    if (this.#skipping) {
      // PROTOCOL.md: after an over-long line, skip to the next `\n`.
      const nl = chunk.indexOf(LF);
      if (nl === -1) return true;
      this.#skipping = false;
      this.#sawNewline = true;
      pos = nl + 1;
    }
    if (this.#pendingLength > 0) {
      const nl = chunk.indexOf(LF, pos);
      if (nl === -1) return this.#hold(chunk.subarray(pos), sink);
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
      if (!go) return false;
      pos = nl + 1;
    }
    const last = chunk.lastIndexOf(LF);
    if (last >= pos) {
      this.#sawNewline = true;
      if (!this.#emitRun(chunk.subarray(pos, last), sink)) return false;
      pos = last + 1;
    }
    return pos === chunk.length || this.#hold(chunk.subarray(pos), sink);
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
  #hold(bytes: Uint8Array, sink: LineSink): boolean {
    if (this.#pendingLength + bytes.length > this.maxLineBytes) {
      this.#release();
      this.#skipping = true;
      return sink.bad("too-long");
    }
    this.#append(bytes);
    return true;
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
    const go = this.#emitLine(bytes, sink);
    if (this.#pending.length > KEEP_PENDING_BYTES) this.#release();
    return go;
  }

  #release(): void {
    this.#pending = new Uint8Array(0);
    this.#pendingLength = 0;
  }

  /** Emits a run of complete lines (`bytes` ends just before a `\n`). */
  #emitRun(bytes: Uint8Array, sink: LineSink): boolean {
    let text = bytes.length <= SMALL_RUN_BYTES ? asciiText(bytes) : undefined;
    if (text === undefined) {
      try {
        text = this.#decoder.decode(bytes);
      } catch {
        return this.#emitEach(bytes, sink);
      }
    }
    // Line lengths are checked in bytes; a UTF-16 unit is at most 3 bytes,
    // so only a run that long can hold a line over the limit.
    const measure = text.length * 3 > this.maxLineBytes;
    let start = 0;
    while (true) {
      const nl = text.indexOf("\n", start);
      const end = nl === -1 ? text.length : nl;
      const go = measure && utf8Length(text, start, end) > this.maxLineBytes
        ? sink.bad("too-long")
        : sink.line(text, start, end > start && text.charCodeAt(end - 1) === CR ? end - 1 : end);
      if (!go) return false;
      if (nl === -1) return true;
      start = nl + 1;
    }
  }

  /** The slow path: decodes line by line so a bad line costs only itself. */
  #emitEach(bytes: Uint8Array, sink: LineSink): boolean {
    let start = 0;
    while (true) {
      const nl = bytes.indexOf(LF, start);
      const end = nl === -1 ? bytes.length : nl;
      if (!this.#emitLine(bytes.subarray(start, end), sink)) return false;
      if (nl === -1) return true;
      start = nl + 1;
    }
  }

  #emitLine(bytes: Uint8Array, sink: LineSink): boolean {
    if (bytes.length > this.maxLineBytes) return sink.bad("too-long");
    const end = bytes.length > 0 && bytes[bytes.length - 1] === CR
      ? bytes.length - 1
      : bytes.length;
    let text: string;
    try {
      text = this.#decoder.decode(bytes.subarray(0, end));
    } catch {
      return sink.bad("invalid-utf8");
    }
    return sink.line(text, 0, text.length);
  }
}

/**
 * Decodes a short run of bytes if all are ASCII (where UTF-8 and char codes
 * agree); `undefined` otherwise. A `TextDecoder` call costs a fixed ~200 ns,
 * which is most of the work for a lone request of 30 bytes: this is the fast
 * path of a client with one request in flight.
 */
function asciiText(bytes: Uint8Array): string | undefined {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return undefined;
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/** The UTF-8 length of `text.slice(start, end)` (well-formed), without encoding it. */
function utf8Length(text: string, start: number, end: number): number {
  let bytes = end - start;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x800) bytes += code >= 0xd800 && code <= 0xdfff ? 1 : 2;
    else if (code >= 0x80) bytes += 1;
  }
  return bytes;
}
