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
 * A large table is resized a step at a time, as Redis rehashes: the new
 * slots take the keys while the old ones are moved over, a few hundred
 * slots with each insert or delete and more in the expiry sweep, so that
 * no single request pays for moving millions of keys (an 8-million-key
 * table took 300 ms in one go). While it moves, a key whose old home is
 * past the moved part is looked for in the old slots, then in the new. How
 * small a shrink may go, and the longest probe, are table_runs.ts's.
 *
 * @module
 */

import { Arena, EXPIRES, KEY_LENGTH, TEXT } from "./arena.ts";
import type { Clock } from "./clock.ts";
import { LINE_TEXT, type PairVisitor } from "./store.ts";
import { probeLength, shrinkLength } from "./table_runs.ts";

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
// Old slots moved over with each insert or delete while a resize runs: the
// new table has room for twice the keys, and the old one has about four
// slots per key, so the move ends long before the new table fills.
const MOVE_SLOTS = 256;
// A resize from at most this many slots moves them all at once (well under
// a millisecond).
const MOVE_AT_ONCE_SLOTS = 1 << 16;

/** The slots of a {@linkcode MemoryStore} and the arena their records live in. */
export class Table {
  /** The records. */
  readonly arena: Arena;
  /** The number of records the slots point at. */
  size = 0;
  #slots = new Int32Array(2 * MIN_SLOTS); // [entry, hash] per slot
  #shift = 32 - Math.log2(MIN_SLOTS); // home slot = hash >>> #shift
  #usedSlots = 0; // Live slots and tombstones, of #slots.
  // While a resize moves keys over: the old slots. The move began at the
  // empty slot #oldStart and has passed #moved slots since; it stops only at
  // empty slots, so no run of slots is ever split, and a key whose old home
  // lies in the moved part is in #slots.
  #old: Int32Array | undefined;
  #oldShift = 0;
  #oldStart = 0;
  #moved = 0;
  // Deletes try a shrink again only below this many keys (one found the
  // keys too bunched to shrink).
  #shrinkBelow = Infinity;

