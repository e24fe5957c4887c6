/**
 * The server's state: an in-memory hash table from key to value. Keys and
 * values are kept as their UTF-8 bytes, packed into one growable arena, so
 * the server answers a GET by copying bytes (no string is made or encoded)
 * and a million pairs cost tens of bytes each, not a JavaScript object each.
 * It knows nothing of the wire: protocol.ts picks the words.
 *
 * The design is a textbook one: an open-addressing table of slots, probed
 * linearly, each pointing at a record in an append-only arena that is
 * compacted when half of it is garbage.
 * Records are appended, so walking the arena lists pairs in the order they
 * were stored (a PUT that changes a value's length moves its pair last).
 *
 * @module
 */

// A slot holds 0 (empty), TOMBSTONE (deleted: probing goes on past it), or
// the record's offset + 1.
const EMPTY = 0;
const TOMBSTONE = -1;
// A record: key length and value length (one 32-bit word each), then the key
// bytes, then the value bytes, padded to a multiple of 4 so the two words of
// every record are aligned for the arena's Uint32Array view. A record whose
// pair was deleted or replaced by a longer or shorter value is marked DEAD in
// its key-length word and stays as garbage until the arena is compacted.
const HEADER_BYTES = 8;
const DEAD = 0x8000_0000;
// Grow the table before it is half full: linear probing slows sharply past that.
const MAX_LOAD = 0.5;
const MIN_SLOTS = 16;
const MIN_ARENA_BYTES = 1024;
// Offsets live in an Int32Array (offset + 1), so the arena stops at 2 GiB.
const MAX_ARENA_BYTES = 2 ** 31 - 8;

const encoder = new TextEncoder();
// ignoreBOM: a U+FEFF at the start of a key, value or line is data, not a byte-order mark.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Receives a pair's bytes: `bytes[keyStart, keyEnd)` and `bytes[valueStart, valueEnd)`. */
export type PairVisitor = (
  bytes: Uint8Array,
  keyStart: number,
  keyEnd: number,
  valueStart: number,
  valueEnd: number,
) => void;

/** Receives a value's bytes, `bytes[start, end)`, valid only during the call. */
export interface ByteSink {
  addBytes(bytes: Uint8Array, start: number, end: number): void;
}

/** Options of {@linkcode Store}. */
export interface StoreOptions {
  /**
   * The most bytes the arena may take: keys, values and an 8-byte header per
   * pair, padded to 4 bytes. A multiple of 4, from 1024.
   * @default {2147483640}
   */
  maxArenaBytes?: number;
}

/** An in-memory key-value store. A new store is empty. */
export class Store {
  #slots = new Int32Array(MIN_SLOTS);
  #hashes = new Uint32Array(MIN_SLOTS);
  #arena = new Uint8Array(MIN_ARENA_BYTES);
  #words = new Uint32Array(this.#arena.buffer);
  #top = 0; // Arena bytes in use, live or not.
  #liveBytes = 0; // Arena bytes of live records.
  #size = 0;
  #usedSlots = 0; // Live slots and tombstones.
  // A per-process seed, so that keys colliding on purpose cannot be
  // precomputed once for every kv server.
  readonly #seed = (Math.random() * 0x1_0000_0000) >>> 0;
  readonly #maxArenaBytes: number;

  /** Throws `RangeError` for a `maxArenaBytes` it cannot use. */
  constructor(options: StoreOptions = {}) {
    const max = options.maxArenaBytes ?? MAX_ARENA_BYTES;
    if (!Number.isInteger(max) || max < MIN_ARENA_BYTES || max > MAX_ARENA_BYTES || max % 4 !== 0) {
      throw new RangeError(
        `Cannot use maxArenaBytes ${max}: expected a multiple of 4 from ${MIN_ARENA_BYTES} to ${MAX_ARENA_BYTES}`,
      );
    }
    this.#maxArenaBytes = max;
  }

  /** The number of pairs held. */
  get size(): number {
    return this.#size;
  }

  /** Bytes of keys and values held (with record headers), for memory reports. */
  get liveBytes(): number {
    return this.#liveBytes;
  }

  // --- The byte API: what the server's hot path uses. ----------------------

