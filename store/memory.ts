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

import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
import { randomSipKey, sipHash13, type SipKey } from "./siphash.ts";
import {
  LINE_TEXT,
  NO_EXPIRY,
  NO_KEY,
  type PairVisitor,
  type Store,
  StoreFullError,
  type StoreInfo,
  type ValueSink,
  type WriteOptions,
} from "./store.ts";

// A slot holds 0 (empty), TOMBSTONE (deleted: probing goes on past it), or
// the record's offset + 1.
const EMPTY = 0;
const TOMBSTONE = -1;
// A record, aligned to 4 bytes for the arena's Uint32Array view:
//   word 0: flags (the top 3 bits) and the key's length
//   word 1: the value's length
//   words 2-3, only with EXPIRES: the expiry in ms, low 32 bits then high
//   the key's bytes, then the value's, padded to a multiple of 4.
// A record whose pair was deleted or replaced is marked DEAD and stays as
// garbage until the arena is compacted.
const HEADER_BYTES = 8;
const EXPIRY_BYTES = 8;
const DEAD = 0x8000_0000;
const EXPIRES = 0x4000_0000;
const TEXT = 0x2000_0000;
const KEY_LENGTH = 0x1fff_ffff;
// Grow the table before it is half full: linear probing slows sharply past that.
const MAX_LOAD = 0.5;
const MIN_SLOTS = 16;
const MIN_ARENA_BYTES = 1024;
// Offsets live in an Int32Array (offset + 1), so the arena stops at 2 GiB.
const MAX_ARENA_BYTES = 2 ** 31 - 8;
const HASH_SPACE = 2 ** 32;
// The sweep reads the clock once per this many slots.
const SWEEP_CHUNK = 1024;

