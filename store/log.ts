/**
 * {@linkcode LogStore}: a {@linkcode Store} that keeps an append-only log of
 * every change to the store it wraps (PROTOCOL.md, Durability). Reads go
 * straight to the wrapped store. Each change is applied to it, noted in the
 * undo log (log/undo.ts) and encoded as a record for the writer
 * (log/writer.ts), which makes it durable: the server awaits
 * {@linkcode LogStore.commit} before it writes answers, and a change that
 * cannot be made durable is undone.
 *
 * Each record holds the whole new state of its key (a set with its value
 * and absolute expiry, `KEEPTTL` resolved; a delete; a clear), so replaying
 * a record needs no record before it, and a restart does not bring back a
 * key whose time has passed. Even an EXPIRE or PERSIST is logged as a whole
 * set: as a record of its own it would need the key's earlier set, which a
 * replay drops once that set's own expiry has passed (a `SET k v PX 10000`,
 * then `PERSIST k`, must still hold `k` after a restart a minute later).
 *
 * The one exception is an APPEND: its record holds the bytes it added, the
 * value's old length, and the flags and absolute expiry the key ends up
 * with, so n appends log O(n) bytes, not O(n^2) (format.ts,
 * `replayAppend`, says why a replay of it is right after a compaction too).
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import {
  beginRecord,
  encodeAppend,
  encodeClear,
  encodeDelete,
  encodeSet,
  endGroup,
  MAGIC,
  OP,
  setRecordBytes,
} from "./log/format.ts";
import { UndoLog } from "./log/undo.ts";
import { appendWhole, SetRecordSink } from "./log/sinks.ts";
import type { FsyncMode, LogFileInit } from "./log/options.ts";
import { LogWriter } from "./log/writer.ts";
import {
  type ChangeListener,
  checkExpiry,
  type PairVisitor,
  type Store,
  type StoreInfo,
  type ValueSink,
  type WriteOptions,
} from "./store.ts";

export type { FsyncMode };

/** What {@linkcode openLog} hands a new {@linkcode LogStore} (through {@linkcode newLogStore}). */
export interface LogStoreInit extends LogFileInit {
  /** The store the log was loaded into. */
  readonly store: Store;
  /** What a compaction would write now (bytes of a set record per live pair, and the header). */
  readonly liveBytes: number;
  /** Where expiry reads the time. */
  readonly clock: Clock;
  /** Makes the empty store a clear() starts. */
  readonly newStore: () => Store;
}

// LogStore's constructor is private, so that the library's LogStore has
// none a user could call: its static block hands newLogStore the way in.
let construct: (init: LogStoreInit) => LogStore;

/**
 * The {@linkcode LogStore} over a log that {@linkcode openLog} opened and
 * loaded (`init`). Not part of the library: a user gets a `LogStore` from
 * `openLog`.
 */
export function newLogStore(init: LogStoreInit): LogStore {
  return construct(init);
}

/**
 * A store whose changes are logged to a file. Made by {@linkcode openLog};
 * {@linkcode LogStore.close} syncs and closes the file.
 */
export class LogStore implements Store {
  static {
    construct = (init) => new LogStore(init);
  }

  #inner: Store;
  readonly #path: string;
  readonly #clock: Clock;
  readonly #newStore: () => Store;
  readonly #undo = new UndoLog();
  #listener: ChangeListener | undefined;
  readonly #writer: LogWriter;
  // Inside together(): records wait for the group's end to be counted.
  #grouping = false;
  // What a compaction would write now: kept up to date change by change.
  #liveBytes: number;
  // Encodes the pair an EXPIRE changed as a set record, from the store's get().
  readonly #rewrite = new SetRecordSink(() => this.#writer.pending);
  // What a rollback works on: the store now, which a clear's undo replaces.
  readonly #undoTarget = {
    store: (): Store => this.#inner,
    replaceStore: (store: Store): void => {
      // A clear undone: the old store is back whole, every key of it changed again.
      this.#inner.listen?.(undefined);
      this.#inner = store;
      store.listen?.(this.#listener);
      this.#listener?.changedAll(store);
    },
  };