  /**
   * Adds the value of the key `key[start, end)` to `out`. Returns `false`,
   * adding nothing, if the key is missing.
   */
  getBytes(key: Uint8Array, start: number, end: number, out: ByteSink): boolean {
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return false;
    const record = this.#slots[slot]! - 1;
    const valueStart = record + HEADER_BYTES + this.#words[record >>> 2]!;
    out.addBytes(this.#arena, valueStart, valueStart + this.#words[(record >>> 2) + 1]!);
    return true;
  }

  /**
   * Sets the key `key[keyStart, keyEnd)` to `value[valueStart, valueEnd)`.
   * Throws `RangeError`, changing nothing, if the arena has no room for it
   * (a new value of another length needs room beside the old one).
   */
  putBytes(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
  ): void {
    const hash = this.#hash(key, keyStart, keyEnd);
    const slot = this.#find(key, keyStart, keyEnd, hash);
    const valueLength = valueEnd - valueStart;
    if (slot >= 0) {
      const record = this.#slots[slot]! - 1;
      const keyLength = this.#words[record >>> 2]!;
      if (this.#words[(record >>> 2) + 1] === valueLength) {
        // Same size (the common overwrite): in place, no new record.
        this.#arena.set(value.subarray(valueStart, valueEnd), record + HEADER_BYTES + keyLength);
        return;
      }
      // Append first: if that throws, the old value is still there. Compaction
      // may move records, but never slots: the slot then points at the old
      // record's new place.
      const moved = this.#append(key, keyStart, keyEnd, value, valueStart, valueEnd);
      this.#kill(this.#slots[slot]! - 1);
      this.#slots[slot] = moved + 1;
      return;
    }
    // Both steps that allocate (a larger table, a larger arena) come before
    // any change: a failure leaves the store as it was.
    if (this.#usedSlots + 1 > this.#slots.length * MAX_LOAD) this.#rehash();
    this.#insert(hash, this.#append(key, keyStart, keyEnd, value, valueStart, valueEnd));
  }

  /** Removes the key `key[start, end)`. Returns whether it was there. */
  deleteBytes(key: Uint8Array, start: number, end: number): boolean {
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return false;
    this.#kill(this.#slots[slot]! - 1);
    this.#slots[slot] = TOMBSTONE;
    this.#size--;
    return true;
  }

  /** Calls `visit` for every pair, in the order they were stored. */
  forEachPair(visit: PairVisitor): void {
    for (let record = 0; record < this.#top;) {
      const keyWord = this.#words[record >>> 2]!;
      const keyLength = (keyWord & ~DEAD) >>> 0;
      const valueLength = this.#words[(record >>> 2) + 1]!;
      if ((keyWord & DEAD) === 0) {
        const keyStart = record + HEADER_BYTES;
        const valueStart = keyStart + keyLength;
        visit(this.#arena, keyStart, valueStart, valueStart, valueStart + valueLength);
      }
      record += recordBytes(keyLength, valueLength);
    }
  }

  // --- The string API: for tests, tools and programs embedding a Store. ---

  /** The value of `key`, or `undefined` if it is missing. */
  get(key: string): string | undefined {
    const bytes = encoder.encode(key);
    let value: string | undefined;
    this.getBytes(bytes, 0, bytes.length, {
      addBytes: (arena, start, end) => value = decoder.decode(arena.subarray(start, end)),
    });
    return value;
  }

  /** Sets `key` to `value`, replacing any value it had. */
  put(key: string, value: string): void {
    const keyBytes = encoder.encode(key);
    const valueBytes = encoder.encode(value);
    this.putBytes(keyBytes, 0, keyBytes.length, valueBytes, 0, valueBytes.length);
  }

  /** Removes `key`. Returns whether it was there. */
  delete(key: string): boolean {
    const bytes = encoder.encode(key);
    return this.deleteBytes(bytes, 0, bytes.length);
  }

  /** Every pair, decoded (a snapshot: later changes do not show). */
  entries(): IterableIterator<[string, string]> {
    const pairs: [string, string][] = [];
    this.forEachPair((bytes, keyStart, keyEnd, valueStart, valueEnd) => {
      pairs.push([
        decoder.decode(bytes.subarray(keyStart, keyEnd)),
        decoder.decode(bytes.subarray(valueStart, valueEnd)),
      ]);
    });
    return pairs[Symbol.iterator]();
  }

  // --- The table. ----------------------------------------------------------

  /** FNV-1a over the key's bytes, from a per-process seed. */
  #hash(key: Uint8Array, start: number, end: number): number {
    let hash = 0x811c9dc5 ^ this.#seed;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ key[i]!, 0x01000193);
    return hash >>> 0;
  }

  /** The slot holding the key, or -1. */
  #find(key: Uint8Array, start: number, end: number, hash: number): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const entry = slots[i]!;
      if (entry === EMPTY) return -1;
      if (
        entry !== TOMBSTONE && this.#hashes[i] === hash &&
        this.#keyEquals(entry - 1, key, start, end)
      ) {
        return i;
      }
    }
  }

  #keyEquals(record: number, key: Uint8Array, start: number, end: number): boolean {
    if (this.#words[record >>> 2] !== end - start) return false;
    const arena = this.#arena;
    for (let i = start, at = record + HEADER_BYTES; i < end; i++, at++) {
      if (arena[at] !== key[i]) return false;
    }
    return true;
  }