/** Options of {@linkcode MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * The most bytes the arena may take: keys, values and a header per pair
   * (8 bytes, 16 with an expiry), padded to 4 bytes. A multiple of 4, from 1024.
   * @default {2147483640}
   */
  maxArenaBytes?: number;
  /** Where expiry reads the time. @default {SYSTEM_CLOCK} */
  clock?: Clock;
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
  #expiring = 0; // Live records with an expiry.
  #expired = 0; // Keys removed because their time had passed, ever.
  #sweepSlot = 0; // Where the next sweep starts.
  // The hash is keyed with a secret drawn per store: without it nobody can
  // compute keys that pile up in one slot (hash flooding).
  readonly #sipKey: SipKey = randomSipKey();
  readonly #maxArenaBytes: number;
  readonly #clock: Clock;

  /** Throws `RangeError` for a `maxArenaBytes` it cannot use. */
  constructor(options: MemoryStoreOptions = {}) {
    const max = options.maxArenaBytes ?? MAX_ARENA_BYTES;
    if (!Number.isInteger(max) || max < MIN_ARENA_BYTES || max > MAX_ARENA_BYTES || max % 4 !== 0) {
      throw new RangeError(
        `Cannot use maxArenaBytes ${max}: expected a multiple of 4 from ${MIN_ARENA_BYTES} to ${MAX_ARENA_BYTES}`,
      );
    }
    this.#maxArenaBytes = max;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
  }

  /** The number of pairs held (expired ones not yet reclaimed included). */
  get size(): number {
    return this.#size;
  }

  /** Bytes of keys and values held (with record headers), for memory reports. */
  get liveBytes(): number {
    return this.#liveBytes;
  }

  /** Keys held that have an expiry. */
  get expiringKeys(): number {
    return this.#expiring;
  }

  /** Keys removed because their time had passed, since the store was made. */
  get expiredKeys(): number {
    return this.#expired;
  }

  info(): StoreInfo {
    return {
      expiringKeys: this.#expiring,
      expiredKeys: this.#expired,
      datasetBytes: this.#liveBytes,
    };
  }

  get(key: Uint8Array, start: number, end: number, out: ValueSink): boolean {
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return false;
    this.#give(slot, out);
    return true;
  }

  set(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
    options?: WriteOptions,
  ): void {
    const hash = this.#hash(key, keyStart, keyEnd);
    const slot = this.#find(key, keyStart, keyEnd, hash);
    this.#setAt(hash, slot, key, keyStart, keyEnd, value, valueStart, valueEnd, options);
  }

  /** As {@linkcode MemoryStore.set}, handing the old value to `old` first, in one lookup. */
  getSet(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
    options: WriteOptions | undefined,
    old: ValueSink,
  ): boolean {
    const hash = this.#hash(key, keyStart, keyEnd);
    const slot = this.#find(key, keyStart, keyEnd, hash);
    if (slot >= 0) this.#give(slot, old);
    this.#setAt(hash, slot, key, keyStart, keyEnd, value, valueStart, valueEnd, options);
    return slot >= 0;
  }

  /** As {@linkcode MemoryStore.delete}, handing the old value to `old` first, in one lookup. */
  getDelete(key: Uint8Array, start: number, end: number, old: ValueSink): boolean {
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return false;
    this.#give(slot, old);
    this.#remove(slot);
    return true;
  }

  /** set() once the key's slot is known (-1: absent). */
  #setAt(
    hash: number,
    slot: number,
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
    options: WriteOptions | undefined,
  ): void {
    let expireAt = 0;
    let flags = 0;
    if (options !== undefined) {
      if (options.lineText) flags = TEXT;
      if (options.keepTtl) {
        if (slot >= 0) expireAt = this.#expireAt(this.#slots[slot]! - 1);
      } else if (options.expireAtMs) {
        expireAt = options.expireAtMs;
        if (expireAt <= this.#clock.now()) {
          // Redis: a SET whose expiry has passed leaves no key behind.
          if (slot >= 0) this.#remove(slot);
          return;
        }
      }
    }
    if (expireAt > 0) flags |= EXPIRES;
    const valueLength = valueEnd - valueStart;
    if (slot >= 0) {
      const record = this.#slots[slot]! - 1;
      const word = this.#words[record >>> 2]!;
      if (
        this.#words[(record >>> 2) + 1] === valueLength && (word & EXPIRES) === (flags & EXPIRES)
      ) {
        // Same size and layout (the common overwrite): in place, no new record.
        this.#words[record >>> 2] = (word & KEY_LENGTH) | flags;
        if (expireAt > 0) this.#writeExpiry(record, expireAt);
        this.#arena.set(
          value.subarray(valueStart, valueEnd),
          this.#dataStart(record, flags) + (word & KEY_LENGTH),
        );
        return;
      }
      // Append first: if that throws, the old value is still there. Compaction
      // may move records, but never slots: the slot then points at the old
      // record's new place.
      const moved = this.#append(
        key,
        keyStart,
        keyEnd,
        value,
        valueStart,
        valueEnd,
        flags,
        expireAt,
      );
      this.#kill(this.#slots[slot]! - 1);
      this.#slots[slot] = moved + 1;
      return;
    }
    // Both steps that allocate (a larger table, a larger arena) come before
    // any change: a failure leaves the store as it was.
    if (this.#usedSlots + 1 > this.#slots.length * MAX_LOAD) this.#rehash();
    const record = this.#append(
      key,
      keyStart,
      keyEnd,
      value,
      valueStart,
      valueEnd,
      flags,
      expireAt,
    );
    this.#insert(hash, record);
  }

  delete(key: Uint8Array, start: number, end: number): boolean {
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return false;
    this.#remove(slot);
    return true;
  }

  expiry(key: Uint8Array, start: number, end: number): number {
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return NO_KEY;
    const expireAt = this.#expireAt(this.#slots[slot]! - 1);
    return expireAt === 0 ? NO_EXPIRY : expireAt;
  }

  expire(key: Uint8Array, start: number, end: number, expireAtMs: number): boolean {
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return false;
    if (expireAtMs > 0 && expireAtMs <= this.#clock.now()) {
      this.#remove(slot);
      return true;
    }
    const record = this.#slots[slot]! - 1;
    const word = this.#words[record >>> 2]!;
    if ((word & EXPIRES) !== 0 && expireAtMs > 0) {
      this.#writeExpiry(record, expireAtMs);
      return true;
    }
    if ((word & EXPIRES) === 0 && expireAtMs === 0) return true;
    // The record changes layout (it gains or loses its expiry words): move it.
    const keyLength = word & KEY_LENGTH;
    const keyStart = this.#dataStart(record, word);
    const valueStart = keyStart + keyLength;
    const valueEnd = valueStart + this.#words[(record >>> 2) + 1]!;
    const flags = (word & TEXT) | (expireAtMs > 0 ? EXPIRES : 0);
    // The arena may be replaced by #append (growth or compaction): copy the
    // pair out first.
    const pair = this.#arena.slice(keyStart, valueEnd);
    const moved = this.#append(
      pair,
      0,
      keyLength,
      pair,
      keyLength,
      pair.length,
      flags,
      expireAtMs,
    );
    this.#kill(this.#slots[slot]! - 1);
    this.#slots[slot] = moved + 1;
    return true;
  }

  clear(): void {
    this.#slots = new Int32Array(MIN_SLOTS);
    this.#hashes = new Uint32Array(MIN_SLOTS);
    this.#shift = 32 - Math.log2(MIN_SLOTS);
    this.#arena = new Uint8Array(MIN_ARENA_BYTES);
    this.#words = new Uint32Array(this.#arena.buffer);
    this.#top = 0;
    this.#liveBytes = 0;
    this.#size = 0;
    this.#usedSlots = 0;
    this.#expiring = 0;
    this.#sweepSlot = 0;
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
    let now = 0;
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
      const word = this.#words[record >>> 2]!;
      if (word & EXPIRES) {
        now ||= this.#clock.now();
        if (this.#expireAt(record) <= now) continue;
      }
      const keyStart = this.#dataStart(record, word);
      const valueStart = keyStart + (word & KEY_LENGTH);
      const valueEnd = valueStart + this.#words[(record >>> 2) + 1]!;
      visit(this.#arena, keyStart, valueStart, valueStart, valueEnd, word & TEXT ? LINE_TEXT : 0);
    }
    return to === HASH_SPACE ? 0 : to;
  }

  /**
   * The active expiry cycle: walks the table from where the last sweep
   * stopped, removing keys whose time has passed, for about `budgetMs`
   * (at most one full turn of the table). Returns how many it removed.
   */
  sweep(budgetMs: number): number {
    if (this.#expiring === 0) return 0;
    const started = performance.now();
    const now = this.#clock.now();
    const length = this.#slots.length;
    let removed = 0;
    for (let visited = 0; visited < length;) {
      const end = Math.min(visited + SWEEP_CHUNK, length);
      for (; visited < end; visited++) {
        const slot = this.#sweepSlot;
        this.#sweepSlot = (slot + 1) & (length - 1);
        const entry = this.#slots[slot]!;
        if (entry <= 0) continue;
        const record = entry - 1;
        if ((this.#words[record >>> 2]! & EXPIRES) && this.#expireAt(record) <= now) {
          this.#remove(slot);
          this.#expired++;
          removed++;
        }
      }
      if (this.#expiring === 0 || performance.now() - started >= budgetMs) break;
    }
    return removed;
  }

  // --- The table. ----------------------------------------------------------

  /** Hands the value in a live slot to `out`, with its flags and expiry. */
  #give(slot: number, out: ValueSink): void {
    const record = this.#slots[slot]! - 1;
    const word = this.#words[record >>> 2]!;
    const valueStart = this.#dataStart(record, word) + (word & KEY_LENGTH);
    const valueEnd = valueStart + this.#words[(record >>> 2) + 1]!;
    out.addBytes(
      this.#arena,
      valueStart,
      valueEnd,
      word & TEXT ? LINE_TEXT : 0,
      word & EXPIRES ? this.#expireAt(record) : 0,
    );
  }

  /**
   * SipHash-1-3 of the key's bytes under this store's secret key. (FNV-1a,
   * the hash before, admits multicollisions whatever its seed: BENCHMARKS.md,
   * Hash flooding.)
   */
  #hash(key: Uint8Array, start: number, end: number): number {
    return sipHash13(this.#sipKey, key, start, end);
  }

  /**
   * The longest probe: how many slots past its home the farthest key sits.
   * A diagnostic (tests, INFO): with a keyed hash it stays small for any keys.
   */
  longestProbe(): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let longest = 0;
    for (let i = 0; i < slots.length; i++) {
      if (slots[i]! <= 0) continue;
      const distance = (i - (this.#hashes[i]! >>> this.#shift)) & mask;
      if (distance > longest) longest = distance;
    }
    return longest;
  }

  /** The slot holding the key, or -1. A key whose time has passed is removed here (lazy expiry). */
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
        const record = entry - 1;
        if (
          (this.#words[record >>> 2]! & EXPIRES) &&
          this.#expireAt(record) <= this.#clock.now()
        ) {
          this.#remove(i);
          this.#expired++;
          return -1;
        }
        return i;
      }
    }
  }

  #keyEquals(record: number, key: Uint8Array, start: number, end: number): boolean {
    const word = this.#words[record >>> 2]!;
    if ((word & KEY_LENGTH) !== end - start) return false;
    const arena = this.#arena;
    for (let i = start, at = this.#dataStart(record, word); i < end; i++, at++) {
      if (arena[at] !== key[i]) return false;
    }
    return true;
  }

  /** Where a record's key starts: after its header and any expiry words. */
  #dataStart(record: number, word: number): number {
    return record + HEADER_BYTES + (word & EXPIRES ? EXPIRY_BYTES : 0);
  }

  /** A record's expiry in ms, or 0 if it has none. */
  #expireAt(record: number): number {
    if ((this.#words[record >>> 2]! & EXPIRES) === 0) return 0;
    return this.#words[(record >>> 2) + 2]! + this.#words[(record >>> 2) + 3]! * HASH_SPACE;
  }

  #writeExpiry(record: number, expireAt: number): void {
    this.#words[(record >>> 2) + 2] = expireAt % HASH_SPACE;
    this.#words[(record >>> 2) + 3] = Math.floor(expireAt / HASH_SPACE);
  }

  /** The slot pointing at `record`, whose key has `hash`. */
  #slotOf(record: number, hash: number): number {
    const mask = this.#slots.length - 1;
    let i = hash >>> this.#shift;
    while (this.#slots[i] !== record + 1) i = (i + 1) & mask;
    return i;
  }

  /** Empties a live slot. */
  #remove(slot: number): void {
    this.#kill(this.#slots[slot]! - 1);
    this.#slots[slot] = TOMBSTONE;
    this.#size--;
  }

  /** Marks a record garbage: its pair was deleted or moved. */
  #kill(record: number): void {
    const word = this.#words[record >>> 2]!;
    if (word & EXPIRES) this.#expiring--;
    this.#liveBytes -= recordBytes(word, this.#words[(record >>> 2) + 1]!);
    this.#words[record >>> 2] = (word | DEAD) >>> 0;
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
    this.#sweepSlot = 0;
  }

  /** Writes a new record at the top of the arena; returns its offset. */
  #append(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
    flags: number,
    expireAt: number,
  ): number {
    const keyLength = keyEnd - keyStart;
    const valueLength = valueEnd - valueStart;
    if (keyLength > KEY_LENGTH) {
      throw new StoreFullError(`Cannot store a key of ${keyLength} bytes (at most ${KEY_LENGTH})`);
    }
    const word = (flags | keyLength) >>> 0;
    const bytes = recordBytes(word, valueLength);
    if (this.#top + bytes > this.#arena.length) this.#makeRoom(bytes);
    const record = this.#top;
    this.#words[record >>> 2] = word;
    this.#words[(record >>> 2) + 1] = valueLength;
    if (flags & EXPIRES) {
      this.#writeExpiry(record, expireAt);
      this.#expiring++;
    }
    const keyAt = this.#dataStart(record, word);
    this.#arena.set(key.subarray(keyStart, keyEnd), keyAt);
    this.#arena.set(value.subarray(valueStart, valueEnd), keyAt + keyLength);
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
        const word = this.#words[record >>> 2]!;
        const size = recordBytes(word, this.#words[(record >>> 2) + 1]!);
        if ((word & DEAD) === 0) {
          arena.set(this.#arena.subarray(record, record + size), top);
          const keyStart = this.#dataStart(record, word);
          const hash = this.#hash(this.#arena, keyStart, keyStart + (word & KEY_LENGTH));
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

/** The bytes a record takes: header, expiry words if any, key and value, padded to 4. */
function recordBytes(word: number, valueLength: number): number {
  const header = HEADER_BYTES + (word & EXPIRES ? EXPIRY_BYTES : 0);
  return (header + (word & KEY_LENGTH) + valueLength + 3) & ~3;
}
