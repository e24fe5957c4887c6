/**
 * {@linkcode MemoryStore}: the in-memory {@linkcode Store}. Its keys and
 * values live as bytes in one growable arena (arena.ts), found through an
 * open-addressing hash table (table.ts): the server answers a GET by copying
 * bytes (no string is made or encoded), and a million pairs cost tens of
 * bytes each, not a JavaScript object each. This file is what the table does
 * not know: the keyed hash, expiry (lazy on each lookup, and the sweep), the
 * listener that WATCH installs, and the {@linkcode Store} interface.
 *
 * @module
 */

import { EXPIRES, KEY_LENGTH, MAX_ARENA_BYTES, TEXT } from "./arena.ts";
import { extendRecord, truncateRecord } from "./arena_extend.ts";
import { writeRange } from "./arena_range.ts";
import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
import { randomSipKey, sipHash12, type SipKey } from "./siphash.ts";
import {
  type ChangeListener,
  checkExpiry,
  LINE_TEXT,
  NO_EXPIRY,
  NO_KEY,
  type PairVisitor,
  type Store,
  type StoreInfo,
  type ValueSink,
  type WriteOptions,
} from "./store.ts";
import { Sweeper } from "./sweeper.ts";
import { Table } from "./table.ts";

// APPEND's set of a missing key to bytes of line text.
const LINE_TEXT_WRITE: WriteOptions = { lineText: true };