  /** The slot pointing at `record`, whose key has `hash`. */
  #slotOf(record: number, hash: number): number {
    const mask = this.#slots.length - 1;
    let i = hash & mask;
    while (this.#slots[i] !== record + 1) i = (i + 1) & mask;
    return i;
  }

  /** Marks a record garbage: its pair was deleted or moved. */
  #kill(record: number): void {
    this.#liveBytes -= recordBytes(this.#words[record >>> 2]!, this.#words[(record >>> 2) + 1]!);
    this.#words[record >>> 2] = (this.#words[record >>> 2]! | DEAD) >>> 0;
  }

  /** Puts a record (known not to be in the table) into a free slot; the table has room. */
  #insert(hash: number, record: number): void {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let i = hash & mask;
    while (slots[i]! > 0) i = (i + 1) & mask;
    if (slots[i] === EMPTY) this.#usedSlots++;
    slots[i] = record + 1;
    this.#hashes[i] = hash;
    this.#size++;
  }

  /** Rebuilds the table (twice as large if it is more than a quarter live), dropping tombstones. */
  #rehash(): void {
    const oldSlots = this.#slots;
    const oldHashes = this.#hashes;
    let length = oldSlots.length;
    while (this.#size + 1 > length * MAX_LOAD / 2) length *= 2;
    const slots = new Int32Array(length);
    const hashes = new Uint32Array(length);
    const mask = length - 1;
    for (let j = 0; j < oldSlots.length; j++) {
      const entry = oldSlots[j]!;
      if (entry <= 0) continue;
      let i = oldHashes[j]! & mask;
      while (slots[i] !== EMPTY) i = (i + 1) & mask;
      slots[i] = entry;
      hashes[i] = oldHashes[j]!;
    }
    this.#slots = slots;
    this.#hashes = hashes;
    this.#usedSlots = this.#size;
  }

  /** Writes a new record at the top of the arena; returns its offset. */
  #append(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
  ): number {
    const keyLength = keyEnd - keyStart;
    const valueLength = valueEnd - valueStart;
    const bytes = recordBytes(keyLength, valueLength);
    if (this.#top + bytes > this.#arena.length) this.#makeRoom(bytes);
    const record = this.#top;
    this.#words[record >>> 2] = keyLength;
    this.#words[(record >>> 2) + 1] = valueLength;
    this.#arena.set(key.subarray(keyStart, keyEnd), record + HEADER_BYTES);
    this.#arena.set(value.subarray(valueStart, valueEnd), record + HEADER_BYTES + keyLength);
    this.#top += bytes;
    this.#liveBytes += bytes;
    return record;
  }

  /**
   * Makes room for a record of `bytes`. Records of replaced and deleted
   * values stay in the arena as garbage; when at least half of it is
   * garbage, the live records are copied into a fresh arena (compaction),
   * otherwise the arena doubles. Either way each byte is copied O(1) times
   * on average.
   */
  #makeRoom(bytes: number): void {
    const needed = this.#liveBytes + bytes;
    let compact = this.#liveBytes <= this.#top / 2;
    let length = compact ? MIN_ARENA_BYTES : this.#arena.length;
    while (length < (compact ? 2 * needed : this.#top + bytes)) length *= 2;
    if (length > this.#maxArenaBytes) {
      // Once the arena is at the cap, compact only to win back a real share
      // of it: compacting for a few bytes would copy the whole store on
      // every PUT.
      const garbage = this.#top - this.#liveBytes;
      const atCap = this.#arena.length >= this.#maxArenaBytes;
      if (needed > this.#maxArenaBytes || (atCap && garbage < this.#maxArenaBytes / 8)) {
        throw new RangeError(`Cannot store more: the store is full (${this.#maxArenaBytes} bytes)`);
      }
      length = this.#maxArenaBytes;
      compact = true;
    }
    const arena = new Uint8Array(length);
    const words = new Uint32Array(arena.buffer);
    if (compact) {
      // Live records keep their order; each one's slot is found by its key.
      let top = 0;
      for (let record = 0; record < this.#top;) {
        const keyWord = this.#words[record >>> 2]!;
        const keyLength = (keyWord & ~DEAD) >>> 0;
        const size = recordBytes(keyLength, this.#words[(record >>> 2) + 1]!);
        if ((keyWord & DEAD) === 0) {
          arena.set(this.#arena.subarray(record, record + size), top);
          const keyStart = record + HEADER_BYTES;
          this
            .#slots[this.#slotOf(record, this.#hash(this.#arena, keyStart, keyStart + keyLength))] =
              top + 1;
          top += size;
        }
        record += size;
      }
      this.#top = top;
    } else {
      arena.set(this.#arena.subarray(0, this.#top));
    }
    this.#arena = arena;
    this.#words = words;
  }
}

function recordBytes(keyLength: number, valueLength: number): number {
  return (HEADER_BYTES + keyLength + valueLength + 3) & ~3;
}
