/**
 * {@linkcode LogWriter}: the file side of the log store (store/log.ts): it
 * makes the records the store encodes into {@linkcode LogWriter.pending}
 * durable.
 *
 * - At the end of the event loop's turn (`setImmediate`: after every
 *   connection whose bytes arrived in that turn has run its batch), one
 *   loop writes all the pending records in one `write`, and for `always`
 *   then one `fdatasync` (group commit). A commit resolves once its records
 *   are written (`everysec`, `no`) or synced (`always`); `everysec` also
 *   syncs about once a second. Which commits wait for which write is
 *   groups.ts's.
 * - If a write or a sync fails, every change not yet durable is undone (the
 *   store's undo log), the file is cut back to its last durable byte, and
 *   the commits resolve `false`; the next turn tries again.
 * - A compaction (compactor.ts, compact.ts) may start after each write;
 *   the writer takes part in its switch to the new file.
 *
 * @module
 */

import { clearImmediate, setImmediate } from "node:timers";
import { writeAll } from "../../net/conn.ts";
import type { Store } from "../store.ts";
import type { Compaction } from "./compact.ts";
import { Compactor } from "./compactor.ts";
import { FailureReport } from "./failures.ts";
import { type LogFile, type LogFs, writeAllSync } from "./file.ts";
import { LogBuffer } from "./format.ts";
import { CommitGroups } from "./groups.ts";
import type { FsyncMode, LogFileInit } from "./options.ts";
import type { UndoLog } from "./undo.ts";

