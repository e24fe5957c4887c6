/**
 * {@linkcode LogStore}: a {@linkcode Store} that keeps an append-only log of
 * every change to the store it wraps (PROTOCOL.md, Durability). Reads go
 * straight to the wrapped store; each change is applied to it, noted in the
 * undo log, and encoded as a record into the pending buffer. The server
 * awaits {@linkcode LogStore.commit} before it writes answers:
 *
 * - At the end of the event loop's turn (`setImmediate`: after every
 *   connection whose bytes arrived in that turn has run its batch), the
 *   pending records of all of them are written with one `write`.
 * - `--fsync always`: one `fdatasync` then covers every record written
 *   before it started (group commit); a commit resolves once its records
 *   are synced. Writes go on while a sync runs, and the next sync takes
 *   them all. `everysec`: a commit resolves once its records are written;
 *   a timer syncs about once a second. `no`: syncing is left to the OS.
 * - If a write or a sync fails, every change not yet durable is undone,
 *   newest first, the file is cut back to its last durable byte, and the
 *   commits resolve `false`: the connection answers those writes with an
 *   error. The next turn tries again, so writes succeed once there is room.
 *
 * Compaction (store/log/compact.ts) runs in the background once the log is
 * twice its live data and past a floor; the switch to the new file is the
 * only moment appends wait for it.
 *
 * @module
 */

import { clearImmediate, setImmediate } from "node:timers";
import type { Logger } from "../server/log.ts";
import type { Clock } from "./clock.ts";
import { Compaction, type CompactionHook } from "./log/compact.ts";
import type { LogFile, LogFs } from "./log/file.ts";
import {
  encodeClear,
  encodeDelete,
  encodeExpire,
  encodeSet,
  LogBuffer,
  MAGIC,
  setRecordBytes,
} from "./log/format.ts";
import { UndoLog } from "./log/undo.ts";
import type { PairVisitor, Store, ValueSink, WriteOptions } from "./store.ts";

/**
 * When the log is synced (`kv serve --fsync`): `always` before each answer,
 * `everysec` about once a second, `no` when the OS decides.
 */
export type FsyncMode = "always" | "everysec" | "no";

/** The everysec timer. */
const SYNC_EVERY_MS = 1_000;
// Failures are logged once, then at most this often while they go on.
const FAILURE_LOG_EVERY_MS = 10_000;
// After a failed compaction, wait this long before another.
const COMPACTION_RETRY_MS = 10_000;
// The pending buffer keeps this much memory between turns.
const KEEP_PENDING_BYTES = 1 << 20;

/** Changes written together, resolved together. */
interface Group {
  lsn: number;
  readonly promise: Promise<boolean>;
  readonly resolve: (durable: boolean) => void;
}

/** What {@linkcode openLog} hands a new {@linkcode LogStore}. */
export interface LogStoreInit {
  /** The log's path, and the folder it is in. */
  readonly path: string;
  readonly dir: string;
  readonly fs: LogFs;
  /** The log, open, locked and cut to its last good record. */
  readonly file: LogFile;
  readonly fileBytes: number;
  /** The store the log was loaded into. */
  readonly store: Store;
  /** What a compaction would write now (bytes of a set record per live pair, and the header). */
  readonly liveBytes: number;
  readonly fsync: FsyncMode;
  readonly clock: Clock;
  readonly log: Logger;
  readonly compactMinBytes: number;
  readonly newStore: () => Store;
  readonly hook: CompactionHook | undefined;
}

/**
 * A store whose changes are logged to a file. Made by {@linkcode openLog};
 * {@linkcode LogStore.close} syncs and closes the file.
 */
export class LogStore implements Store {
  #inner: Store;
  readonly #path: string;
  readonly #dir: string;
  readonly #fs: LogFs;
  #file: LogFile;
  readonly #mode: FsyncMode;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #newStore: () => Store;
  readonly #compactMinBytes: number;
  readonly #hook: CompactionHook | undefined;

