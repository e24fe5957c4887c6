/**
 * {@linkcode RespFramer}: the reading side of Redis's protocol (RESP), as
 * Redis 7 reads it: a request is an array of bulk strings
 * (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`), found in place in the bytes read; a
 * line that does not start with `*` is an inline command (`PING\r\n`). A
 * request that breaks the framing is answered `-ERR Protocol error: ...` and
 * the connection closes, as Redis does (PROTOCOL.md, Redis clients). The
 * command a framed request names is found by lookup.ts.
 *
 * @module
 */

import type { Request } from "../../command/request.ts";
import { type BufferPool, OWN_BYTES, POOLED_BYTES, sharedPool } from "../buffer_pool.ts";
import type { AuthState, Framer } from "../framer.ts";
import { type PendingBudget, unbounded } from "../pending_budget.ts";
import { SplitBuffer } from "../split_buffer.ts";
import { redisErrorText } from "./reply.ts";
import { splitInline } from "./inline.ts";
import { resolveCommand } from "./lookup.ts";
import * as limits from "./limits.ts";
import { fitsInt64, limitNote, tooLargeText } from "./limits.ts";
import { SplitProgress } from "./split_progress.ts";

const CR = 0x0d;
const LF = 0x0a;
const STAR = 0x2a;
const DOLLAR = 0x24;
const EMPTY = new Uint8Array(0);
// limits.ts's, as constants of this module's own: they are read for every
// element of every request, and a read of an import there measured slower.
const MAX_HEADER_BYTES = limits.MAX_HEADER_BYTES;
const MAX_ELEMENTS = limits.MAX_ELEMENTS;
const UNAUTHENTICATED_ELEMENTS = limits.UNAUTHENTICATED_ELEMENTS;
const UNAUTHENTICATED_BULK_BYTES = limits.UNAUTHENTICATED_BULK_BYTES;
const REDIS_MAX_ELEMENTS = limits.REDIS_MAX_ELEMENTS;
const REDIS_MAX_BULK_BYTES = limits.REDIS_MAX_BULK_BYTES;

/** Frames RESP requests from a connection's bytes. */
export class RespFramer implements Framer {
  readonly #maxRequestBytes: number;
  // The session while it has not authenticated; then undefined, for good.
  #auth: AuthState | undefined;
  #source: Uint8Array = EMPTY; // The bytes requests are taken from.
  #length = 0; // How many bytes of #source are data.
  #pos = 0;
  // Where a request split across reads is gathered, from #split (which
  // grows it, lends it, and counts it against the budget); whether feed()
  // found no room in the budget.
  #own: Uint8Array = EMPTY;
  readonly #split: SplitBuffer;
  #noRoom = false;
  #broken = false;
  #tooBig = ""; // Which header line ran past its limit.
  #next = 0; // Where the line after the number #number() read starts.
  // A request split across reads, and how far it was parsed (its arguments
  // so far stay in #partial's arrays).
  #partial: Request | undefined;
  readonly #progress = new SplitProgress();

  /**
   * A request, headers and all, may hold up to `maxRequestBytes`
   * bytes; while `auth` has not authenticated, Redis's smaller limits apply.
   * `pool` lends the buffer of a request split across reads past 4 KiB, and
   * `budget` bounds such buffers over all connections (none by default).
   */
  constructor(
    maxRequestBytes: number,
    auth?: AuthState,
    pool: BufferPool = sharedPool,
    budget: PendingBudget = unbounded(),
  ) {
    this.#maxRequestBytes = maxRequestBytes;
    this.#split = new SplitBuffer(pool, budget);
    if (auth !== undefined && !auth.authenticated) this.#auth = auth;
  }

