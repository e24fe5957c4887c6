/**
 * The {@linkcode Store} interface: the byte API that every command handler
 * uses, and that every backend implements. The in-memory table
 * ({@linkcode MemoryStore}) is one implementation; a log wraps one and
 * implements the same interface, so neither the handlers nor the connection
 * loop learn which they hold.
 *
 * Keys and values cross this interface as positions in byte arrays
 * (`bytes[start, end)`), so the server's hot path copies bytes from a request
 * into the store and from the store into an answer without making strings.
 *
 * @module
 */

import type { Clock } from "./clock.ts";

/**
 * A flag of a stored value: it was written as one line of the line protocol
 * (`PUT`), so that protocol can show it back as it is. A value written by a
 * Redis client has no such flag; the line protocol shows it only if it is
 * UTF-8 text with no `\n` or `\r` (PROTOCOL.md, Redis clients).
 */
export const LINE_TEXT: number = 1;

/** Receives a value's bytes, `bytes[start, end)`, valid only during the call. */
export interface ValueSink {
  /**
   * Takes `bytes[start, end)`, with the value's flags ({@linkcode LINE_TEXT})
   * and, if the store tells, its expiry in ms since the epoch (0: none), so
   * that a caller who needs both (the log's undo) makes one lookup, not two.
   */
  addBytes(
    bytes: Uint8Array,
    start: number,
    end: number,
    flags?: number,
    expireAtMs?: number,
  ): void;
}

/**
 * Receives one pair of a {@linkcode Store.scan}: the key is
 * `bytes[keyStart, keyEnd)` and the value `bytes[valueStart, valueEnd)`,
 * valid only during the call; `flags` as in {@linkcode ValueSink}.
 */
export type PairVisitor = (
  bytes: Uint8Array,
  keyStart: number,
  keyEnd: number,
  valueStart: number,
  valueEnd: number,
  flags: number,
) => void;

/** How a write treats the key's expiry and flags. */
export interface WriteOptions {
  /**
   * When the key expires, in ms since the epoch (below 2^53; a time already
   * past deletes the key); absent or 0: never. Anything else throws
   * `RangeError`.
   */
  expireAtMs?: number;
  /** Keep the expiry the key had (Redis's `KEEPTTL`); wins over `expireAtMs`. */
  keepTtl?: boolean;
  /** The value was written as a line of the line protocol ({@linkcode LINE_TEXT}). */
  lineText?: boolean;
  /**
   * Make room by reclaiming whatever the store can, however little (a store
   * at its cap may otherwise refuse to compact for a few bytes). For
   * putting back a value the store held a moment ago (MSET on a full store),
   * which then always fits.
   */
  reclaim?: boolean;
}

/** What {@linkcode Store.room} counts for a pair besides its key and value. */
export const PAIR_OVERHEAD_BYTES = 20;

/** {@linkcode Store.expiry} of a key that is not there. */
export const NO_KEY: number = -2;
/** {@linkcode Store.expiry} of a key that never expires. */
export const NO_EXPIRY: number = -1;

/**
 * Told of each change a store makes (WATCH, command/watch.ts): what Redis
 * counts as one. A set (even of the same value), a delete of a key that was
 * there, a new or removed expiry; not a write that changed nothing, nor a
 * key whose time passed.
 */
export interface ChangeListener {
  /** The key `key[start, end)` changed. */
  keyChanged(key: Uint8Array, start: number, end: number): void;
  /** Every key `store` holds changes: it is about to be cleared, or was just put back whole. */
  changedAll(store: Store): void;
}

/**
 * A key-value store over bytes, with expiry. A key whose expiry has passed
 * is gone for every method, whether or not its memory has been reclaimed.
 */
export interface Store {
  /** The number of keys held (keys expired but not yet reclaimed included). */
  readonly size: number;

  /**
   * Optional: where the store reads the time for expiry. A server on the
   * store reads the same one (Redis's TTL commands count from it), unless
   * it is given its own, which must then be this one.
   */
  readonly clock?: Clock;

  /**
   * Optional: from now on, tells `listener` of every change to a key (or
   * nobody, with `undefined`). Redis's WATCH needs it (command/watch.ts).
   * One listener at a time: a store shared by two servers serves WATCH on
   * one of them only. A server on the store sets its own while a Redis
   * client WATCHes keys, and hands every change on to the one it found
   * ({@linkcode Store.listener}), which it puts back once nothing is
   * watched: a listener of yours, set before, hears every change. One set
   * while a key is watched would take the server's place, and WATCH would
   * miss changes.
   */
  listen?(listener: ChangeListener | undefined): void;