  readonly #pending = new LogBuffer(64 * 1024);
  readonly #undo = new UndoLog();
  // Log sequence numbers: bytes of records ever appended. Appended ones are
  // in memory; written ones were handed to the OS; durable ones are as safe
  // as the fsync mode promises (synced for always, written otherwise).
  #appendedLsn = 0;
  #writtenLsn = 0;
  #durableLsn = 0;
  // File sizes that go with them.
  #writtenSize: number;
  #durableSize: number;
  // [lsn, undo mark] of each write not yet durable (always), oldest first.
  readonly #marks: number[] = [];
  #next: Group | undefined;
  readonly #unsynced: Group[] = [];
  #flushScheduled: ReturnType<typeof setImmediate> | undefined;
  // While above 0, appends are not written (a compaction's switch, a folder sync).
  #holds = 0;
  #syncing: Promise<void> | undefined;
  // everysec: written since the last sync.
  #dirty = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  // Bumped by each failure: a sync that started before one must not count.
  #epoch = 0;
  #needsTruncate = false;
  #dirSyncNeeded = false;
  #liveBytes: number;
  #compaction: Compaction | undefined;
  #compacting: Promise<void> | undefined;
  #compactionWanted = false;
  #compactNotBefore = 0;
  #refused = 0;
  #lastFailureLog = 0;
  #closed = false;

