/**
 * {@linkcode Arena}: where {@linkcode MemoryStore}'s pairs live. Each pair is
 * a record (a header, its key's bytes, its value's bytes) appended to one
 * growable buffer. A record replaced or deleted stays as garbage (no slot
 * points at it) until the arena is compacted, which happens when half of it is
 * garbage and it needs room: the table then moves every live record in one
 * walk of its slots.
 *
 * Past 64 MiB the buffer grows in place (a resizable `ArrayBuffer` whose cap
 * is reserved, not allocated), compacts in place (its live records slide
 * down in address order) and shrinks to give memory back: doubling or
 * compacting a gigabyte by copying it into a fresh buffer held every client
 * for seconds.
 *
 * The table (table.ts) knows records only by their offset and reads them
 * through this file's accessors, so the layout below is said once.
 *
 * @module
 */

import { StoreFullError } from "./store.ts";

// A record, aligned to 4 bytes for the arena's Uint32Array view:
//   word 0: flags (bits 29 and 30) and the key's length
//   word 1: the value's length
//   words 2-3, only with EXPIRES: the expiry in ms, low 32 bits then high
//   the key's bytes, then the value's, padded to a multiple of 4;
//   only with SPARE: one more word, the record's whole size in bytes, and
//   room after it that APPEND grows the value into (arena_extend.ts).
const HEADER_BYTES = 8;
const EXPIRY_BYTES = 8;
/** Flag: the record has an expiry (words 2-3). */
export const EXPIRES = 0x4000_0000;
/** Flag: the value was written as line-protocol text. */
export const TEXT = 0x2000_0000;
/** Flag: the record has room after its value (its size is the word after the padded value). */
export const SPARE = 0x8000_0000;
/** Mask of the key's length in word 0. */
export const KEY_LENGTH = 0x1fff_ffff;
/** The smallest arena, in bytes. */
export const MIN_ARENA_BYTES = 1024;
/** The largest: offsets live in an Int32Array (offset + 1), so the arena stops at 2 GiB. */
export const MAX_ARENA_BYTES = 2 ** 31 - 8;
const TWO_32 = 2 ** 32;
// Past this size the arena grows in place (a resizable ArrayBuffer with its
// cap reserved) instead of by copying: doubling a gigabyte by copying held
// the server for seconds. Below it, copies are short, and a plain buffer's
// views are faster to read (measured: GET/PUT on the store alone 10-16%).
const GROW_IN_PLACE_BYTES = 64 * 1024 * 1024;

/**
 * Moves every live record during a compaction: the table calls `move` with
 * each live record's offset and stores the offset it returns.
 */
export type Relocate = (move: (record: number) => number) => void;

/** The records of a {@linkcode MemoryStore}, in one growable buffer. */
export class Arena {
  /** The buffer. Below 64 MiB, replaced when the arena grows or is compacted; past it, resized. */
  bytes: Uint8Array = new Uint8Array(MIN_ARENA_BYTES);
  /** The same buffer as 32-bit words (record headers). */
  words: Uint32Array = new Uint32Array(this.bytes.buffer);
  /** Bytes in use, live or not. */
  top = 0;
  /** Bytes of live records. */
  liveBytes = 0;
  /** Live records with an expiry. */
  expiring = 0;
  readonly #maxBytes: number;
  readonly #relocate: Relocate;
  // Loading a log (see load()): the cap is lifted and no room is kept to spare.
  #loading = false;

  /**
   * An empty arena of at most `maxBytes`; `relocate` moves the table's
   * records when it compacts. Throws `RangeError` for a size it cannot use.
   */
  constructor(maxBytes: number, relocate: Relocate) {
    if (
      !Number.isInteger(maxBytes) || maxBytes < MIN_ARENA_BYTES || maxBytes > MAX_ARENA_BYTES ||
      maxBytes % 4 !== 0
    ) {
      throw new RangeError(
        `Cannot use maxArenaBytes ${maxBytes}: expected a multiple of 4 from ${MIN_ARENA_BYTES} to ${MAX_ARENA_BYTES}`,
      );
    }
    this.#maxBytes = maxBytes;
    this.#relocate = relocate;
  }

  /** Empties it, giving its memory back. */
  reset(): void {
    const buffer = this.bytes.buffer as ArrayBuffer;
    if (buffer.resizable) buffer.resize(0); // Its pages go back now, not at some later GC.
    this.bytes = new Uint8Array(MIN_ARENA_BYTES);
    this.words = new Uint32Array(this.bytes.buffer);
    this.top = 0;
    this.liveBytes = 0;
    this.expiring = 0;
  }

