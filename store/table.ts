/**
 * {@linkcode Table}: the index of {@linkcode MemoryStore} (memory.ts), an
 * open-addressing hash table of slots, probed linearly, each pointing at a
 * record in an append-only arena (arena.ts) that is compacted when half of it
 * is garbage. It knows keys by their hash and bytes only: hashing them,
 * expiry and the {@linkcode Store} interface are memory.ts's.
 *
 * A key's home slot is taken from the top bits of its hash, so the table
 * keeps keys in hash order whatever its size: that is what lets
 * {@linkcode Table.scan} walk it in bounded steps with a cursor that
 * survives the table growing.
 *
 * @module
 */

import { Arena, EXPIRES, KEY_LENGTH, TEXT } from "./arena.ts";
import type { Clock } from "./clock.ts";
import { LINE_TEXT, type PairVisitor } from "./store.ts";

// A slot is two int32s side by side in one array, so a probe reads one cache
// line, not one in each of two arrays: the entry, 0 (empty), TOMBSTONE
// (deleted: probing goes on past it) or the record's offset in the arena + 1;
// then the key's hash (as int32: `| 0`).
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

/** The slots of a {@linkcode MemoryStore} and the arena their records live in. */
export class Table {
  /** The records. */
  readonly arena: Arena;
  /** The number of records the slots point at. */
  size = 0;
  #slots = new Int32Array(2 * MIN_SLOTS); // [entry, hash] per slot
  #shift = 32 - Math.log2(MIN_SLOTS); // home slot = hash >>> #shift
  #usedSlots = 0; // Live slots and tombstones.

  /** An empty table whose arena takes at most `maxArenaBytes`. Throws `RangeError` for a size it cannot use. */
  constructor(maxArenaBytes: number) {
    this.arena = new Arena(maxArenaBytes, (move) => {
      // Compaction: every live record moves; its slot follows it.
      const slots = this.#slots;
      for (let i = 0; i < slots.length; i += 2) {
        if (slots[i]! > 0) slots[i] = move(slots[i]! - 1) + 1;
      }
    });
  }

  /** How many slots there are (a power of two). */
  get capacity(): number {
    return this.#slots.length >>> 1;
  }

  /** The offset of the record in `slot`; below 0 if the slot holds none. */
  record(slot: number): number {
    return this.#slots[2 * slot]! - 1;
  }

  /** The slot holding the key whose hash is `hash`, or -1. */
  find(key: Uint8Array, start: number, end: number, hash: number): number {
    const slots = this.#slots;
    const arena = this.arena;
    const mask = (slots.length >>> 1) - 1;
    const signed = hash | 0;
    for (let i = hash >>> this.#shift;; i = (i + 1) & mask) {
      const entry = slots[2 * i]!;
      if (entry === EMPTY) return -1;
      if (
        entry !== TOMBSTONE && slots[2 * i + 1] === signed &&
        arena.keyEquals(entry - 1, key, start, end)
      ) {
        return i;
      }
    }
  }