  /** Takes over a log opened and loaded by {@linkcode openLog}. */
  constructor(init: LogStoreInit) {
    this.#inner = init.store;
    this.#path = init.path;
    this.#dir = init.dir;
    this.#fs = init.fs;
    this.#file = init.file;
    this.#writtenSize = this.#durableSize = init.fileBytes;
    this.#liveBytes = init.liveBytes;
    this.#mode = init.fsync;
    this.#clock = init.clock;
    this.#log = init.log;
    this.#newStore = init.newStore;
    this.#compactMinBytes = init.compactMinBytes;
    this.#hook = init.hook;
    if (this.#mode === "everysec") this.#timer = setInterval(this.#syncEverySecond, SYNC_EVERY_MS);
  }

  /** The log file's path. */
  get path(): string {
    return this.#path;
  }

  /** The log file's size in bytes (what is written to it). */
  get fileBytes(): number {
    return this.#writtenSize;
  }

  /** The store the log wraps. A clear() replaces it. */
  get store(): Store {
    return this.#inner;
  }

  get size(): number {
    return this.#inner.size;
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
    const existed = undo.noteKey(inner, key, keyStart, keyEnd, this.#liveBytes);
    if (!existed) undo.noteAbsent(key, keyStart, keyEnd, this.#liveBytes);
    // The record holds the expiry the key ends up with, as an absolute time:
    // KEEPTTL resolved, so a replay needs no state the log does not hold.
    let expireAt = 0;
    if (options !== undefined) {
      if (options.keepTtl) expireAt = existed ? undo.oldExpireAt : 0;
      else expireAt = options.expireAtMs ?? 0;
    }
    try {
      inner.set(key, keyStart, keyEnd, value, valueStart, valueEnd, options);
    } catch (error) {
      undo.cutTo(mark); // The store changed nothing (StoreFullError).
      throw error;
    }
    const start = this.#pending.length;
    encodeSet(
      this.#pending,
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
    let live = this.#liveBytes - (existed ? undo.oldRecordBytes : 0);
    if (expireAt === 0 || expireAt > this.#clock.now()) {
      live += setRecordBytes(keyEnd - keyStart, valueEnd - valueStart, expireAt > 0);
    }
    this.#liveBytes = live;
  }

  delete(key: Uint8Array, start: number, end: number): boolean {
    const undo = this.#undo;
    if (!undo.noteKey(this.#inner, key, start, end, this.#liveBytes)) return false;
    this.#inner.delete(key, start, end);
    const at = this.#pending.length;
    encodeDelete(this.#pending, key, start, end);
    this.#appended(at);
    this.#liveBytes -= undo.oldRecordBytes;
    return true;
  }

  expire(key: Uint8Array, start: number, end: number, expireAtMs: number): boolean {
    const undo = this.#undo;
    const mark = undo.mark;
    if (!undo.noteKey(this.#inner, key, start, end, this.#liveBytes)) return false;
    try {
      this.#inner.expire(key, start, end, expireAtMs);
    } catch (error) {
      undo.cutTo(mark);
      throw error;
    }
    const at = this.#pending.length;
    encodeExpire(this.#pending, key, start, end, expireAtMs);
    this.#appended(at);
    if (expireAtMs > 0 && expireAtMs <= this.#clock.now()) {
      this.#liveBytes -= undo.oldRecordBytes; // Gone now.
    } else if ((expireAtMs > 0) !== (undo.oldExpireAt > 0)) {
      this.#liveBytes += expireAtMs > 0 ? 8 : -8; // The set record gains or loses its expiry.
    }
    return true;
  }

  clear(): void {
    this.#undo.noteStore(this.#inner, this.#liveBytes);
    // A new store rather than clearing this one: if the clear cannot be
    // made durable, the old store is put back whole.
    this.#inner = this.#newStore();
    const at = this.#pending.length;
    encodeClear(this.#pending);
    this.#appended(at);
    this.#liveBytes = MAGIC.length;
  }

  /**
   * Resolves once every change made so far is durable (`true`), or was
   * undone because it could not be made durable (`false`); `undefined` if
   * there is nothing to wait for. The server calls it after running a
   * batch and before writing its answers (see `Store.commit`).
   */
  commit(): Promise<boolean> | undefined {
    if (this.#appendedLsn !== this.#writtenLsn) {
      let group = this.#next;
      if (group === undefined) {
        const { promise, resolve } = Promise.withResolvers<boolean>();
        group = this.#next = { lsn: 0, promise, resolve };
      }
      return group.promise;
    }
    // always: written, not yet synced.
    return this.#unsynced.length > 0
      ? this.#unsynced[this.#unsynced.length - 1]!.promise
      : undefined;
  }

  /**
   * Writes what is pending, syncs the log (in every fsync mode), and closes
   * it, releasing its lock. A compaction under way is called off.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    clearImmediate(this.#flushScheduled);
    this.#flushScheduled = undefined;
    this.#compaction?.abort();
    await this.#compacting;
    await this.#syncing;
    this.#holds++; // No sync loop may start on a file about to close.
    if (this.#dirSyncNeeded) await this.#trySyncDir();
    this.#writePending();
    try {
      await this.#file.syncData();
      this.#durable(this.#writtenLsn, this.#writtenSize);
    } catch (error) {
      this.#fail(error, "sync");
    }
    this.#file.close();
  }

  // --- Writing and syncing. -------------------------------------------------

  /** A record was encoded at `start` in the pending buffer. */
  #appended(start: number): void {
    const pending = this.#pending;
    this.#appendedLsn += pending.length - start;
    if (this.#compaction !== undefined) {
      this.#compaction.addTail(pending.bytes, start, pending.length);
    }
    this.#flushScheduled ??= setImmediate(this.#flushTurn);
  }

  /** The end of a turn of the event loop: write what every connection appended in it. */
  readonly #flushTurn = (): void => {
    this.#flushScheduled = undefined;
    if (this.#holds === 0 && !this.#closed) this.#writePending();
  };

  #schedule(): void {
    if (this.#appendedLsn !== this.#writtenLsn && !this.#closed) {
      this.#flushScheduled ??= setImmediate(this.#flushTurn);
    }
    if (this.#mode === "always") this.#startSync();
  }

  /**
   * Hands the pending records to the OS in one write. Returns whether
   * everything appended is now written (false: it failed and was undone, or
   * waits for a folder sync).
   */
  #writePending(): boolean {
    const pending = this.#pending;
    if (pending.length === 0) return true;
    if (this.#dirSyncNeeded) {
      this.#retrySyncDir();
      return false;
    }
    if (this.#needsTruncate && !this.#cutBack()) {
      this.#fail(new Error("cannot cut the file back to its last good record"), "write");
      return false;
    }
    try {
      writeAllSync(this.#file, pending.bytes, pending.length);
    } catch (error) {
      this.#fail(error, "write");
      return false;
    }
    this.#writtenSize += pending.length;
    this.#writtenLsn = this.#appendedLsn;
    pending.clear(KEEP_PENDING_BYTES);
    this.#marks.push(this.#writtenLsn, this.#undo.mark);
    const group = this.#next;
    this.#next = undefined;
    if (group !== undefined) group.lsn = this.#writtenLsn;
    if (this.#mode === "always") {
      if (group !== undefined) this.#unsynced.push(group);
      this.#startSync();
    } else {
      this.#dirty = true;
      this.#durable(this.#writtenLsn, this.#writtenSize);
      group?.resolve(true);
    }
    if (this.#refused > 0) {
      this.#log(
        "info",
        `data file ${this.#path}: writes succeed again (${this.#refused} changes refused)`,
      );
      this.#refused = 0;
    }
    this.#maybeCompact();
    return true;
  }

  /** always: syncs until everything written is synced, one fdatasync per round. */
  #startSync(): void {
    if (this.#syncing !== undefined || this.#holds > 0) return;
    if (this.#durableLsn === this.#writtenLsn) return;
    this.#syncing = this.#syncLoop().finally(() => {
      this.#syncing = undefined;
      if (this.#holds === 0 && this.#durableLsn < this.#writtenLsn) this.#startSync();
    });
  }

  async #syncLoop(): Promise<void> {
    while (this.#durableLsn < this.#writtenLsn && this.#holds === 0) {
      const epoch = this.#epoch;
      const lsn = this.#writtenLsn;
      const size = this.#writtenSize;
      try {
        await this.#file.syncData();
      } catch (error) {
        if (epoch === this.#epoch) this.#fail(error, "sync");
        return;
      }
      if (epoch !== this.#epoch) return;
      this.#durable(lsn, size);
    }
  }

  /** everysec: sync what was written since the last time. */
  readonly #syncEverySecond = (): void => {
    if (!this.#dirty || this.#syncing !== undefined || this.#holds > 0) return;
    this.#dirty = false;
    this.#syncing = this.#file.syncData().catch((error) => {
      // The writes were answered already (everysec promises them to the
      // OS). After a failed fdatasync, Linux may drop the pages it could not
      // write and report it only once, so rewrite the whole log from memory.
      this.#dirty = true;
      this.#compactionWanted = true;
      this.#log(
        "error",
        `cannot sync data file ${this.#path}: ${describe(error)}; rewriting it from memory`,
      );
    }).finally(() => {
      this.#syncing = undefined;
    });
  };

  /** Everything up to `lsn` (file size `size`) is durable: resolve, and forget how to undo it. */
  #durable(lsn: number, size: number): void {
    this.#durableLsn = lsn;
    this.#durableSize = size;
    const marks = this.#marks;
    let i = 0;
    let undoMark = -1;
    while (i < marks.length && marks[i]! <= lsn) {
      undoMark = marks[i + 1]!;
      i += 2;
    }
    if (i > 0) marks.splice(0, i);
    if (undoMark >= 0) this.#undo.dropTo(undoMark);
    const unsynced = this.#unsynced;
    let done = 0;
    while (done < unsynced.length && unsynced[done]!.lsn <= lsn) unsynced[done++]!.resolve(true);
    if (done > 0) unsynced.splice(0, done);
  }

  /**
   * A write or sync failed: undo every change not yet durable, cut the
   * file back to its last durable byte, and tell the waiting commits.
   */
  #fail(error: unknown, what: string): void {
    this.#epoch++;
    const undone = this.#undo.rollback(this.#undoTarget);
    if (undone.liveBytes !== undefined) this.#liveBytes = undone.liveBytes;
    this.#pending.clear(KEEP_PENDING_BYTES);
    this.#appendedLsn = this.#writtenLsn = this.#durableLsn;
    this.#writtenSize = this.#durableSize;
    this.#marks.length = 0;
    this.#cutBack();
    this.#next?.resolve(false);
    this.#next = undefined;
    for (const group of this.#unsynced) group.resolve(false);
    this.#unsynced.length = 0;
    this.#compaction?.abort();
    const now = performance.now();
    if (this.#refused === 0) {
      this.#log(
        "error",
        `cannot ${what} data file ${this.#path}: ${describe(error)}; ` +
          `${undone.changes} change(s) undone and answered with an error; reads go on`,
      );
      this.#lastFailureLog = now;
    } else if (now - this.#lastFailureLog >= FAILURE_LOG_EVERY_MS) {
      this.#log(
        "error",
        `still cannot ${what} data file ${this.#path}: ${describe(error)} ` +
          `(${this.#refused + undone.changes} changes refused so far)`,
      );
      this.#lastFailureLog = now;
    }
    this.#refused += Math.max(1, undone.changes);
  }

  // What a rollback works on: the store now, which a clear's undo replaces.
  readonly #undoTarget = {
    store: (): Store => this.#inner,
    replaceStore: (store: Store): void => {
      this.#inner = store;
    },
  };

  /** Cuts the file to its last durable byte, so no half record stays behind. */
  #cutBack(): boolean {
    try {
      this.#file.truncateSync(this.#durableSize);
      this.#needsTruncate = false;
      return true;
    } catch {
      this.#needsTruncate = true; // Tried again before the next write.
      return false;
    }
  }

  #retrySyncDir(): void {
    if (this.#holds > 0) return;
    this.#holds++;
    this.#trySyncDir().finally(() => {
      this.#holds--;
      this.#schedule();
    });
  }

