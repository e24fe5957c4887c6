/**
 * {@linkcode LogWriter}: the file side of the log store (store/log.ts): it
 * makes the records the store encodes into {@linkcode LogWriter.pending}
 * durable.
 *
 * - `--fsync always`: at the end of the event loop's turn (`setImmediate`:
 *   after every connection whose bytes arrived in that turn has run its
 *   batch), the pending records of all of them are written with one
 *   `write`, and one `fdatasync` then covers every record written
 *   before it started (group commit); a commit resolves once its records
 *   are synced. Writes go on while a sync runs, and the next sync takes
 *   them all. `everysec` and `no`: a connection's commit writes its batch
 *   at once (nothing to wait for); `everysec` syncs about once a second,
 *   `no` leaves syncing to the OS.
 * - If a write or a sync fails, every change not yet durable is undone
 *   (the store's undo log), the file is cut back to its last durable byte,
 *   and the commits resolve `false`. The next turn tries again, so writes
 *   succeed once there is room.
 * - Compaction (compact.ts) starts once the log is twice its live data and
 *   past a floor; the switch to the new file is the only moment appends
 *   wait for it.
 *
 * @module
 */

import { clearImmediate, setImmediate } from "node:timers";
import { errorMessage } from "../../net/conn.ts";
import type { Logger } from "../../server/log.ts";
import type { Store } from "../store.ts";
import { Compaction, type CompactionHook } from "./compact.ts";
import { FailureReport } from "./failures.ts";
import type { LogFile, LogFs } from "./file.ts";
import { LogBuffer } from "./format.ts";
import type { FsyncMode, LogFileInit } from "./options.ts";
import type { UndoLog } from "./undo.ts";

/** The everysec timer. */
const SYNC_EVERY_MS = 1_000;
// After a failed compaction, wait this long before another.
const COMPACTION_RETRY_MS = 10_000;
// The pending buffer keeps this much memory between turns.
const KEEP_PENDING_BYTES = 1 << 20;

// What a commit that failed at once resolves to.
const NOT_DURABLE: Promise<boolean> = Promise.resolve(false);

/** Changes written together, resolved together. */
interface Group {
  lsn: number;
  readonly promise: Promise<boolean>;
  readonly resolve: (durable: boolean) => void;
}

/** What a {@linkcode LogWriter} works with: the file, and its store's side. */
export interface LogWriterInit extends LogFileInit {
  /** The store's undo log: the writer drops entries once their changes are durable. */
  readonly undo: UndoLog;
  /** Undoes every change not yet durable, newest first; returns how many. */
  readonly rollback: () => number;
  /** The store a compaction walks (a clear() replaces it). */
  readonly walk: () => Store;
  /** What a compaction would write now: the trigger compares the file with it. */
  readonly live: () => number;
}

/** Writes, syncs and compacts one log file. */
export class LogWriter {
  /** Records encoded and not yet written; see {@linkcode LogWriter.appended}. */
  readonly pending: LogBuffer = new LogBuffer(64 * 1024);
  readonly #path: string;
  readonly #dir: string;
  readonly #fs: LogFs;
  #file: LogFile;
  readonly #mode: FsyncMode;
  readonly #log: Logger;
  readonly #compactMinBytes: number;
  readonly #hook: CompactionHook | undefined;
  readonly #undo: UndoLog;
  readonly #rollback: () => number;
  readonly #store: () => Store;
  readonly #liveBytes: () => number;
  // Log sequence numbers: bytes of records ever appended. Appended ones are
  // in memory; written ones were handed to the OS; durable ones are as safe
  // as the fsync mode promises (synced for always, written otherwise).
  #appendedLsn = 0;
  #writtenLsn = 0;
  #durableLsn = 0;
  // File sizes that go with them.
  #writtenSize: number;
  #durableSize: number;
  // [lsn, undo mark] of each write not yet durable, oldest first.
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
  #compaction: Compaction | undefined;
  #compacting: Promise<void> | undefined;
  #compactionWanted = false;
  #compactNotBefore = 0;
  readonly #failures: FailureReport;
  #closed = false;