  /** Whether the connection has yet to authenticate. */
  #locked(): boolean {
    const auth = this.#auth;
    if (auth === undefined) return false;
    if (!auth.authenticated) return true;
    this.#auth = undefined; // AUTH succeeded: nothing takes it back.
    return false;
  }

  get pendingBytes(): number {
    return this.#source === this.#own ? this.#length - this.#pos : 0;
  }

  /** RESP has no unframed pause (PROTOCOL.md, Unframed clients is the line protocol's). */
  get awaitsUnframed(): boolean {
    return false;
  }

  /** A RESP request is always ended by its own lengths. */
  get endedWithoutNewline(): boolean {
    return false;
  }

  feed(chunk: Uint8Array): void {
    // Nothing held (#own may still be EMPTY, and so #source): read in place.
    if (this.#source !== this.#own || this.#length === 0) {
      this.#source = chunk;
      this.#length = chunk.length;
      this.#pos = 0;
      return;
    }
    // A request is split across reads: gather it behind what is held.
    const rest = this.#length - this.#pos;
    if (!this.#hold(this.#own.subarray(this.#pos, this.#length), rest + chunk.length)) {
      // No room for it in the budget: next() refuses it, and what was held goes.
      this.#noRoom = true;
      this.#source = EMPTY;
      this.#length = this.#pos = 0;
      this.#dropOwn();
      return;
    }
    this.#own.set(chunk, rest);
    this.#length = rest + chunk.length;
  }

  /**
   * Makes #own the source, holding `bytes` at its start, with room for
   * `room` bytes; `false` (nothing changed) if that would grow it past what
   * the budget has left.
   */
  #hold(bytes: Uint8Array, room: number): boolean {
    if (room > this.#own.length) {
      const size = Math.max(room, 2 * this.#own.length, OWN_BYTES);
      const own = this.#split.grow(this.#own, bytes, size);
      if (own === undefined) return false;
      this.#own = own;
    } else if (bytes.buffer !== this.#own.buffer || bytes.byteOffset !== this.#own.byteOffset) {
      this.#own.set(bytes); // set() copies an overlapping view of the same buffer correctly
    }
    this.#source = this.#own;
    this.#length = bytes.length;
    this.#pos = 0;
    return true;
  }

  /** Lets go of a borrowed or big #own (holding nothing now), and of what it took from the budget. */
  #dropOwn(): void {
    this.#own = this.#split.drop(this.#own);
  }

  /** RESP has no partial request that the end of the stream completes. */
  end(): void {}

  release(): void {
    if (this.pendingBytes === 0) this.#own = this.#split.release(this.#own);
  }

  /**
   * The connection has ended: its partial request no longer counts against
   * the budget, and its buffer goes (back to the pool, or freed if big).
   */
  close(): void {
    this.#source = EMPTY;
    this.#length = this.#pos = 0;
    this.#split.drop(this.#own);
    this.#own = EMPTY;
  }

  next(into: Request): boolean {
    while (!this.#broken && this.#pos < this.#length) {
      const got = this.#source[this.#pos] === STAR ? this.#multibulk(into) : this.#inline(into);
      if (got === "request") return true;
      if (got === "skip") continue;
      // Incomplete: keep the rest (a copy, if it lies in the caller's chunk).
      if (this.#source !== this.#own) {
        const rest = this.#source.subarray(this.#pos, this.#length);
        if (!this.#hold(rest, rest.length)) return this.#refuse(into);
      } else if (this.#pos > 0 && this.#own.length > POOLED_BYTES) {
        // A big request has run out of #own, and the start of the next one
        // follows it: the big buffer goes now, as the line framer's does,
        // not once that request is done (a client idle there kept it, and
        // its share of the budget, for as long as it idled).
        this.#own = this.#split.shrink(this.#own, this.#own.subarray(this.#pos, this.#length));
        this.#source = this.#own;
        this.#length -= this.#pos;
        this.#pos = 0;
      }
      return false;
    }
    // All taken: the next chunk is read in place again.
    this.#source = EMPTY;
    this.#length = this.#pos = 0;
    if (this.#own.length > POOLED_BYTES) this.#dropOwn();
    if (this.#noRoom) return this.#refuse(into);
    return false;
  }

  /**
   * The request split across reads had no room to grow in the budget of
   * all connections' partial requests: refused, and the connection closes,
   * as Redis closes a client past its query buffer's limit.
   */
  #refuse(into: Request): boolean {
    this.#noRoom = false;
    this.#source = EMPTY;
    this.#length = this.#pos = 0;
    this.#dropOwn();
    this.#broken = true;
    this.#partial = undefined;
    into.failsUnshown({
      kind: "protocol",
      text: redisErrorText({ kind: "pendingFull", limitBytes: this.#split.limitBytes }),
    });
    return true;
  }

  /** Parses `*N\r\n` and N bulk strings at #pos, or resumes the request split there. */
  #multibulk(into: Request): "request" | "skip" | "incomplete" {
    const bytes = this.#source;
    const start = this.#pos;
    let count: number;
    let i = 0; // Elements parsed.
    let at: number; // Where the next element starts.
    let nameStart = 0;
    let nameEnd = 0;
    let bulkStart = -1;
    let bulkLength = 0;
    if (this.#partial !== undefined && this.#resumes(into, start)) {
      const kept = this.#progress;
      count = kept.count;
      i = kept.done;
      at = kept.at;
      nameStart = kept.nameStart;
      nameEnd = kept.nameEnd;
      bulkStart = kept.bulkStart;
      bulkLength = kept.bulkLength;
      kept.bulkStart = -1;
      into.bytes = bytes;
    } else {
      const n = this.#number(start + 1, "mbulk count");
      if (n !== n) return this.#brokenOr(into); // NaN: incomplete
      const afterCount = this.#next;
      if (n > MAX_ELEMENTS || (n > UNAUTHENTICATED_ELEMENTS && this.#locked())) {
        const locked = n <= REDIS_MAX_ELEMENTS && this.#locked();
        return this.#fail(into, `${locked ? "unauthenticated" : "invalid"} multibulk length`);
      }
      if (n <= 0) {
        this.#pos = afterCount; // Redis ignores an empty array.
        return "skip";
      }
      count = n;
      at = afterCount;
      into.bytes = bytes;
      into.count = 0;
    }
    for (; i < count; i++) {
      let dataStart = bulkStart;
      let length = bulkLength;
      if (bulkStart === -1) {
        if (at >= this.#length) return this.#suspend(into, start, count, i, at, nameStart, nameEnd);
        if (bytes[at] !== DOLLAR) {
          const got = String.fromCharCode(bytes[at]!);
          return this.#fail(into, `expected '$', got '${got}'`);
        }
        const n = this.#number(at + 1, "bulk count");
        if (n !== n) { // NaN: incomplete
          if (this.#broken) return this.#fail(into, this.#tooBig);
          return this.#suspend(into, start, count, i, at, nameStart, nameEnd);
        }
        if (
          n < 0 || n > this.#maxRequestBytes || n > REDIS_MAX_BULK_BYTES ||
          (n > UNAUTHENTICATED_BULK_BYTES && this.#locked())
        ) {
          const locked = n >= 0 && n <= REDIS_MAX_BULK_BYTES && this.#locked();
          if (locked) return this.#fail(into, "unauthenticated bulk length");
          // Past kv's limit and not Redis's: say which limit, and how to raise it.
          const ours = n > this.#maxRequestBytes && n <= REDIS_MAX_BULK_BYTES;
          return this.#fail(
            into,
            `invalid bulk length${ours ? limitNote(this.#maxRequestBytes) : ""}`,
          );
        }
        dataStart = this.#next;
        length = n;
      } else {
        bulkStart = -1;
      }
      const dataEnd = dataStart + length;
      if (dataEnd + 2 > this.#length) {
        this.#progress.bulkStart = dataStart;
        this.#progress.bulkLength = length;
        return this.#suspend(into, start, count, i, at, nameStart, nameEnd);
      }
      if (i === 0) {
        nameStart = dataStart;
        nameEnd = dataEnd;
      } else {
        into.addArg(dataStart, dataEnd);
      }
      at = dataEnd + 2; // Like Redis, the CRLF after the data is not checked.
    }
    // PROTOCOL.md: a request larger than the limit, headers and all, is refused
    // whether it came in one read or in many.
    if (at - start > this.#maxRequestBytes) {
      return this.#fail(into, tooLargeText(this.#maxRequestBytes));
    }
    this.#pos = at;
    into.rawStart = start;
    into.rawEnd = at;
    resolveCommand(into, bytes, nameStart, nameEnd);
    return "request";
  }

  /** Whether the request split at `start` can be resumed into `into` (SplitProgress.resumes). */
  #resumes(into: Request, start: number): boolean {
    const partial = this.#partial;
    this.#partial = undefined;
    return this.#progress.resumes(partial, into, start);
  }

  /**
   * Keeps how far the request at `start` was parsed (the progress's
   * bulkStart and bulkLength are set by the caller, or -1), then waits for
   * more bytes.
   */
  #suspend(
    into: Request,
    start: number,
    count: number,
    done: number,
    at: number,
    nameStart: number,
    nameEnd: number,
  ): "request" | "incomplete" {
    this.#partial = into;
    this.#progress.keep(start, count, done, at, nameStart, nameEnd);
    return this.#incomplete(into, start);
  }

  /**
   * Reads the decimal number (as Redis's string2ll does) that starts at
   * `from` and ends at `\r\n`, and sets #next to where the next line
   * starts. Returns `NaN` if the line is incomplete (or too long: then
   * #broken is set), `Infinity` if it is not a number. (No tuple: this runs
   * for every string of every request.)
   */
  #number(from: number, what: string): number {
    const bytes = this.#source;
    let cr = from;
    while (cr < this.#length && bytes[cr] !== CR) cr++;
    if (cr + 1 >= this.#length) {
      // Redis counts the line's bytes from its `*` or `$`, the byte before `from`.
      if (this.#length - (from - 1) > MAX_HEADER_BYTES) {
        this.#broken = true;
        this.#tooBig = `too big ${what} string`;
      }
      return NaN;
    }
    this.#next = cr + 2;
    let value = 0;
    let negative = false;
    let i = from;
    if (bytes[i] === 0x2d) {
      negative = true;
      i++;
    }
    const digitsStart = i;
    for (; i < cr; i++) {
      const digit = bytes[i]! - 0x30;
      if (digit < 0 || digit > 9) return Infinity;
      value = value * 10 + digit;
    }
    // string2ll: no leading zero, and `-0` is not a number either.
    const zero = bytes[digitsStart] === 0x30;
    if (i === digitsStart || (zero && (negative || i - digitsStart > 1))) return Infinity;
    // Nor one outside a 64-bit integer (`*-99999999999999999999`).
    if (i - digitsStart >= 19 && !fitsInt64(bytes, digitsStart, i, negative)) return Infinity;
    return negative ? -value : value;
  }

  /** After #number() returned NaN: an error if it found one, else wait for more bytes. */
  #brokenOr(into: Request, start = this.#pos): "request" | "incomplete" {
    if (!this.#broken) return this.#incomplete(into, start);
    return this.#fail(into, this.#tooBig);
  }

  /** A request not complete yet; an error if it has grown past the limit. */
  #incomplete(into: Request, start: number): "request" | "incomplete" {
    this.#pos = start;
    if (this.#length - start > this.#maxRequestBytes) {
      return this.#fail(into, tooLargeText(this.#maxRequestBytes));
    }
    return "incomplete";
  }

  /** An inline request: one line of words separated by spaces (Redis's sdssplitargs). */
  #inline(into: Request): "request" | "skip" | "incomplete" {
    const bytes = this.#source;
    const start = this.#pos;
    let nl = start;
    while (nl < this.#length && bytes[nl] !== LF) nl++;
    // kv's limit for any request; Redis's own for an inline line still
    // without its end (a whole one may be longer, as in Redis).
    if (nl - start > this.#maxRequestBytes) {
      return this.#fail(into, tooLargeText(this.#maxRequestBytes));
    }
    if (nl === this.#length) {
      if (nl - start > MAX_HEADER_BYTES) return this.#fail(into, "too big inline request");
      return "incomplete";
    }
    this.#pos = nl + 1;
    const end = nl > start && bytes[nl - 1] === CR ? nl - 1 : nl;
    const words = splitInline(bytes, start, end);
    if (words === null) return this.#fail(into, "unbalanced quotes in request");
    if (words.length === 0) return "skip";
    // The words are copies (quotes and escapes undone): one buffer for all.
    let total = 0;
    for (const word of words) total += word.length;
    const own = new Uint8Array(total);
    into.bytes = own;
    into.count = 0;
    let at = 0;
    for (let i = 0; i < words.length; i++) {
      own.set(words[i]!, at);
      if (i > 0) into.addArg(at, at + words[i]!.length);
      at += words[i]!.length;
    }
    into.rawStart = 0;
    into.rawEnd = total;
    resolveCommand(into, own, 0, words[0]!.length);
    return "request";
  }

  #fail(into: Request, text: string): "request" {
    this.#broken = true;
    this.#partial = undefined;
    into.failsUnshown({ kind: "protocol", text: `ERR Protocol error: ${text}` });
    return "request";
  }
}