  /** Empties a live slot; its record becomes garbage. */
  remove(slot: number): void {
    this.arena.kill(this.#slots[2 * slot]! - 1);
    this.#slots[2 * slot] = TOMBSTONE;
    this.size--;
  }

  /** Points a live slot at a new record; the old one becomes garbage. */
  replace(slot: number, record: number): void {
    this.arena.kill(this.#slots[2 * slot]! - 1); // Where compaction may have moved it.
    this.#slots[2 * slot] = record + 1;
  }

  /** Makes room for one more key: call before the record of a new key is appended. */
  reserve(): void {
    if (this.#usedSlots + 1 > this.capacity * MAX_LOAD) this.#rehash();
  }

  /** Puts a record (of a key known not to be in the table) into a free slot; {@linkcode Table.reserve} made room. */
  insert(hash: number, record: number): void {
    const slots = this.#slots;
    const mask = (slots.length >>> 1) - 1;
    let i = hash >>> this.#shift;
    while (slots[2 * i]! > 0) i = (i + 1) & mask;
    if (slots[2 * i] === EMPTY) this.#usedSlots++;
    slots[2 * i] = record + 1;
    slots[2 * i + 1] = hash;
    this.size++;
  }

  /** Rebuilds the table once deletes have left it mostly empty. */
  shrinkIfSparse(): void {
    if (this.capacity > MIN_SLOTS && this.size < this.capacity * MIN_LOAD) {
      this.#rehash();
    }
  }

  /** Empties it, giving its memory back. */
  clear(): void {
    this.#slots = new Int32Array(2 * MIN_SLOTS);
    this.#shift = 32 - Math.log2(MIN_SLOTS);
    this.arena.reset();
    this.size = 0;
    this.#usedSlots = 0;
  }

  /**
   * Visits the pairs whose hash lies in `[cursor, next)`, where `next`
   * covers about `count` home slots, and returns `next` (0 at the end).
   * Pairs whose expiry is at or before `clock.now()` are left out.
   *
   * The cursor is a hash, not a slot: homes follow the hash's top bits, so
   * every key whose hash is in a range lies in the run of slots from the
   * range's first home to the first empty slot after its last one, at any
   * table size. Each key has one hash, so it falls in exactly one step of a
   * walk, however the table grows or is rebuilt between steps.
   */
  scan(cursor: number, count: number, clock: Clock, visit: PairVisitor): number {
    const slots = this.#slots;
    const arena = this.arena;
    const length = slots.length >>> 1;
    const mask = length - 1;
    const shift = this.#shift;
    const from = cursor >>> 0;
    const firstHome = from >>> shift;
    const endHome = Math.min(length, firstHome + Math.max(1, count));
    const to = endHome === length ? HASH_SPACE : endHome * 2 ** shift;
    let time = 0;
    for (let step = 0; step < length; step++) {
      const i = (firstHome + step) & mask;
      const entry = slots[2 * i]!;
      if (entry === EMPTY) {
        if (firstHome + step >= endHome) break;
        continue;
      }
      if (entry === TOMBSTONE) continue;
      const hash = slots[2 * i + 1]! >>> 0;
      if (hash < from || hash >= to) continue;
      const record = entry - 1;
      const word = arena.header(record);
      if (word & EXPIRES) {
        time ||= clock.now();
        if (arena.expireAt(record) <= time) continue;
      }
      const keyStart = arena.keyStart(record, word);
      const valueStart = keyStart + (word & KEY_LENGTH);
      const valueEnd = valueStart + arena.valueLength(record);
      visit(arena.bytes, keyStart, valueStart, valueStart, valueEnd, word & TEXT ? LINE_TEXT : 0);
    }
    return to === HASH_SPACE ? 0 : to;
  }

  /**
   * The longest probe: how many slots past its home the farthest key sits.
   * A diagnostic (tests, INFO): with a keyed hash it stays small for any keys.
   */
  longestProbe(): number {
    const slots = this.#slots;
    const length = slots.length >>> 1;
    const mask = length - 1;
    let longest = 0;
    for (let i = 0; i < length; i++) {
      if (slots[2 * i]! <= 0) continue;
      const distance = (i - (slots[2 * i + 1]! >>> this.#shift)) & mask;
      if (distance > longest) longest = distance;
    }
    return longest;
  }

  /**
   * Rebuilds the table at the size that makes it a quarter full (larger or
   * smaller than now), dropping tombstones.
   */
  #rehash(): void {
    const oldSlots = this.#slots;
    let length = MIN_SLOTS;
    while (this.size > length * MAX_LOAD / 2) length *= 2;
    const slots = new Int32Array(2 * length);
    const mask = length - 1;
    const shift = 32 - Math.log2(length);
    for (let j = 0; j < oldSlots.length; j += 2) {
      const entry = oldSlots[j]!;
      if (entry <= 0) continue;
      const hash = oldSlots[j + 1]!;
      let i = hash >>> shift;
      while (slots[2 * i] !== EMPTY) i = (i + 1) & mask;
      slots[2 * i] = entry;
      slots[2 * i + 1] = hash;
    }
    this.#slots = slots;
    this.#shift = shift;
    this.#usedSlots = this.size;
  }
}