  /** An empty table whose arena takes at most `maxArenaBytes`. Throws `RangeError` for a size it cannot use. */
  constructor(maxArenaBytes: number) {
    this.arena = new Arena(maxArenaBytes, (move) => {
      // Compaction: every live record moves; its slot follows it.
      for (const slots of [this.#slots, this.#old]) {
        if (slots === undefined) continue;
        for (let i = 0; i < slots.length; i += 2) {
          if (slots[i]! > 0) slots[i] = move(slots[i]! - 1) + 1;
        }
      }
    });
  }

  /** How many slots there are (a power of two); while a resize runs, in the new table. */
  get capacity(): number {
    return this.#slots.length >>> 1;
  }

  /**
   * How many slot numbers there are: {@linkcode Table.capacity}, and while a
   * resize runs, the old slots after them. A walk of every slot (the expiry
   * sweep) goes from 0 to this.
   */
  get slotCount(): number {
    return (this.#slots.length + (this.#old?.length ?? 0)) >>> 1;
  }

  /**
   * The first slot number in `[from, from + span)` that holds a record (in
   * the new slots, then the old ones while a resize runs), or -1: a walk of
   * every slot (the expiry sweep) skips the empty ones at the speed of one
   * array read each.
   */
  nextRecord(from: number, span: number): number {
    const slots = this.#slots;
    const length = slots.length >>> 1;
    const end = from + span;
    let i = from;
    for (; i < end && i < length; i++) if (slots[2 * i]! > 0) return i;
    const old = this.#old;
    if (old !== undefined) {
      for (; i < end; i++) if (old[2 * (i - length)]! > 0) return i;
    }
    return -1;
  }

  /** Whether a resize is moving keys over (tests, diagnostics). */
  get resizing(): boolean {
    return this.#old !== undefined;
  }

  /** The offset of the record in `slot`; below 0 if the slot holds none. */
  record(slot: number): number {
    const slots = this.#slots;
    if (2 * slot < slots.length) return slots[2 * slot]! - 1;
    return this.#old![2 * slot - slots.length]! - 1;
  }

  /** The slot holding the key whose hash is `hash`, or -1. */
  find(key: Uint8Array, start: number, end: number, hash: number): number {
    if (this.#old !== undefined && !this.#movedHome(hash)) {
      const slot = this.#findOld(key, start, end, hash);
      if (slot >= 0) return slot;
      // Not moved over, or inserted since the resize began: in the new slots.
    }
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

  /** The slot in the old slots (numbered after the new ones) holding the key, or -1. */
  #findOld(key: Uint8Array, start: number, end: number, hash: number): number {
    const old = this.#old!;
    const arena = this.arena;
    const mask = (old.length >>> 1) - 1;
    const signed = hash | 0;
    for (let i = hash >>> this.#oldShift;; i = (i + 1) & mask) {
      const entry = old[2 * i]!;
      if (entry === EMPTY) return -1;
      if (
        entry !== TOMBSTONE && old[2 * i + 1] === signed &&
        arena.keyEquals(entry - 1, key, start, end)
      ) {
        return (this.#slots.length >>> 1) + i;
      }
    }
  }

  /** While a resize runs: whether the key of `hash` has its old home in the part moved over. */
  #movedHome(hash: number): boolean {
    const mask = (this.#old!.length >>> 1) - 1;
    return (((hash >>> this.#oldShift) - this.#oldStart) & mask) < this.#moved;
  }

  /** Empties a live slot; its record becomes garbage. */
  remove(slot: number): void {
    const slots = this.#slots;
    const at = 2 * slot;
    if (at < slots.length) {
      this.arena.kill(slots[at]! - 1);
      slots[at] = TOMBSTONE;
    } else {
      const old = this.#old!;
      this.arena.kill(old[at - slots.length]! - 1);
      old[at - slots.length] = TOMBSTONE;
    }
    this.size--;
  }

  /** Points a live slot at a new record; the old one becomes garbage. */
  replace(slot: number, record: number): void {
    const slots = this.#slots;
    const at = 2 * slot;
    // The old record, where compaction may have moved it, becomes garbage.
    if (at < slots.length) {
      this.arena.kill(slots[at]! - 1);
      slots[at] = record + 1;
    } else {
      const old = this.#old!;
      this.arena.kill(old[at - slots.length]! - 1);
      old[at - slots.length] = record + 1;
    }
  }

  /**
   * Makes room for one more key: call before the record of a new key is
   * appended (a slot number found before it may be stale after it).
   */
  reserve(): void {
    if (this.#old !== undefined) this.#move(MOVE_SLOTS);
    if (this.#usedSlots + 1 > this.capacity * MAX_LOAD) {
      if (this.#old !== undefined) this.#move(Infinity); // Inserts outran the move: rare.
      if (this.#usedSlots + 1 > this.capacity * MAX_LOAD) this.#resize();
    }
  }

  /**
   * Moves old slots over for about `budgetMs` (the expiry sweep calls it, so
   * that a resize ends even when no write comes). Slot numbers found before
   * it may be stale after it.
   */
  moveFor(budgetMs: number): void {
    if (this.#old === undefined) return;
    const started = performance.now();
    do this.#move(16 * MOVE_SLOTS); while (
      this.#old !== undefined && performance.now() - started < budgetMs
    );
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

  /**
   * After a delete: moves old slots over if a resize runs, else rebuilds the
   * table smaller once deletes have left it mostly empty. Slot numbers found
   * before it may be stale after it.
   */
  shrinkIfSparse(): void {
    if (this.#old !== undefined) this.#move(MOVE_SLOTS);
    else if (
      this.capacity > MIN_SLOTS && this.size < this.capacity * MIN_LOAD &&
      this.size < this.#shrinkBelow
    ) {
      this.#resize();
    }
  }

  /** Empties it, giving its memory back. */
  clear(): void {
    this.#old = undefined;
    this.#shrinkBelow = Infinity;
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
    const length = this.#slots.length >>> 1;
    const shift = this.#shift;
    const from = cursor >>> 0;
    const firstHome = from >>> shift;
    const endHome = Math.min(length, firstHome + Math.max(1, count));
    const to = endHome === length ? HASH_SPACE : endHome * 2 ** shift;
    this.#visit(this.#slots, shift, from, to, clock, visit);
    // While a resize runs, each key is in the old slots or the new, never
    // both, and nothing moves during one step.
    if (this.#old !== undefined) this.#visit(this.#old, this.#oldShift, from, to, clock, visit);
    return to === HASH_SPACE ? 0 : to;
  }

  /** Visits the live pairs of `slots` (homes at `hash >>> shift`) whose hash lies in `[from, to)`. */
  #visit(
    slots: Int32Array,
    shift: number,
    from: number,
    to: number,
    clock: Clock,
    visit: PairVisitor,
  ): void {
    const arena = this.arena;
    const length = slots.length >>> 1;
    const mask = length - 1;
    const firstHome = from >>> shift;
    // The home after the last one a hash below `to` can have.
    const endHome = to === HASH_SPACE ? length : Math.ceil(to / 2 ** shift);
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
  }

  /**
   * The longest probe: how many slots past its home the farthest key sits.
   * A diagnostic (tests, INFO): with a keyed hash it stays small for any keys.
   */
  longestProbe(): number {
    let longest = probeLength(this.#slots, this.#shift);
    if (this.#old !== undefined) {
      longest = Math.max(longest, probeLength(this.#old, this.#oldShift));
    }
    return longest;
  }

  /**
   * Starts a resize to the size that makes the table a quarter full (larger
   * or smaller than now), dropping tombstones: new slots, into which the old
   * ones are moved over, all at once if there are few. The new slots are
   * allocated before anything changes (a `RangeError` leaves the table as it
   * was).
   */
  #resize(): void {
    let length = MIN_SLOTS;
    while (this.size > length * MAX_LOAD / 2) length *= 2;
    if (length < this.capacity) {
      length = shrinkLength(this.#slots, length);
      if (length >= this.capacity) {
        // The keys left are bunched: no smaller table holds them well. Try
        // again once half of them are gone.
        this.#shrinkBelow = this.size / 2;
        return;
      }
    }
    this.#shrinkBelow = Infinity;
    const slots = new Int32Array(2 * length);
    const old = this.#slots;
    // The move starts at an empty slot (there is one: the table is at most
    // half full), so that no run of slots crosses where it starts.
    let start = 0;
    while (old[2 * start] !== EMPTY) start++;
    this.#old = old;
    this.#oldShift = this.#shift;
    this.#oldStart = start;
    this.#moved = 0;
    this.#slots = slots;
    this.#shift = 32 - Math.log2(length);
    this.#usedSlots = 0;
    if (old.length >>> 1 <= MOVE_AT_ONCE_SLOTS) this.#move(Infinity);
  }

  /**
   * Moves at least `count` old slots over (all that are left, if fewer),
   * and on to the next empty one, so that the part moved ends where no run
   * of slots crosses. Moved slots are emptied: a scan of the old slots then
   * sees only what is left to move.
   */
  #move(count: number): void {
    const old = this.#old!;
    const oldLength = old.length >>> 1;
    const oldMask = oldLength - 1;
    const slots = this.#slots;
    const mask = (slots.length >>> 1) - 1;
    const shift = this.#shift;
    const target = Math.min(oldLength, this.#moved + count);
    let moved = this.#moved;
    let used = this.#usedSlots;
    for (let j = (this.#oldStart + moved) & oldMask; moved < oldLength; j = (j + 1) & oldMask) {
      const entry = old[2 * j]!;
      if (entry === EMPTY) {
        if (moved >= target) break;
      } else if (entry > 0) {
        const hash = old[2 * j + 1]!;
        let i = hash >>> shift;
        while (slots[2 * i] !== EMPTY) i = (i + 1) & mask;
        slots[2 * i] = entry;
        slots[2 * i + 1] = hash;
        used++;
      }
      old[2 * j] = EMPTY;
      moved++;
    }
    this.#moved = moved;
    this.#usedSlots = used;
    if (moved === oldLength) this.#old = undefined;
  }
}