  /**
   * Optional, with `listen`: the listener set now. Without it, a server
   * that listens for WATCH cannot hand changes on to yours, and removes it
   * once nothing is watched.
   */
  readonly listener?: ChangeListener;

  /**
   * Adds the value of the key `key[start, end)` to `out`. Returns `false`,
   * adding nothing, if the key is missing.
   */
  get(key: Uint8Array, start: number, end: number, out: ValueSink): boolean;

  /**
   * Sets the key `key[keyStart, keyEnd)` to `value[valueStart, valueEnd)`,
   * replacing any value it had; its expiry is cleared unless `options` says
   * otherwise. An expiry already past deletes the key. Throws
   * {@linkcode StoreFullError}, changing nothing, if there is no room.
   */
  set(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
    options?: WriteOptions,
  ): void;

  /**
   * Optional: appends `value[valueStart, valueEnd)` to the value of the key
   * `key[keyStart, keyEnd)` (Redis's APPEND), or sets it to that if the key
   * is missing, and returns the value's new length. The key keeps its
   * expiry. The value stays {@linkcode LINE_TEXT} only if it was and
   * `options.lineText` says the added bytes are line text too; `options`'
   * other fields are not read. Throws {@linkcode StoreFullError}, changing
   * nothing, if there is no room. A store that can grow a value where it
   * lies makes n appends cost O(n) bytes copied, not O(n^2); a caller
   * without it reads the value, and sets it whole with `keepTtl`.
   */
  append?(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
    options?: WriteOptions,
  ): number;

  /**
   * Optional, for a log that undoes or replays an APPEND (store/log.ts):
   * cuts the value of the key `key[start, end)` to its first `length` bytes,
   * keeping its expiry; the value is {@linkcode LINE_TEXT} if and only if
   * `options.lineText` says so (`options`' other fields are not read).
   * Returns `false`, changing nothing, if the key is missing or its value is
   * shorter than `length`. It never needs room, so it never throws
   * {@linkcode StoreFullError}: a store that grows values where they lie
   * may keep the bytes cut off as room for the next append.
   */
  truncate?(
    key: Uint8Array,
    start: number,
    end: number,
    length: number,
    options?: WriteOptions,
  ): boolean;

  /**
   * Optional: writes `value[valueStart, valueEnd)` over the value of the key
   * `key[keyStart, keyEnd)` from byte `offset` on (Redis's SETRANGE), padding
   * with zero bytes past its end, or sets it to that much padding and the
   * bytes if the key is missing; returns the value's new length. The key
   * keeps its expiry; the value is no longer {@linkcode LINE_TEXT}. Throws
   * {@linkcode StoreFullError}, changing nothing, if there is no room. A
   * store that writes where the value lies makes a few bytes into a large
   * value cost a few bytes copied; a caller without it reads the value, and
   * sets it whole with `keepTtl`.
   */
  setRange?(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    offset: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
  ): number;

  /** Removes the key `key[start, end)`. Returns whether it was there. */
  delete(key: Uint8Array, start: number, end: number): boolean;

  /**
   * Optional, for a store whose changes another one may have to undo (a
   * log): as `set`, but first hands the key's old value to `old` (with its
   * flags and expiry), in one lookup. Returns whether the key was there.
   */
  getSet?(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
    options: WriteOptions | undefined,
    old: ValueSink,
  ): boolean;

  /** Optional, as `getSet`: as `delete`, handing the old value to `old` first. */
  getDelete?(key: Uint8Array, start: number, end: number, old: ValueSink): boolean;

  /**
   * When the key `key[start, end)` expires, in ms since the epoch;
   * {@linkcode NO_EXPIRY} if never, {@linkcode NO_KEY} if it is not there.
   */
  expiry(key: Uint8Array, start: number, end: number): number;

  /**
   * Sets when the key expires (`expireAtMs` in ms since the epoch, below
   * 2^53; 0 makes it persist; a time already past deletes it).
   * Returns whether the key was there. Throws {@linkcode StoreFullError} as
   * `set` does, and `RangeError` for any other `expireAtMs`.
   */
  expire(key: Uint8Array, start: number, end: number, expireAtMs: number): boolean;

  /** Removes every key. */
  clear(): void;

  /**
   * Visits some pairs, from `cursor` on, and returns the cursor to go on
   * from: 0 once every pair has been visited. Start with 0. `count` bounds
   * the work of one call (about that many table slots), so a caller can
   * stream a large store in bounded steps.
   *
   * Across calls, with changes in between: a pair present for the whole
   * walk is visited exactly once; a pair added, changed or removed during it
   * is visited at most once, with its old or its new value.
   */
  scan(cursor: number, count: number, visit: PairVisitor): number;

