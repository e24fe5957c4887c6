/**
 * {@linkcode MemoryStore}: the in-memory {@linkcode Store}, a hash table whose
 * keys and values live as bytes in one growable arena. The server answers a
 * GET by copying bytes (no string is made or encoded), and a million pairs
 * cost tens of bytes each, not a JavaScript object each.
 *
 * The design is a textbook one: an open-addressing table of slots, probed
 * linearly, each pointing at a record in an append-only arena that is
 * compacted when half of it is garbage. A key's home slot is taken from the
 * top bits of its hash, so the table keeps keys in hash order whatever its
 * size: that is what lets {@linkcode MemoryStore.scan} walk it in bounded
 * steps with a cursor that survives the table growing.
 *
 * @module
 */

import { type PairVisitor, type Store, StoreFullError, type ValueSink } from "./store.ts";

// A slot holds 0 (empty), TOMBSTONE (deleted: probing goes on past it), or
// the record's offset + 1.
const EMPTY = 0;
const TOMBSTONE = -1;
// A record: key length and value length (one 32-bit word each), then the key
// bytes, then the value bytes, padded to a multiple of 4 so the two words of
// every record are aligned for the arena's Uint32Array view. A record whose
// pair was deleted or replaced by a value of another length is marked DEAD in
// its key-length word and stays as garbage until the arena is compacted.
const HEADER_BYTES = 8;
const DEAD = 0x8000_0000;
// Grow the table before it is half full: linear probing slows sharply past that.
const MAX_LOAD = 0.5;
const MIN_SLOTS = 16;
const MIN_ARENA_BYTES = 1024;
// Offsets live in an Int32Array (offset + 1), so the arena stops at 2 GiB.
const MAX_ARENA_BYTES = 2 ** 31 - 8;
const HASH_SPACE = 2 ** 32;

/** Options of {@linkcode MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * The most bytes the arena may take: keys, values and an 8-byte header per
   * pair, padded to 4 bytes. A multiple of 4, from 1024.
   * @default {2147483640}
   */
  maxArenaBytes?: number;
}

/**
 * An in-memory {@linkcode Store}. A new store is empty.
 *
 * @example
 * ```ts
 * import { MemoryStore, TextStore } from "./mod.ts";
 * const store = new TextStore(new MemoryStore());
 * store.set("name", "yyjun");
 * console.log(store.get("name")); // "yyjun"
 * ```
 */
export class MemoryStore implements Store {
  #slots = new Int32Array(MIN_SLOTS);
  #hashes = new Uint32Array(MIN_SLOTS);
  #shift = 32 - Math.log2(MIN_SLOTS); // home slot = hash >>> #shift
  #arena = new Uint8Array(MIN_ARENA_BYTES);
  #words = new Uint32Array(this.#arena.buffer);
  #top = 0; // Arena bytes in use, live or not.
  #liveBytes = 0; // Arena bytes of live records.
  #size = 0;
  #usedSlots = 0; // Live slots and tombstones.
  // A per-process seed, so that keys colliding on purpose cannot be
  // precomputed once for every kv server.
  readonly #seed = (Math.random() * HASH_SPACE) >>> 0;
  readonly #maxArenaBytes: number;

  /** Throws `RangeError` for a `maxArenaBytes` it cannot use. */
  constructor(options: MemoryStoreOptions = {}) {
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

  /** Adds the value of `key[start, end)` to `out`; `false` if the key is missing. */
  get(key: Uint8Array, start: number, end: number, out: ValueSink): boolean {
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return false;
    const record = this.#slots[slot]! - 1;
    const valueStart = record + HEADER_BYTES + this.#words[record >>> 2]!;
    out.addBytes(this.#arena, valueStart, valueStart + this.#words[(record >>> 2) + 1]!);
    return true;
  }

  /**
   * Sets `key[keyStart, keyEnd)` to `value[valueStart, valueEnd)`. Throws
   * {@linkcode StoreFullError}, changing nothing, if the arena has no room
   * (a new value of another length needs room beside the old one).
   */
  set(
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

  /** Removes `key[start, end)`. Returns whether it was there. */
  delete(key: Uint8Array, start: number, end: number): boolean {
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return false;
    this.#kill(this.#slots[slot]! - 1);
    this.#slots[slot] = TOMBSTONE;
    this.#size--;
    return true;
  }

  /**
   * Visits the pairs whose hash lies in `[cursor, next)`, where `next`
   * covers about `count` home slots, and returns `next` (0 at the end).
   *
   * The cursor is a hash, not a slot: homes follow the hash's top bits, so
   * every key whose hash is in a range lies in the run of slots from the
   * range's first home to the first empty slot after its last one, at any
   * table size. Each key has one hash, so it falls in exactly one step of a
   * walk, however the table grows or is rebuilt between steps.
   */
  scan(cursor: number, count: number, visit: PairVisitor): number {
    const slots = this.#slots;
    const length = slots.length;
    const mask = length - 1;
    const shift = this.#shift;
    const from = cursor >>> 0;
    const firstHome = from >>> shift;
    const endHome = Math.min(length, firstHome + Math.max(1, count));
    const to = endHome === length ? HASH_SPACE : endHome * 2 ** shift;
    for (let step = 0; step < length; step++) {
      const i = (firstHome + step) & mask;
      const entry = slots[i]!;
      if (entry === EMPTY) {
        if (firstHome + step >= endHome) break;
        continue;
      }
      if (entry === TOMBSTONE) continue;
      const hash = this.#hashes[i]!;
      if (hash < from || hash >= to) continue;
      const record = entry - 1;
      const keyStart = record + HEADER_BYTES;
      const valueStart = keyStart + this.#words[record >>> 2]!;
      visit(
        this.#arena,
        keyStart,
        valueStart,
        valueStart,
        valueStart + this.#words[(record >>> 2) + 1]!,
      );
    }
    return to === HASH_SPACE ? 0 : to;
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
    for (let i = hash >>> this.#shift;; i = (i + 1) & mask) {
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
    let i = hash >>> this.#shift;
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
    let i = hash >>> this.#shift;
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
    const shift = 32 - Math.log2(length);
    for (let j = 0; j < oldSlots.length; j++) {
      const entry = oldSlots[j]!;
      if (entry <= 0) continue;
      let i = oldHashes[j]! >>> shift;
      while (slots[i] !== EMPTY) i = (i + 1) & mask;
      slots[i] = entry;
      hashes[i] = oldHashes[j]!;
    }
    this.#slots = slots;
    this.#hashes = hashes;
    this.#shift = shift;
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
        throw new StoreFullError(
          `Cannot store more: the store is full (${this.#maxArenaBytes} bytes)`,
        );
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
          const hash = this.#hash(this.#arena, keyStart, keyStart + keyLength);
          this.#slots[this.#slotOf(record, hash)] = top + 1;
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
