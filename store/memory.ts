/**
 * {@linkcode MemoryStore}: the in-memory {@linkcode Store}, a hash table whose
 * keys and values live as bytes in one growable arena. The server answers a
 * GET by copying bytes (no string is made or encoded), and a million pairs
 * cost tens of bytes each, not a JavaScript object each.
 *
 * The design is a textbook one: an open-addressing table of slots, probed
 * linearly, each pointing at a record in an append-only arena (arena.ts)
 * that is compacted when half of it is garbage. A key's home slot is taken from the
 * top bits of its hash, so the table keeps keys in hash order whatever its
 * size: that is what lets {@linkcode MemoryStore.scan} walk it in bounded
 * steps with a cursor that survives the table growing.
 *
 * @module
 */

import { Arena, EXPIRES, KEY_LENGTH, MAX_ARENA_BYTES, TEXT } from "./arena.ts";
import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
import { randomSipKey, sipHash12, type SipKey } from "./siphash.ts";
import {
  type ChangeListener,
  LINE_TEXT,
  NO_EXPIRY,
  NO_KEY,
  type PairVisitor,
  type Store,
  type StoreInfo,
  type ValueSink,
  type WriteOptions,
} from "./store.ts";

// A slot holds 0 (empty), TOMBSTONE (deleted: probing goes on past it), or
// the record's offset in the arena + 1.
const EMPTY = 0;
const TOMBSTONE = -1;
// Grow the table before it is half full: linear probing slows sharply past that.
const MAX_LOAD = 0.5;
// Shrink it once it is this empty (as Redis does below a tenth): a table that
// deletes have emptied gives its memory back, and SCAN does not walk it slot
// by empty slot. A rebuilt table is a quarter full, so growing and shrinking
// never follow each other closely.
const MIN_LOAD = 1 / 16;
const MIN_SLOTS = 16;
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
 * import { MemoryStore, TextStore } from "kv";
 * const store = new TextStore(new MemoryStore());
 * store.set("name", "yyjun");
 * console.log(store.get("name")); // "yyjun"
 * ```
 */
export class MemoryStore implements Store {
  #slots = new Int32Array(MIN_SLOTS);
  #hashes = new Uint32Array(MIN_SLOTS);
  #shift = 32 - Math.log2(MIN_SLOTS); // home slot = hash >>> #shift
  readonly #arena: Arena;
  #size = 0;
  #usedSlots = 0; // Live slots and tombstones.
  #expired = 0; // Keys removed because their time had passed, ever.
  #sweepSlot = 0; // Where the next sweep starts.
  // The hash is keyed with a secret drawn per store: without it nobody can
  // compute keys that pile up in one slot (hash flooding).
  readonly #hashKey: SipKey = randomSipKey();
  readonly #clock: Clock;
  #listener: ChangeListener | undefined;

  /** Throws `RangeError` for a `maxArenaBytes` it cannot use. */
  constructor(options: MemoryStoreOptions = {}) {
    this.#arena = new Arena(options.maxArenaBytes ?? MAX_ARENA_BYTES, (move) => {
      // Compaction: every live record moves; its slot follows it.
      const slots = this.#slots;
      for (let i = 0; i < slots.length; i++) {
        if (slots[i]! > 0) slots[i] = move(slots[i]! - 1) + 1;
      }
    });
    this.#clock = options.clock ?? SYSTEM_CLOCK;
  }

  /** The number of pairs held (expired ones not yet reclaimed included). */
  /** From now on, tells `listener` of every change to a key (WATCH); `undefined`: nobody. */
  listen(listener: ChangeListener | undefined): void {
    this.#listener = listener;
  }

  get size(): number {
    return this.#size;
  }

  info(): StoreInfo {
    return {
      expiringKeys: this.#arena.expiring,
      expiredKeys: this.#expired,
      datasetBytes: this.#arena.liveBytes,
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
    // Even a set whose expiry had passed, of a key not there: Redis counts it.
    this.#listener?.keyChanged(key, keyStart, keyEnd);
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
    // Even a set whose expiry had passed, of a key not there: Redis counts it.
    this.#listener?.keyChanged(key, keyStart, keyEnd);
    return slot >= 0;
  }

  /** As {@linkcode MemoryStore.delete}, handing the old value to `old` first, in one lookup. */
  getDelete(key: Uint8Array, start: number, end: number, old: ValueSink): boolean {
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return false;
    this.#give(slot, old);
    this.#remove(slot);
    this.#shrinkIfSparse();
    this.#listener?.keyChanged(key, start, end);
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
    const arena = this.#arena;
    let expireAt = 0;
    let flags = 0;
    if (options !== undefined) {
      if (options.lineText) flags = TEXT;
      if (options.keepTtl) {
        if (slot >= 0) expireAt = arena.expireAt(this.#slots[slot]! - 1);
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
    if (slot >= 0) {
      // Same size and layout (the common overwrite): in place, no new record.
      if (arena.overwrite(this.#slots[slot]! - 1, value, valueStart, valueEnd, flags, expireAt)) {
        return;
      }
    } else if (this.#usedSlots + 1 > this.#slots.length * MAX_LOAD) {
      this.#rehash();
    }
    // Whatever allocates (a larger table, a larger arena) comes before any
    // change: a failure leaves the store as it was, the old value too.
    // Compaction may move records, but never slots: a slot then points at
    // its record's new place.
    const record = arena.append(
      key,
      keyStart,
      keyEnd,
      value,
      valueStart,
      valueEnd,
      flags,
      expireAt,
    );
    if (slot < 0) return this.#insert(hash, record);
    arena.kill(this.#slots[slot]! - 1);
    this.#slots[slot] = record + 1;
  }

  delete(key: Uint8Array, start: number, end: number): boolean {
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return false;
    this.#remove(slot);
    this.#shrinkIfSparse();
    this.#listener?.keyChanged(key, start, end);
    return true;
  }

  expiry(key: Uint8Array, start: number, end: number): number {
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return NO_KEY;
    const expireAt = this.#arena.expireAt(this.#slots[slot]! - 1);
    return expireAt === 0 ? NO_EXPIRY : expireAt;
  }

  expire(key: Uint8Array, start: number, end: number, expireAtMs: number): boolean {
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return false;
    if (expireAtMs > 0 && expireAtMs <= this.#clock.now()) {
      this.#remove(slot);
      this.#shrinkIfSparse();
      this.#listener?.keyChanged(key, start, end);
      return true;
    }
    const arena = this.#arena;
    const record = this.#slots[slot]! - 1;
    const word = arena.header(record);
    if ((word & EXPIRES) === 0 && expireAtMs === 0) return true; // Nothing to remove.
    if ((word & EXPIRES) !== 0 && expireAtMs > 0) {
      arena.writeExpiry(record, expireAtMs);
      this.#listener?.keyChanged(key, start, end);
      return true;
    }
    // The record changes layout (it gains or loses its expiry words): move it.
    const flags = (word & TEXT) | (expireAtMs > 0 ? EXPIRES : 0);
    const moved = arena.copy(record, flags, expireAtMs);
    arena.kill(this.#slots[slot]! - 1); // Where compaction may have moved it.
    this.#slots[slot] = moved + 1;
    this.#listener?.keyChanged(key, start, end);
    return true;
  }

  clear(): void {
    this.#listener?.changedAll(this);
    this.#slots = new Int32Array(MIN_SLOTS);
    this.#hashes = new Uint32Array(MIN_SLOTS);
    this.#shift = 32 - Math.log2(MIN_SLOTS);
    this.#arena.reset();
    this.#size = 0;
    this.#usedSlots = 0;
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
    const arena = this.#arena;
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
      const word = arena.header(record);
      if (word & EXPIRES) {
        now ||= this.#clock.now();
        if (arena.expireAt(record) <= now) continue;
      }
      const keyStart = arena.keyStart(record, word);
      const valueStart = keyStart + (word & KEY_LENGTH);
      const valueEnd = valueStart + arena.valueLength(record);
      visit(arena.bytes, keyStart, valueStart, valueStart, valueEnd, word & TEXT ? LINE_TEXT : 0);
    }
    return to === HASH_SPACE ? 0 : to;
  }

  /**
   * The active expiry cycle: walks the table from where the last sweep
   * stopped, removing keys whose time has passed, for about `budgetMs`
   * (at most one full turn of the table). Returns how many it removed.
   */
  sweep(budgetMs: number): number {
    const arena = this.#arena;
    if (arena.expiring === 0) return 0;
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
        if ((arena.header(record) & EXPIRES) && arena.expireAt(record) <= now) {
          this.#remove(slot);
          this.#expired++;
          removed++;
        }
      }
      if (arena.expiring === 0 || performance.now() - started >= budgetMs) break;
    }
    if (removed > 0) this.#shrinkIfSparse();
    return removed;
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

  // --- The table. ----------------------------------------------------------

  /** Hands the value in a live slot to `out`, with its flags and expiry. */
  #give(slot: number, out: ValueSink): void {
    const arena = this.#arena;
    const record = this.#slots[slot]! - 1;
    const word = arena.header(record);
    const valueStart = arena.keyStart(record, word) + (word & KEY_LENGTH);
    const valueEnd = valueStart + arena.valueLength(record);
    out.addBytes(
      arena.bytes,
      valueStart,
      valueEnd,
      word & TEXT ? LINE_TEXT : 0,
      word & EXPIRES ? arena.expireAt(record) : 0,
    );
  }

  /** SipHash-1-2 under this store's secret key (FNV-1a, before, admits multicollisions whatever its seed). */
  #hash(key: Uint8Array, start: number, end: number): number {
    return sipHash12(this.#hashKey, key, start, end);
  }

  /** The slot holding the key, or -1. A key whose time has passed is removed here (lazy expiry). */
  #find(key: Uint8Array, start: number, end: number, hash: number): number {
    const slots = this.#slots;
    const arena = this.#arena;
    const mask = slots.length - 1;
    for (let i = hash >>> this.#shift;; i = (i + 1) & mask) {
      const entry = slots[i]!;
      if (entry === EMPTY) return -1;
      if (
        entry !== TOMBSTONE && this.#hashes[i] === hash &&
        arena.keyEquals(entry - 1, key, start, end)
      ) {
        const record = entry - 1;
        if ((arena.header(record) & EXPIRES) && arena.expireAt(record) <= this.#clock.now()) {
          this.#remove(i);
          this.#expired++;
          return -1;
        }
        return i;
      }
    }
  }

  /** Empties a live slot. */
  #remove(slot: number): void {
    this.#arena.kill(this.#slots[slot]! - 1);
    this.#slots[slot] = TOMBSTONE;
    this.#size--;
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

  /** Rebuilds the table once deletes have left it mostly empty. */
  #shrinkIfSparse(): void {
    if (this.#slots.length > MIN_SLOTS && this.#size < this.#slots.length * MIN_LOAD) {
      this.#rehash();
    }
  }

  /**
   * Rebuilds the table at the size that makes it a quarter full (larger or
   * smaller than now), dropping tombstones.
   */
  #rehash(): void {
    const oldSlots = this.#slots;
    const oldHashes = this.#hashes;
    let length = MIN_SLOTS;
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
}