  /**
   * Takes over a log opened and loaded by {@linkcode openLog} (see
   * {@linkcode newLogStore}).
   *
   * @ignore
   */
  private constructor(init: LogStoreInit) {
    this.#inner = init.store;
    this.#path = init.path;
    this.#liveBytes = init.liveBytes;
    this.#clock = init.clock;
    this.#newStore = init.newStore;
    this.#writer = new LogWriter({
      ...init,
      undo: this.#undo,
      rollback: () => {
        const undone = this.#undo.rollback(this.#undoTarget);
        if (undone.liveBytes !== undefined) this.#liveBytes = undone.liveBytes;
        return undone.changes;
      },
      walk: () => this.#inner,
      live: () => this.#compactedBytes(),
    });
  }

  /** The log file's path. */
  get path(): string {
    return this.#path;
  }

  /** Whether the log was closed: a change now is undone, its commit `false`. */
  get closed(): boolean {
    return this.#writer.closed;
  }

  /** The log file's size in bytes (what is written to it). */
  get fileBytes(): number {
    return this.#writer.fileBytes;
  }

  /** The store the log wraps. A clear() replaces it. */
  get store(): Store {
    return this.#inner;
  }

  /** Where expiry reads the time: the wrapped store's clock, if it tells one (`newStore`'s may differ from openLog's `clock`). */
  get clock(): Clock {
    return this.#inner.clock ?? this.#clock;
  }

  get size(): number {
    return this.#inner.size;
  }

  /** As the wrapped store's (and a clear's new store, and a rollback's old one, go on telling it). */
  listen(listener: ChangeListener | undefined): void {
    this.#listener = listener;
    this.#inner.listen?.(listener);
  }

  /** The listener set now ({@linkcode Store.listener}). */
  get listener(): ChangeListener | undefined {
    return this.#listener;
  }

  /**
   * What a compaction would write now, at most: the count kept change by
   * change, or, once keys have expired (which the count does not see), what
   * the store holds, each pair's key and value plus the most a set record
   * adds to them. The trigger compares the file with it.
   */
  #compactedBytes(): number {
    const held = this.#inner.info?.().datasetBytes;
    if (held === undefined) return this.#liveBytes;
    const perPair = setRecordBytes(0, 0, true);
    return Math.min(this.#liveBytes, MAGIC.length + held + perPair * this.#inner.size);
  }

  get(key: Uint8Array, start: number, end: number, out: ValueSink): boolean {
    return this.#inner.get(key, start, end, out);
  }

  expiry(key: Uint8Array, start: number, end: number): number {
    return this.#inner.expiry(key, start, end);
  }

  scan(cursor: number, count: number, visit: PairVisitor): number {
    return this.#inner.scan(cursor, count, visit);
  }

  sweep(budgetMs: number): number {
    return this.#inner.sweep?.(budgetMs) ?? 0;
  }

  /** As the wrapped store's (none: 0, no room it can vouch for). */
  room(): number {
    return this.#inner.room?.() ?? 0;
  }

  info(): StoreInfo {
    return this.#inner.info?.() ?? { expiringKeys: 0, expiredKeys: 0, datasetBytes: 0 };
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
    const inner = this.#inner;
    const undo = this.#undo;
    const mark = undo.mark;
    const live = this.#liveBytes;
    let existed: boolean;
    try {
      if (inner.getSet !== undefined) {
        // One lookup: the store hands the old value to the undo log, then sets.
        undo.prepare(inner, key, keyStart, keyEnd, live);
        existed = inner.getSet(key, keyStart, keyEnd, value, valueStart, valueEnd, options, undo);
      } else {
        existed = undo.noteKey(inner, key, keyStart, keyEnd, live);
        inner.set(key, keyStart, keyEnd, value, valueStart, valueEnd, options);
      }
    } catch (error) {
      undo.cutTo(mark); // The store changed nothing (StoreFullError).
      throw error;
    }
    if (!existed) undo.noteAbsent(key, keyStart, keyEnd, live);
    // The record holds the expiry the key ends up with, as an absolute time:
    // KEEPTTL resolved, so a replay needs no state the log does not hold.
    let expireAt = 0;
    if (options !== undefined) {
      if (options.keepTtl) expireAt = existed ? undo.oldExpireAt : 0;
      else expireAt = options.expireAtMs ?? 0;
    }
    const start = this.#writer.pending.length;
    encodeSet(
      this.#writer.pending,
      key,
      keyStart,
      keyEnd,
      value,
      valueStart,
      valueEnd,
      options?.lineText === true,
      expireAt,
    );
    this.#appended(start);
    let after = live - (existed ? undo.oldRecordBytes : 0);
    if (expireAt === 0 || expireAt > this.#clock.now()) {
      after += setRecordBytes(keyEnd - keyStart, valueEnd - valueStart, expireAt > 0);
    }
    this.#liveBytes = after;
  }

  /**
   * {@linkcode Store.append}: on the wrapped store's own append (the value
   * grows where it lies), logged as an `append` record of the bytes added,
   * and undone by cutting the value back to its old length: n appends copy
   * and log O(n) bytes. A wrapped store without append gets the value set
   * whole.
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
    const inner = this.#inner;
    if (inner.append === undefined) {
      return appendWhole(this, inner, key, keyStart, keyEnd, value, valueStart, valueEnd, options);
    }
    const undo = this.#undo;
    const mark = undo.mark;
    const live = this.#liveBytes;
    let existed = undo.noteLength(inner, key, keyStart, keyEnd, live);
    let length: number;
    try {
      length = inner.append(key, keyStart, keyEnd, value, valueStart, valueEnd, options);
    } catch (error) {
      undo.cutTo(mark); // The store changed nothing (StoreFullError).
      throw error;
    }
    const added = valueEnd - valueStart;
    if (existed && length !== undo.oldLength + added) {
      // The key's time passed between the look and the append (the clock
      // ticked): the append made it anew, and its undo is a delete.
      undo.cutTo(mark);
      existed = false;
    }
    if (!existed) undo.noteAbsent(key, keyStart, keyEnd, live);
    const lineText = (!existed || undo.oldLineText) && options?.lineText === true;
    const start = this.#writer.pending.length;
    encodeAppend(
      this.#writer.pending,
      key,
      keyStart,
      keyEnd,
      existed ? undo.oldLength : 0,
      value,
      valueStart,
      valueEnd,
      lineText,
      existed ? undo.oldExpireAt : 0,
    );
    this.#appended(start);
    // A compaction would write the whole value: it grows by what was added.
    this.#liveBytes = live + (existed ? added : setRecordBytes(keyEnd - keyStart, added, false));
    return length;
  }

  delete(key: Uint8Array, start: number, end: number): boolean {
    const undo = this.#undo;
    const inner = this.#inner;
    if (inner.getDelete !== undefined) {
      undo.prepare(inner, key, start, end, this.#liveBytes);
      if (!inner.getDelete(key, start, end, undo)) return false;
    } else {
      if (!undo.noteKey(inner, key, start, end, this.#liveBytes)) return false;
      inner.delete(key, start, end);
    }
    const at = this.#writer.pending.length;
    encodeDelete(this.#writer.pending, key, start, end);
    this.#appended(at);
    this.#liveBytes -= undo.oldRecordBytes;
    return true;
  }

  expire(key: Uint8Array, start: number, end: number, expireAtMs: number): boolean {
    checkExpiry(expireAtMs); // Before the lookup: a missing key must not make it false.
    const undo = this.#undo;
    const mark = undo.mark;
    if (!undo.noteKey(this.#inner, key, start, end, this.#liveBytes)) return false;
    let found: boolean;
    try {
      found = this.#inner.expire(key, start, end, expireAtMs);
    } catch (error) {
      undo.cutTo(mark);
      throw error;
    }
    const at = this.#writer.pending.length;
    // Not found: the key's own time passed since noteKey() saw it (the clock
    // ticked), and the store has just dropped it; the log says so too.
    let kept = found && !(expireAtMs > 0 && expireAtMs <= this.clock.now());
    if (kept) {
      // The whole pair again, with its new expiry (see the module's comment).
      this.#rewrite.expireAtMs = expireAtMs;
      this.#rewrite.key = key;
      this.#rewrite.keyStart = start;
      this.#rewrite.keyEnd = end;
      // False if the time passed since the line above (the clock ticked):
      // the store has just dropped the key, and the log must say so too.
      kept = this.#inner.get(key, start, end, this.#rewrite);
      if (kept && (expireAtMs > 0) !== (undo.oldExpireAt > 0)) {
        this.#liveBytes += expireAtMs > 0 ? 8 : -8; // The set record gains or loses its expiry.
      }
    }
    if (!kept) {
      encodeDelete(this.#writer.pending, key, start, end); // Gone now.
      this.#liveBytes -= undo.oldRecordBytes;
    }
    this.#appended(at);
    return found;
  }

  clear(): void {
    this.#undo.noteStore(this.#inner, this.#liveBytes);
    // A new store rather than clearing this one: if the clear cannot be
    // made durable, the old store is put back whole.
    this.#listener?.changedAll(this.#inner);
    this.#inner.listen?.(undefined);
    this.#inner = this.#newStore();
    this.#inner.listen?.(this.#listener);
    const at = this.#writer.pending.length;
    encodeClear(this.#writer.pending);
    this.#appended(at);
    this.#liveBytes = MAGIC.length;
  }

  /**
   * Runs `change`, whose changes are logged as one group record (if more
   * than one): a crash keeps all of them or none, as Redis's log keeps a
   * command, or a transaction, whole. A group within a group is the outer one.
   */
  together(change: () => void): void {
    if (this.#grouping) return change();
    const pending = this.#writer.pending;
    const start = beginRecord(pending, OP.group, 0);
    this.#grouping = true;
    try {
      change();
    } finally {
      this.#grouping = false;
      endGroup(pending, start);
      if (pending.length > start) this.#writer.appended(start);
    }
  }

  /** A record was encoded at `start` in the writer's pending buffer: the writer counts it, unless a group holds it. */
  #appended(start: number): void {
    if (!this.#grouping) this.#writer.appended(start);
  }

  /**
   * Resolves once every change made so far is durable (`true`), or was
   * undone because it could not be made durable (`false`); `undefined` if
   * there is nothing to wait for. The server calls it after running a
   * batch and before writing its answers (see `Store.commit`).
   */
  commit(): Promise<boolean> | undefined {
    return this.#writer.commit();
  }

  /**
   * Writes what is pending, syncs the log (in every fsync mode), and closes
   * it, releasing its lock. A compaction under way is called off. Shut down
   * a server on this store first: a change made after the close is undone
   * by its commit, which resolves `false` (its answer becomes an error).
   */
  close(): Promise<void> {
    return this.#writer.close();
  }

  /** {@linkcode LogStore.close}, for `await using`. Shut a server on it down first. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