  /** Syncs the folder after a rename whose folder sync failed; until it works, writes fail. */
  async #trySyncDir(): Promise<void> {
    try {
      await this.#fs.syncDir(this.#dir);
      this.#dirSyncNeeded = false;
    } catch (error) {
      this.#fail(error, "sync the folder of");
    }
  }

  // --- Compaction. ----------------------------------------------------------

  #maybeCompact(): void {
    if (this.#compaction !== undefined || this.#closed || this.#refused > 0) return;
    if (performance.now() < this.#compactNotBefore) return;
    const size = this.#writtenSize;
    if (!this.#compactionWanted && (size < this.#compactMinBytes || size < 2 * this.#liveBytes)) {
      return;
    }
    this.#compactionWanted = false;
    const compaction = this.#compaction = new Compaction({
      fs: this.#fs,
      path: this.#path,
      tempPath: `${this.#path}.compact`,
      store: () => this.#inner,
      hook: this.#hook,
    });
    this.#compacting = this.#compact(compaction);
  }

  async #compact(compaction: Compaction): Promise<void> {
    const started = performance.now();
    const before = this.#writtenSize;
    try {
      if (!(await compaction.writeSnapshot()) || !(await this.#switchTo(compaction))) return;
      this.#log(
        "info",
        `compacted data file ${this.#path}: ${before} -> ${compaction.size} bytes in ${
          Math.round(performance.now() - started)
        } ms`,
      );
      await this.#hook?.("switched");
    } catch (error) {
      this.#compactNotBefore = performance.now() + COMPACTION_RETRY_MS;
      this.#log(
        "error",
        `compaction of data file ${this.#path} failed (the log is unchanged): ${describe(error)}`,
      );
    } finally {
      await compaction.discard().catch(() => {});
      if (this.#compaction === compaction) this.#compaction = undefined;
      this.#compacting = undefined;
    }
  }

  /**
   * Puts the compacted file in the log's place. Appends wait meanwhile:
   * everything appended so far is written (and, for always, synced) to the
   * old file first, so both files hold every change up to this moment, and
   * a crash at any step leaves one of them under the log's name.
   */
  async #switchTo(compaction: Compaction): Promise<boolean> {
    this.#holds++;
    try {
      if (this.#syncing !== undefined) await this.#syncing;
      if (compaction.aborted || this.#closed) return false;
      if (!this.#writePending() || this.#appendedLsn !== this.#writtenLsn) return false;
      if (this.#mode === "always" && this.#durableLsn < this.#writtenLsn) {
        const lsn = this.#writtenLsn;
        const size = this.#writtenSize;
        try {
          await this.#file.syncData();
        } catch (error) {
          this.#fail(error, "sync");
          return false;
        }
        this.#durable(lsn, size);
      }
      await compaction.finish();
      if (compaction.aborted || this.#closed) return false;
      await this.#hook?.("synced");
      await compaction.rename();
      const old = this.#file;
      this.#file = compaction.file;
      this.#writtenSize = this.#durableSize = compaction.size;
      this.#liveBytes = Math.min(this.#liveBytes, compaction.size);
      old.close();
      await this.#hook?.("renamed");
      try {
        await this.#fs.syncDir(this.#dir);
      } catch (error) {
        this.#dirSyncNeeded = true; // Synced before the next write, or that write fails.
        this.#log("error", `cannot sync the folder of data file ${this.#path}: ${describe(error)}`);
      }
      return true;
    } finally {
      this.#holds--;
      this.#schedule();
    }
  }
}

/** Writes all of `bytes[0, length)`, blocking; a short write is continued. */
function writeAllSync(file: LogFile, bytes: Uint8Array, length: number): void {
  for (let at = 0; at < length;) at += file.writeSync(bytes.subarray(at, length));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