  /**
   * Bytes of records that appends surely find room for now, with no
   * {@linkcode StoreFullError} (keys within {@linkcode KEY_LENGTH}): up to
   * the cap while the arena may still grow, else what is left above its
   * top. A compaction may find more; this does not count on one.
   */
  room(): number {
    return (this.bytes.length >= this.#maxBytes ? this.bytes.length : this.#maxBytes) - this.top;
  }

  /**
   * Begins (`true`) or ends (`false`) the load of a log ({@linkcode Store.load}
   * says why): meanwhile the arena grows past its cap, up to
   * {@linkcode MAX_ARENA_BYTES}, and compacts for any garbage. The end brings
   * it back within its cap, first dropping the room records keep to spare if
   * they take more (a record then takes no more than in the store that wrote
   * the log), or throws {@linkcode StoreFullError}: a log of a larger cap.
   */
  load(on: boolean): void {
    this.#loading = on;
    if (on || this.bytes.length <= this.#maxBytes) return;
    if (this.liveBytes > this.#maxBytes) this.#dropSpare();
    if (this.liveBytes > this.#maxBytes) {
      throw new StoreFullError(
        `Cannot hold the data loaded: it takes ${this.liveBytes} bytes, more than the store's ` +
          `${this.#maxBytes}`,
      );
    }
    this.#rebuild(this.#maxBytes, true);
  }

  /** Word 0 of a record: its flags and its key's length. */
  header(record: number): number {
    return this.words[record >>> 2]!;
  }

  /** The length of a record's value. */
  valueLength(record: number): number {
    return this.words[(record >>> 2) + 1]!;
  }

  /** Where a record's key starts: after its header and any expiry words (`word`: its word 0). */
  keyStart(record: number, word: number): number {
    return record + HEADER_BYTES + (word & EXPIRES ? EXPIRY_BYTES : 0);
  }

  /** A record's expiry in ms, or 0 if it has none. */
  expireAt(record: number): number {
    if ((this.words[record >>> 2]! & EXPIRES) === 0) return 0;
    return this.words[(record >>> 2) + 2]! + this.words[(record >>> 2) + 3]! * TWO_32;
  }

  /** Sets the expiry of a record that has the words for it. */
  writeExpiry(record: number, expireAt: number): void {
    this.words[(record >>> 2) + 2] = expireAt % TWO_32;
    this.words[(record >>> 2) + 3] = Math.floor(expireAt / TWO_32);
  }

  /** Whether a record's key is `key[start, end)`. */
  keyEquals(record: number, key: Uint8Array, start: number, end: number): boolean {
    const word = this.words[record >>> 2]!;
    if ((word & KEY_LENGTH) !== end - start) return false;
    const bytes = this.bytes;
    for (let i = start, at = this.keyStart(record, word); i < end; i++, at++) {
      if (bytes[at] !== key[i]) return false;
    }
    return true;
  }

  /**
   * Overwrites a record's value in place if the new one has the same length
   * and layout (`flags`' EXPIRES as the record's); returns whether it did.
   */
  overwrite(
    record: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
    flags: number,
    expireAt: number,
  ): boolean {
    const word = this.words[record >>> 2]!;
    if (
      this.words[(record >>> 2) + 1] !== valueEnd - valueStart ||
      (word & EXPIRES) !== (flags & EXPIRES)
    ) {
      return false;
    }
    // The value keeps its length, so a SPARE record keeps its size word where it was.
    this.words[record >>> 2] = (word & (KEY_LENGTH | SPARE)) | flags;
    if (expireAt > 0) this.writeExpiry(record, expireAt);
    const at = this.keyStart(record, flags) + (word & KEY_LENGTH);
    if (valueEnd - valueStart <= 32) {
      // Short values (most) by hand: `set` + `subarray` cost more.
      const bytes = this.bytes;
      for (let i = valueStart, to = at; i < valueEnd; i++, to++) bytes[to] = value[i]!;
    } else {
      this.bytes.set(value.subarray(valueStart, valueEnd), at);
    }
    return true;
  }

  /**
   * Appends a copy of a record's pair with `flags` and `expireAt` (a new
   * layout: it gains or loses its expiry words); returns the copy's offset.
   * The old record stays live, and may have moved (compaction): the caller
   * kills it where its slot now points.
   */
  copy(record: number, flags: number, expireAt: number): number {
    const word = this.words[record >>> 2]!;
    const keyLength = word & KEY_LENGTH;
    const keyStart = this.keyStart(record, word);
    const valueStart = keyStart + keyLength;
    const valueEnd = valueStart + this.valueLength(record);
    // append() copies the pair out first if it has to make room.
    return this.append(
      this.bytes,
      keyStart,
      valueStart,
      this.bytes,
      valueStart,
      valueEnd,
      flags,
      expireAt,
    );
  }

  /** Counts a record as garbage: no slot points at it any more (its pair was deleted or moved). */
  kill(record: number): void {
    if (this.words[record >>> 2]! & EXPIRES) this.expiring--;
    this.liveBytes -= sizeOf(this.words, record);
  }

  /**
   * Writes a new record at the top; returns its offset. Throws
   * {@linkcode StoreFullError} (changing nothing) if it does not fit.
   * Making room may compact: live records then move (the table is told).
   * With `reclaim`, an arena at its cap compacts for any garbage it holds
   * (WriteOptions.reclaim), not only for an eighth of it.
   */
  append(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
    flags: number,
    expireAt: number,
    reclaim = false,
  ): number {
    const keyLength = keyEnd - keyStart;
    const valueLength = valueEnd - valueStart;
    if (keyLength > KEY_LENGTH) {
      throw new StoreFullError(`Cannot store a key of ${keyLength} bytes (at most ${KEY_LENGTH})`);
    }
    const word = (flags | keyLength) >>> 0;
    const bytes = recordBytes(word, valueLength);
    if (this.top + bytes > this.bytes.length) {
      // A key or value lying in this arena (copy()'s, or a value set again
      // from inside get()) may move as room is made: copy it out first.
      const own = this.bytes.buffer;
      if (key.buffer === own) {
        key = key.slice(keyStart, keyEnd);
        keyEnd -= keyStart;
        keyStart = 0;
      }
      if (value.buffer === own) {
        value = value.slice(valueStart, valueEnd);
        valueEnd -= valueStart;
        valueStart = 0;
      }
      this.makeRoom(bytes, reclaim);
    }
    const record = this.top;
    this.words[record >>> 2] = word;
    this.words[(record >>> 2) + 1] = valueLength;
    if (flags & EXPIRES) {
      this.writeExpiry(record, expireAt);
      this.expiring++;
    }
    const keyAt = this.keyStart(record, word);
    this.bytes.set(key.subarray(keyStart, keyEnd), keyAt);
    this.bytes.set(value.subarray(valueStart, valueEnd), keyAt + keyLength);
    this.top += bytes;
    this.liveBytes += bytes;
    return record;
  }

  /**
   * Makes room for a record of `bytes` above the top, or throws
   * {@linkcode StoreFullError} changing nothing. When at least half of the
   * arena is garbage, the live records are copied into a fresh one
   * (compaction), otherwise it doubles. Either way each byte is copied O(1)
   * times on average. Live records may move (the table is told); a record's
   * bytes read before it may be stale after it.
   */
  makeRoom(bytes: number, reclaim: boolean): void {
    // A load goes past the cap (see load()).
    const max = this.#loading ? MAX_ARENA_BYTES : this.#maxBytes;
    const needed = this.liveBytes + bytes;
    let compact = this.liveBytes <= this.top / 2;
    let length = compact ? MIN_ARENA_BYTES : this.bytes.length;
    while (length < (compact ? 2 * needed : this.top + bytes)) length *= 2;
    if (length > max) {
      // Once the arena is at the cap, compact only to win back a real share
      // of it: compacting for a few bytes would copy the whole store on
      // every PUT.
      const garbage = this.top - this.liveBytes;
      const atCap = this.bytes.length >= max;
      if (needed > max && this.#loading && this.#dropSpare()) return this.makeRoom(bytes, reclaim);
      if (needed > max || (atCap && garbage < max / 8 && !reclaim && !this.#loading)) {
        throw new StoreFullError(
          `Cannot store more: the store is full (${max} bytes; the room of deleted ` +
            "pairs comes back once an eighth of the store is deleted)",
        );
      }
      length = max;
      // To the cap: by compacting when half is garbage or the record would
      // not fit otherwise, else by growing (in place, for a big arena).
      compact = compact || this.top + bytes > length;
    }
    this.#rebuild(length, compact);
  }

  /** Compacts the records to their exact size (see load()); whether that made room. */
  #dropSpare(): boolean {
    const live = this.liveBytes;
    this.#rebuild(this.bytes.length, true, true);
    return this.liveBytes < live;
  }

  /**
   * Makes the arena `length` bytes, compacting it first with `compact` (its
   * live records fit), and with `exact` dropping the room records keep to
   * spare (their SPARE flag and size word).
   */
  #rebuild(length: number, compact: boolean, exact = false): void {
    const old = this.bytes;
    const oldWords = this.words;
    const buffer = old.buffer as ArrayBuffer;
    if (buffer.resizable) {
      if (compact) this.#compactInPlace(exact);
      this.#resize(buffer, length);
      return;
    }
    const fresh = length < GROW_IN_PLACE_BYTES ? new Uint8Array(length) : new Uint8Array(
      new ArrayBuffer(length, {
        maxByteLength: this.#loading ? MAX_ARENA_BYTES : this.#maxBytes,
      }),
      0,
      length,
    );
    const words = new Uint32Array(fresh.buffer, 0, length >>> 2);
    if (compact) {
      // The table walks its slots and moves each live record here, so no key
      // is hashed again.
      let top = 0;
      this.#relocate((record) => {
        const size = exact ? exactSize(oldWords, record) : sizeOf(oldWords, record);
        fresh.set(old.subarray(record, record + size), top);
        if (exact) words[top >>> 2] = oldWords[record >>> 2]! & ~SPARE;
        top += size;
        return top - size;
      });
      this.top = this.liveBytes = top;
    } else {
      fresh.set(old.subarray(0, this.top));
    }
    this.bytes = fresh;
    this.words = words;
  }

  /**
   * Compacts a big arena where it lies: the live records slide down in
   * address order, each onto room that no record not yet moved uses, so no
   * second buffer is touched (copying 1.3 GB of live records in the table's
   * order into a fresh 2 GiB buffer held every client for 4.6 s).
   */
  #compactInPlace(exact: boolean): void {
    // The live records, as the table knows them; sorted by address.
    let live = new Int32Array(1024);
    let count = 0;
    this.#relocate((record) => {
      if (count === live.length) {
        const grown = new Int32Array(2 * live.length);
        grown.set(live);
        live = grown;
      }
      live[count++] = record;
      return record;
    });
    const sorted = live.subarray(0, count).sort();
    const moved = new Int32Array(count);
    const bytes = this.bytes;
    const words = this.words;
    let top = 0;
    for (let i = 0; i < count; i++) {
      const record = sorted[i]!;
      const word = words[record >>> 2]!;
      const size = exact ? exactSize(words, record) : sizeOf(words, record);
      if (record !== top) bytes.copyWithin(top, record, record + size);
      if (exact) words[top >>> 2] = word & ~SPARE;
      moved[i] = top;
      top += size;
    }
    this.top = this.liveBytes = top;
    // Each record's new place, found by its old one.
    this.#relocate((record) => {
      let low = 0;
      let high = count - 1;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (sorted[mid]! < record) low = mid + 1;
        else high = mid;
      }
      return moved[low]!;
    });
  }

  /** Resizes the arena's resizable buffer to `length` (up, or down to give memory back). */
  #resize(buffer: ArrayBuffer, length: number): void {
    buffer.resize(length);
    this.bytes = new Uint8Array(buffer, 0, length);
    this.words = new Uint32Array(buffer, 0, length >>> 2);
  }
}

/** The bytes the record at `record` takes: {@linkcode recordBytes}, or with SPARE, what its size word says. */
export function sizeOf(words: Uint32Array, record: number): number {
  const exact = exactSize(words, record);
  return words[record >>> 2]! & SPARE ? words[(record + exact) >>> 2]! : exact;
}

/** The bytes the record at `record` takes without its room to spare: {@linkcode recordBytes}. */
function exactSize(words: Uint32Array, record: number): number {
  return recordBytes(words[record >>> 2]!, words[(record >>> 2) + 1]!);
}

/** The bytes a record takes without spare room: header, expiry words if any, key and value, padded to 4. */
export function recordBytes(word: number, valueLength: number): number {
  const header = HEADER_BYTES + (word & EXPIRES ? EXPIRY_BYTES : 0);
  const bytes = header + (word & KEY_LENGTH) + valueLength;
  // Padded without `(bytes + 3) & ~3`, whose 32 bits made a record of 2 GiB
  // or more a negative size: append() then took it for one that fits, and
  // failed writing it with a RangeError instead of StoreFullError. The low
  // two bits of `-bytes` survive its conversion to 32 bits.
  return bytes + (-bytes & 3);
}