/** The everysec timer. */
const SYNC_EVERY_MS = 1_000;
// A write up to this size blocks the event loop; a larger one goes to a thread.
const BLOCKING_WRITE_MAX_BYTES = 1 << 20;
// The pending buffer keeps this much memory between turns.
const KEEP_PENDING_BYTES = 1 << 20;

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
  pending: LogBuffer = new LogBuffer(64 * 1024);
  // Swapped with `pending` while a write is in flight, so appends go on.
  #spare: LogBuffer = new LogBuffer(64 * 1024);
  readonly #dir: string;
  readonly #fs: LogFs;
  #file: LogFile;
  readonly #mode: FsyncMode;
  readonly #undo: UndoLog;
  readonly #rollback: () => number;
  // The commits waiting for writes, and the undo marks of writes not yet durable.
  readonly #groups: CommitGroups;
  // Log sequence numbers: bytes of records ever appended. Appended ones are
  // in memory; written ones were handed to the OS; durable ones are as safe
  // as the fsync mode promises (synced for always, written otherwise).
  #appendedLsn = 0;
  #writtenLsn = 0;
  #durableLsn = 0;
  // File sizes that go with them.
  #writtenSize: number;
  #durableSize: number;
  #flushScheduled: ReturnType<typeof setImmediate> | undefined;
  // While above 0, appends are not written (a compaction's switch, closing).
  #holds = 0;
  // The loop that writes (and for always, syncs), while it runs.
  #flushing: Promise<void> | undefined;
  // everysec's sync, while it runs.
  #syncing: Promise<void> | undefined;
  // The file a compaction replaced: until the folder sync, then while it is let go.
  #replaced: LogFile | undefined;
  // Its second name, made before the rename (see LogFile.release).
  #replacedAside: string | undefined;
  #releasing: Promise<void> | undefined;
  // everysec: written since the last sync.
  #dirty = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  // Bumped by each failure: a sync that started before one must not count.
  #epoch = 0;
  #needsTruncate = false;
  #dirSyncNeeded = false;
  readonly #failures: FailureReport;
  readonly #compactor: Compactor;
  #closed = false;
  // close() has written and synced its last: a change now can only be undone.
  #finished = false;

  /** Takes over `init.file`. */
  constructor(init: LogWriterInit) {
    this.#dir = init.dir;
    this.#fs = init.fs;
    this.#file = init.file;
    this.#writtenSize = this.#durableSize = init.fileBytes;
    this.#mode = init.fsync;
    this.#undo = init.undo;
    this.#rollback = init.rollback;
    this.#groups = new CommitGroups(init.undo);
    this.#failures = new FailureReport(init.path, init.log);
    this.#compactor = new Compactor(init, this.#failures);
    if (this.#mode === "everysec") this.#timer = setInterval(this.#syncEverySecond, SYNC_EVERY_MS);
  }

  /** Whether {@linkcode LogWriter.close} has finished: a change now never reaches the file. */
  get closed(): boolean {
    return this.#finished;
  }

  /** The file's size in bytes (what is written to it). */
  get fileBytes(): number {
    return this.#writtenSize;
  }

  /** See {@linkcode LogStore.commit}. */
  commit(): Promise<boolean> | undefined {
    if (this.#finished && this.pending.length > 0) {
      this.#undoLate();
      return Promise.resolve(false);
    }
    if (this.pending.length > 0) return this.#groups.next();
    // Nothing of this batch is pending: wait for what is in flight, if anything.
    return this.#groups.inFlight();
  }

  /** See {@linkcode LogStore.close}. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    clearImmediate(this.#flushScheduled);
    this.#flushScheduled = undefined;
    await this.#compactor.stop();
    await this.#flushing;
    await this.#syncing;
    await this.#releasing;
    this.#holds++; // Nothing starts again on a file about to close.
    if (this.pending.length > 0) await this.#writePending();
    const lsn = this.#writtenLsn;
    const size = this.#writtenSize;
    try {
      await this.#file.syncData();
      this.#durable(lsn, size);
    } catch (error) {
      this.#fail(error, "sync");
    }
    this.#file.close();
    this.#finished = true;
    // Changes that came while it closed, after its last write: undone, their commits told.
    if (this.pending.length > 0 || this.#groups.waitingForNext) this.#undoLate();
  }

  /** After the close: nothing reaches the file any more, so what came since is undone. */
  #undoLate(): void {
    this.#rollback();
    this.pending.clear(KEEP_PENDING_BYTES);
    this.#appendedLsn = this.#writtenLsn;
    this.#groups.abandonNext();
  }

  // --- Writing and syncing. -------------------------------------------------

  /** A record was encoded at `start` in {@linkcode LogWriter.pending}: count it, and write it at the turn's end. */
  appended(start: number): void {
    const pending = this.pending;
    this.#appendedLsn += pending.length - start;
    this.#compactor.addTail(pending.bytes, start, pending.length);
    this.#flushScheduled ??= setImmediate(this.#flushTurn);
  }

  /** The end of a turn of the event loop: write what every connection appended in it. */
  readonly #flushTurn = (): void => {
    this.#flushScheduled = undefined;
    this.#startFlushing();
  };

  /**
   * Starts the loop that writes (and for always, syncs) unless it runs.
   * The syncs are async, and so is a write while a sync runs or past 1 MiB
   * (see #writePending). Other writes block, and hand bytes to the page
   * cache; they wait for the disk only where the kernel makes them (its
   * own writeback of the file's last page, throttling of dirty pages, most
   * likely with `no`), as Redis's do. The changes that come meanwhile make
   * the next group.
   */
  #startFlushing(): void {
    if (this.#flushing !== undefined || this.#holds > 0 || this.#closed || !this.#hasWork()) return;
    this.#flushing = this.#flushLoop().finally(() => {
      this.#flushing = undefined;
      this.#startFlushing();
    });
  }

  #hasWork(): boolean {
    return this.pending.length > 0 ||
      (this.#mode === "always" && this.#durableLsn < this.#writtenLsn);
  }

  async #flushLoop(): Promise<void> {
    while (this.#holds === 0 && !this.#closed) {
      const wrote = this.pending.length > 0;
      if (wrote && !(await this.#writePending())) return;
      if (this.#mode === "always" && this.#durableLsn < this.#writtenLsn) {
        if (!(await this.#syncWritten())) return;
      } else if (!wrote) {
        return;
      }
    }
  }

  /**
   * Hands the pending records to the OS in one write; appends go on into
   * the other buffer meanwhile. Returns `false` if it failed (then every
   * change not yet durable was undone). The records are taken before the
   * first `await`, unless a folder sync is owed.
   */
  async #writePending(): Promise<boolean> {
    if (this.#dirSyncNeeded) {
      try {
        await this.#fs.syncDir(this.#dir);
        this.#dirSyncNeeded = false;
      } catch (error) {
        this.#fail(error, "sync the folder of");
        return false;
      }
    }
    if (this.#needsTruncate && !this.#cutBack()) {
      this.#fail(new Error("cannot cut the file back to its last good record"), "write");
      return false;
    }
    const out = this.pending;
    this.pending = this.#spare;
    this.#spare = out;
    const lsn = this.#appendedLsn;
    const undoMark = this.#undo.mark;
    const group = this.#groups.startWrite();
    const epoch = this.#epoch;
    try {
      const bytes = out.bytes.subarray(0, out.length);
      // A blocking write to the page cache costs less than a trip to a
      // worker thread and back (measured under pipelined load, everysec:
      // 1.20 against 1.41 µs of server CPU per request), and the answers
      // waiting for it go out in this turn, not the next. Redis writes its
      // AOF the same way. On a thread instead: while the everysec sync of
      // the same file runs (a write can wait for it), and writes past 1 MiB,
      // which would hold every connection up (the kernel's writeback may
      // throttle them). always: writes alternate with syncs, so a write
      // never waits for one.
      const block = this.#mode === "always" ||
        (this.#syncing === undefined && bytes.length <= BLOCKING_WRITE_MAX_BYTES);
      if (block) writeAllSync(this.#file, bytes);
      else await writeAll(this.#file, bytes);
    } catch (error) {
      out.clear(KEEP_PENDING_BYTES);
      if (epoch === this.#epoch) this.#fail(error, "write");
      return false;
    }
    this.#groups.writeEnded();
    if (epoch !== this.#epoch) return false;
    this.#writtenSize += out.length;
    this.#writtenLsn = lsn;
    out.clear(KEEP_PENDING_BYTES);
    this.#groups.written(group, lsn, undoMark, this.#mode === "always");
    if (this.#mode !== "always") {
      this.#dirty = true;
      this.#durable(lsn, this.#writtenSize);
      group.resolve(true);
    }
    this.#failures.succeeded();
    if (!this.#closed) this.#compactor.maybeStart(this, this.#writtenSize);
    return true;
  }

  /** always: one fdatasync for everything written so far. */
  async #syncWritten(): Promise<boolean> {
    const epoch = this.#epoch;
    const lsn = this.#writtenLsn;
    const size = this.#writtenSize;
    try {
      await this.#file.syncData();
    } catch (error) {
      if (epoch === this.#epoch) this.#fail(error, "sync");
      return false;
    }
    if (epoch !== this.#epoch) return false;
    this.#durable(lsn, size);
    return true;
  }

  /** everysec: sync what was written since the last time. */
  readonly #syncEverySecond = (): void => {
    // A rewrite wanted after a failed sync starts here if no write comes to
    // start it; not while a folder sync is owed (its switch would fail, and
    // only a write retries that sync).
    if (this.#holds === 0 && !this.#closed && !this.#dirSyncNeeded) {
      this.#compactor.startIfWanted(this, this.#writtenSize);
    }
    if (!this.#dirty || this.#syncing !== undefined || this.#holds > 0) return;
    this.#dirty = false;
    this.#syncing = this.#file.syncData().catch((error) => {
      // The writes were answered already (everysec promises them to the
      // OS). After a failed fdatasync, Linux may drop the pages it could not
      // write and report it only once, so rewrite the whole log from memory.
      this.#dirty = true;
      this.#compactor.want();
      this.#failures.syncFailed(error);
    }).finally(() => {
      this.#syncing = undefined;
    });
  };

  /** Everything up to `lsn` (file size `size`) is durable: resolve, and forget how to undo it. */
  #durable(lsn: number, size: number): void {
    this.#durableLsn = lsn;
    this.#durableSize = size;
    this.#groups.durable(lsn);
  }

  /**
   * A write or sync failed: undo every change not yet durable, cut the
   * file back to its last durable byte, and tell the waiting commits.
   */
  #fail(error: unknown, what: string): void {
    this.#epoch++;
    let undone = 0;
    try {
      undone = this.#rollback();
    } catch (undoError) {
      this.#failures.undoFailed(undoError);
    }
    this.pending.clear(KEEP_PENDING_BYTES);
    this.#appendedLsn = this.#writtenLsn = this.#durableLsn;
    this.#writtenSize = this.#durableSize;
    this.#cutBack();
    this.#groups.failAll();
    this.#compactor.abort();
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

  // --- The switch to a compacted file (Compaction.switchInto drives it). -----

  /**
   * Holds appends, then writes (and for always, syncs) everything appended
   * so far to the old file, and seals the compaction's tail at the same
   * moment, so that both files hold every change up to it. Returns `false`
   * if that failed. {@linkcode LogWriter.release} must follow either way.
   */
  async holdAndFlush(compaction: Compaction): Promise<boolean> {
    this.#holds++;
    await this.#flushing;
    await this.#syncing;
    if (compaction.aborted || this.#closed || this.#dirSyncNeeded) return false;
    // Synchronous from here to the write's first await: the tail ends where
    // the records taken for the old file end.
    compaction.sealTail();
    if (this.pending.length > 0 && !(await this.#writePending())) return false;
    if (this.#mode === "always" && this.#durableLsn < this.#writtenLsn) {
      if (!(await this.#syncWritten())) return false;
    }
    return !compaction.aborted && !this.#closed;
  }

  /** The compacted file has the log's name now: appends go to it. */
  adopt(file: LogFile, size: number, aside?: string): void {
    const old = this.#file;
    this.#file = file;
    this.#writtenSize = this.#durableSize = size;
    // Kept, open and whole, until the rename is known to be durable.
    this.#replaced = old;
    this.#replacedAside = aside;
  }

  /** The folder sync after the rename worked: the replaced file is let go, its blocks freed off the event loop (LogFile.release). */
  renameDurable(): void {
    this.#letGo();
  }

  /** The folder sync after the rename failed: it is retried before the next write, which fails until it works. */
  folderNotSynced(error: unknown): void {
    this.#dirSyncNeeded = true;
    this.#failures.folderNotSynced(error);
  }

  #letGo(): void {
    const old = this.#replaced;
    const aside = this.#replacedAside;
    this.#replaced = this.#replacedAside = undefined;
    if (old !== undefined) {
      this.#releasing = Promise.all([this.#releasing, old.release(aside)]).then(() => {});
    }
  }

  /** The switch is over (or called off): appends go on. */
  release(): void {
    // A replaced file whose rename is not known to be durable is let go too:
    // release() never empties it, so a power cut that brings back its name
    // finds it whole.
    this.#letGo();
    this.#holds--;
    this.#startFlushing();
  }
}