/** Options of {@linkcode MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * The most bytes the arena may take: keys, values and a header per pair
   * (8 bytes, 16 with an expiry), padded to 4 bytes, and the room a value
   * that APPEND moved keeps to grow into (as much as it holds, up to 1 MiB,
   * as Redis's strings do). A multiple of 4, from 1024.
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
  readonly #table: Table;
  // The active expiry cycle's place and figures (and the keys lazy expiry removed).
  readonly #sweeper = new Sweeper();
  // The hash is keyed with a secret drawn per store: without it nobody can
  // compute keys that pile up in one slot (hash flooding).
  readonly #hashKey: SipKey = randomSipKey();
  readonly #clock: Clock;
  #listener: ChangeListener | undefined;

  /** Throws `RangeError` for a `maxArenaBytes` it cannot use. */
  constructor(options?: MemoryStoreOptions) {
    options ??= {};
    this.#table = new Table(options.maxArenaBytes ?? MAX_ARENA_BYTES);
    this.#clock = options.clock ?? SYSTEM_CLOCK;
  }

  /**
   * From now on, tells `listener` of every change to a key (WATCH);
   * `undefined`: nobody. Set yours before a server on this store has a
   * key watched ({@linkcode Store.listen}).
   */
  listen(listener: ChangeListener | undefined): void {
    this.#listener = listener;
  }

  /** The listener set now ({@linkcode Store.listener}). */
  get listener(): ChangeListener | undefined {
    return this.#listener;
  }

  /** Where expiry reads the time. */
  get clock(): Clock {
    return this.#clock;
  }

  /** The number of pairs held (expired ones not yet reclaimed included). */
  get size(): number {
    return this.#table.size;
  }

  /** {@linkcode Store.room}: what the arena surely has room for (a pair of a key past its limit never fits it). */
  room(): number {
    return Math.min(this.#table.arena.room(), KEY_LENGTH);
  }

  /** {@linkcode Store.load}: the arena's cap is lifted while a log loads (Arena.load says why). */
  load(on: boolean): void {
    this.#table.arena.load(on);
  }

  info(): StoreInfo {
    const arena = this.#table.arena;
    return {
      expiringKeys: arena.expiring,
      expiredKeys: this.#sweeper.expired,
      datasetBytes: arena.liveBytes,
      avgTtlMs: arena.expiring === 0 ? 0 : this.#sweeper.avgTtlMs,
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
    if (options?.expireAtMs !== undefined) checkExpiry(options.expireAtMs);
    const hash = this.#hash(key, keyStart, keyEnd);
    const slot = this.#find(key, keyStart, keyEnd, hash);
    this.#setAt(hash, slot, key, keyStart, keyEnd, value, valueStart, valueEnd, options);
    // Even a set whose expiry had passed, of a key not there: Redis counts it.
    this.#listener?.keyChanged(key, keyStart, keyEnd);
  }

  /**
   * {@linkcode Store.append}: grows the value where it lies when it can (a
   * value that APPEND moved keeps room to spare), so n appends to a key
   * copy O(n) bytes.
   */
  append(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
    options?: WriteOptions,
  ): number {
    const hash = this.#hash(key, keyStart, keyEnd);
    const slot = this.#find(key, keyStart, keyEnd, hash);
    let length = valueEnd - valueStart;
    if (slot < 0) {
      const lineText = options?.lineText === true ? LINE_TEXT_WRITE : undefined;
      this.#setAt(hash, slot, key, keyStart, keyEnd, value, valueStart, valueEnd, lineText);
    } else {
      const arena = this.#table.arena;
      const record = this.#table.record(slot);
      const text = options?.lineText === true;
      length = this.#grown(slot, extendRecord(arena, record, value, valueStart, valueEnd, text));
    }
    this.#listener?.keyChanged(key, keyStart, keyEnd);
    return length;
  }

  /**
   * {@linkcode Store.truncate}: the value gets shorter where it lies; the
   * bytes cut off become the record's room to spare (still counted toward
   * the store's size), for the appends that may follow.
   */
  truncate(
    key: Uint8Array,
    start: number,
    end: number,
    length: number,
    options?: WriteOptions,
  ): boolean {
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return false;
    if (
      !truncateRecord(
        this.#table.arena,
        this.#table.record(slot),
        length,
        options?.lineText === true,
      )
    ) {
      return false;
    }
    this.#listener?.keyChanged(key, start, end);
    return true;
  }

  /** {@linkcode Store.setRange}: written where the value lies (arena_range.ts). */
  setRange(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    offset: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
  ): number {
    const hash = this.#hash(key, keyStart, keyEnd);
    const slot = this.#find(key, keyStart, keyEnd, hash);
    let length = offset + valueEnd - valueStart;
    if (slot < 0) {
      const whole = new Uint8Array(length);
      whole.set(value.subarray(valueStart, valueEnd), offset);
      this.#setAt(hash, slot, key, keyStart, keyEnd, whole, 0, length, undefined);
    } else {
      const arena = this.#table.arena;
      const record = this.#table.record(slot);
      length = this.#grown(slot, writeRange(arena, record, offset, value, valueStart, valueEnd));
    }
    this.#listener?.keyChanged(key, keyStart, keyEnd);
    return length;
  }

  /**
   * After APPEND or SETRANGE changed the record of `slot`'s pair, now at
   * `record`: if it moved, the slot takes it and the old one is garbage,
   * wherever a compaction put it (the slot says where: the new record may
   * lie where the old one was). Returns the value's length.
   */
  #grown(slot: number, record: number): number {
    const table = this.#table;
    if (record !== table.record(slot)) table.replace(slot, record);
    return table.arena.valueLength(record);
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
    if (options?.expireAtMs !== undefined) checkExpiry(options.expireAtMs);
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
    this.#removeAndShrink(slot);
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
    const table = this.#table;
    const arena = table.arena;
    let expireAt = 0;
    let flags = 0;
    if (options !== undefined) {
      if (options.lineText) flags = TEXT;
      if (options.keepTtl) {
        if (slot >= 0) expireAt = arena.expireAt(table.record(slot));
      } else if (options.expireAtMs) {
        expireAt = options.expireAtMs;
        if (expireAt <= this.#clock.now()) {
          // Redis: a SET whose expiry has passed leaves no key behind.
          if (slot >= 0) table.remove(slot);
          return;
        }
      }
    }
    if (expireAt > 0) flags |= EXPIRES;
    if (slot >= 0) {
      // Same size and layout (the common overwrite): in place, no new record.
      if (arena.overwrite(table.record(slot), value, valueStart, valueEnd, flags, expireAt)) {
        return;
      }
    } else {
      table.reserve();
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
      options?.reclaim,
    );
    if (slot < 0) table.insert(hash, record);
    else table.replace(slot, record);
  }

  delete(key: Uint8Array, start: number, end: number): boolean {
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return false;
    this.#removeAndShrink(slot);
    this.#listener?.keyChanged(key, start, end);
    return true;
  }

  expiry(key: Uint8Array, start: number, end: number): number {
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return NO_KEY;
    const expireAt = this.#table.arena.expireAt(this.#table.record(slot));
    return expireAt === 0 ? NO_EXPIRY : expireAt;
  }

  expire(key: Uint8Array, start: number, end: number, expireAtMs: number): boolean {
    checkExpiry(expireAtMs);
    const slot = this.#find(key, start, end, this.#hash(key, start, end));
    if (slot < 0) return false;
    if (expireAtMs > 0 && expireAtMs <= this.#clock.now()) {
      this.#removeAndShrink(slot);
      this.#listener?.keyChanged(key, start, end);
      return true;
    }
    const table = this.#table;
    const arena = table.arena;
    const record = table.record(slot);
    const word = arena.header(record);
    if ((word & EXPIRES) === 0 && expireAtMs === 0) return true; // Nothing to remove.
    if ((word & EXPIRES) !== 0 && expireAtMs > 0) {
      arena.writeExpiry(record, expireAtMs);
      this.#listener?.keyChanged(key, start, end);
      return true;
    }
    // The record changes layout (it gains or loses its expiry words): move it.
    const flags = (word & TEXT) | (expireAtMs > 0 ? EXPIRES : 0);
    table.replace(slot, arena.copy(record, flags, expireAtMs));
    this.#listener?.keyChanged(key, start, end);
    return true;
  }

  clear(): void {
    this.#listener?.changedAll(this);
    this.#table.clear();
    this.#sweeper.restart();
  }

  /**
   * Visits the pairs whose hash lies in `[cursor, next)`, where `next`
   * covers about `count` home slots, and returns `next` (0 at the end); a
   * walk from 0 to 0 visits every pair there for all of it exactly once,
   * however the table changes between steps (table.ts says how). Pairs
   * whose time has passed are left out.
   */
  scan(cursor: number, count: number, visit: PairVisitor): number {
    return this.#table.scan(cursor, count, this.#clock, visit);
  }

  /**
   * The active expiry cycle: walks the table from where the last sweep
   * stopped, removing keys whose time has passed, for about `budgetMs`
   * (at most one full turn of the table). Returns how many it removed.
   */
  sweep(budgetMs: number): number {
    return this.#sweeper.sweep(this.#table, this.#clock, budgetMs);
  }

  /**
   * The longest probe: how many slots past its home the farthest key sits.
   * A diagnostic (tests, INFO): with a keyed hash it stays small for any keys.
   */
  longestProbe(): number {
    return this.#table.longestProbe();
  }

  /** Hands the value in a live slot to `out`, with its flags and expiry. */
  #give(slot: number, out: ValueSink): void {
    const arena = this.#table.arena;
    const record = this.#table.record(slot);
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
    const table = this.#table;
    const slot = table.find(key, start, end, hash);
    if (slot < 0) return -1;
    const arena = table.arena;
    const record = table.record(slot);
    if ((arena.header(record) & EXPIRES) && arena.expireAt(record) <= this.#clock.now()) {
      table.remove(slot);
      this.#sweeper.expired++;
      return -1;
    }
    return slot;
  }

  /** Empties a live slot, and shrinks the table if deletes have left it sparse. */
  #removeAndShrink(slot: number): void {
    this.#table.remove(slot);
    this.#table.shrinkIfSparse();
  }
}