  /**
   * Reclaims the memory of expired keys, for at most about `budgetMs`
   * milliseconds; returns how many it removed. The server calls it a few
   * times a second (the active expiry cycle); a store without expiry of its
   * own may leave it out.
   */
  sweep?(budgetMs: number): number;

  /** Figures for INFO, if the store keeps them. */
  info?(): StoreInfo;

  /**
   * Optional: how many bytes of new pairs, each counted as its key, its
   * value and {@linkcode PAIR_OVERHEAD_BYTES} (20) bytes more, the store surely has
   * room for now: sets that add up to no more throw no
   * {@linkcode StoreFullError}. A command that must change several keys all
   * or none (MSET) checks it first; past it, or without it, it keeps what
   * each set replaced, to put it back if one does not fit.
   */
  room?(): number;

  /**
   * Optional: begins (`true`) or ends (`false`) the load of a log into the
   * store (openLog). A log holds only writes the store accepted, but its
   * replay is laid out otherwise (keys whose time has passed are not there;
   * a compaction's walk saw pairs at different moments; values move, and
   * keep room for APPEND, at other times), so under the cap a write the
   * store once took could be refused and the server could not start. So a
   * store with a cap lets a load pass it; ending the load brings it back
   * within its cap, or throws {@linkcode StoreFullError} if the data loaded
   * takes more (a log written under a larger cap).
   */
  load?(on: boolean): void;

  /**
   * For a store that makes changes durable (a log, `kv serve --data`): waits
   * until every change made so far is as durable as the store promises, and
   * resolves `true`; or resolves `false` if they could not be made durable,
   * in which case they have been undone. Returns `undefined` when there is
   * nothing to wait for, so a read-only batch costs nothing.
   *
   * A connection calls it after running a batch of requests and before
   * writing their answers, with no `await` in between (handlers are
   * synchronous), so the changes of its batch are among those it waits
   * for (a batch that lets the event loop turn midway, a long `LIST`,
   * commits what it changed so far first); on `false` it answers that batch's writes with an error. It waits
   * even after a batch of reads while others' changes are pending, so no
   * answer shows a value that a crash could still take back. A store
   * without durability leaves it out.
   */
  commit?(): Promise<boolean> | undefined;

  /**
   * Optional: runs `change`, whose changes are one command's (an MSET, a
   * DEL of several keys, a transaction's EXEC): a store that keeps them
   * durable keeps all of them or none across a crash. A store without
   * durability leaves it out, and the caller runs `change` itself.
   */
  together?(change: () => void): void;

  /**
   * A store with `commit()` whose file is closed: every change from now on
   * is undone (the server says the data file is closed, not that the disk
   * failed). Shut a server down before closing its store.
   */
  readonly closed?: boolean;
}

/** What a store can tell INFO about itself. */
export interface StoreInfo {
  /** Keys that have an expiry. */
  expiringKeys: number;
  /** Keys removed because their time had passed, ever. */
  expiredKeys: number;
  /** Bytes of keys and values held. */
  datasetBytes: number;
  /**
   * An estimate of the time left to keys that have an expiry, in ms, as
   * Redis's `avg_ttl`: a running average of what the expiry sweep sees (0
   * before it has seen any, and once none are left). @default {0}
   */
  avgTtlMs?: number;
}

/** The latest expiry a store takes: 2^53 - 1 ms since the epoch (the year 287,396). */
export const MAX_EXPIRY_MS: number = Number.MAX_SAFE_INTEGER;

/**
 * Throws `RangeError` unless `ms` is an expiry a store takes: 0 (none) or a
 * time in ms since the epoch, from 0 to {@linkcode MAX_EXPIRY_MS} (a
 * fraction is dropped). NaN, Infinity or a negative number would otherwise
 * mean "never" to one check and "already past" to another.
 */
export function checkExpiry(ms: number): void {
  if (!(ms >= 0 && ms <= MAX_EXPIRY_MS)) {
    throw new RangeError(
      `Cannot expire at ${ms}: expected 0 (never) or ms since the epoch, below 2^53`,
    );
  }
}

/** A store has no room for a write; the write changed nothing. */
export class StoreFullError extends RangeError {
  /** `message` says which limit was reached. */
  constructor(message: string) {
    super(message);
    this.name = "StoreFullError";
  }
}