  /** Takes over `init.file`. */
  constructor(init: LogWriterInit) {
    this.#path = init.path;
    this.#dir = init.dir;
    this.#fs = init.fs;
    this.#file = init.file;
    this.#writtenSize = this.#durableSize = init.fileBytes;
    this.#mode = init.fsync;
    this.#log = init.log;
    this.#compactMinBytes = init.compactMinBytes;
    this.#hook = init.hook;
    this.#undo = init.undo;
    this.#rollback = init.rollback;
    this.#store = init.walk;
    this.#liveBytes = init.live;
    this.#failures = new FailureReport(init.path, init.log);
    if (this.#mode === "everysec") this.#timer = setInterval(this.#syncEverySecond, SYNC_EVERY_MS);
  }

  /** The file's size in bytes (what is written to it). */
  get fileBytes(): number {
    return this.#writtenSize;
  }

  /** See {@linkcode LogStore.commit}. */
  commit(): Promise<boolean> | undefined {
    if (this.#appendedLsn !== this.#writtenLsn) {
      // everysec and no promise the OS has it, and a write is cheap: hand
      // this batch over now, and the connection answers without waiting
      // for the end of the turn. (always waits there: one sync for all.)
      if (this.#mode !== "always" && this.#holds === 0 && !this.#closed) {
        const epoch = this.#epoch;
        this.#writePending();
        if (this.#epoch !== epoch) return NOT_DURABLE;
        if (this.#appendedLsn === this.#writtenLsn) return undefined;
      }
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

  /** See {@linkcode LogStore.close}. */
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

  /** A record was encoded at `start` in {@linkcode LogWriter.pending}: count it, and write it at the turn's end. */
  appended(start: number): void {
    const pending = this.pending;
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
    const pending = this.pending;
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
    this.#failures.succeeded();
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
        `cannot sync data file ${this.#path}: ${errorMessage(error)}; rewriting it from memory`,
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
    const undone = this.#rollback();
    this.pending.clear(KEEP_PENDING_BYTES);
    this.#appendedLsn = this.#writtenLsn = this.#durableLsn;
    this.#writtenSize = this.#durableSize;
    this.#marks.length = 0;
    this.#cutBack();
    this.#next?.resolve(false);
    this.#next = undefined;
    for (const group of this.#unsynced) group.resolve(false);
    this.#unsynced.length = 0;
    this.#compaction?.abort();
    this.#failures.failed(what, error, undone);
  }

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
    if (this.#compaction !== undefined || this.#closed || this.#failures.failing) return;
    if (performance.now() < this.#compactNotBefore) return;
    const size = this.#writtenSize;
    const live = this.#liveBytes();
    if (!this.#compactionWanted && (size < this.#compactMinBytes || size < 2 * live)) {
      return;
    }
    this.#compactionWanted = false;
    const compaction = this.#compaction = new Compaction({
      fs: this.#fs,
      path: this.#path,
      dir: this.#dir,
      tempPath: `${this.#path}.compact`,
      store: this.#store,
      hook: this.#hook,
    });
    this.#compacting = this.#compact(compaction);
  }

  async #compact(compaction: Compaction): Promise<void> {
    const started = performance.now();
    const before = this.#writtenSize;
    try {
      if (!(await compaction.writeSnapshot()) || !(await compaction.switchInto(this))) return;
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
        `compaction of data file ${this.#path} failed (the log is unchanged): ${
          errorMessage(error)
        }`,
      );
    } finally {
      await compaction.discard().catch(() => {});
      if (this.#compaction === compaction) this.#compaction = undefined;
      this.#compacting = undefined;
    }
  }

  // --- The switch to a compacted file (Compaction.switchInto drives it). -----

  /**
   * Holds appends, then writes (and for always, syncs) everything appended
   * so far to the old file, so that both files hold every change up to
   * this moment. Returns `false` if that failed. {@linkcode LogWriter.release}
   * must follow either way.
   */
  async holdAndFlush(compaction: Compaction): Promise<boolean> {
    this.#holds++;
    if (this.#syncing !== undefined) await this.#syncing;
    if (compaction.aborted || this.#closed) return false;
    if (!this.#writePending() || this.#appendedLsn !== this.#writtenLsn) return false;
    if (this.#mode !== "always" || this.#durableLsn === this.#writtenLsn) return true;
    const lsn = this.#writtenLsn;
    const size = this.#writtenSize;
    try {
      await this.#file.syncData();
    } catch (error) {
      this.#fail(error, "sync");
      return false;
    }
    this.#durable(lsn, size);
    return !compaction.aborted && !this.#closed;
  }

  /** The compacted file has the log's name now: appends go to it. */
  adopt(file: LogFile, size: number): void {
    const old = this.#file;
    this.#file = file;
    this.#writtenSize = this.#durableSize = size;
    old.close();
  }

  /** The folder sync after the rename failed: it is retried before the next write, which fails until it works. */
  folderNotSynced(error: unknown): void {
    this.#dirSyncNeeded = true;
    this.#log("error", `cannot sync the folder of data file ${this.#path}: ${errorMessage(error)}`);
  }

  /** The switch is over (or called off): appends go on. */
  release(): void {
    this.#holds--;
    this.#schedule();
  }
}

/** Writes all of `bytes[0, length)`, blocking; a short write is continued. */
function writeAllSync(file: LogFile, bytes: Uint8Array, length: number): void {
  for (let at = 0; at < length;) at += file.writeSync(bytes.subarray(at, length));
}
