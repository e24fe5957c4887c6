/**
 * {@linkcode Compaction}: one background rewrite of the log, the way Redis
 * rewrote its AOF before version 7. A new file (`FILE.compact`) gets the
 * live pairs, walked from the store in bounded steps while the server goes
 * on answering; every record appended to the log meanwhile is also kept (the
 * tail) and written after them, so a change made during the walk is never
 * lost, whatever the walk saw of it. Then the switch: appends wait while the
 * old file gets everything appended so far and the new file the rest of the
 * tail; the new file is synced, renamed over the old one, and the folder
 * synced. A crash at any step leaves one complete log under the name.
 *
 * Why the walk plus the tail is the log's content: every record in the tail
 * sets a key's whole state (set, with its absolute expiry; delete; clear),
 * so replaying the tail after a pair that the walk saw at any moment since
 * the start ends in the same state as the log; or it is an `append`, which
 * makes the value its first `old length` bytes and then the bytes added.
 * After a pair the walk saw before the append, the appends before it in the
 * tail have rebuilt the value it was made to; after one it saw later, with
 * only appends since, the value holds that one as its first bytes, so it is
 * cut back and grown again; after one a later set or delete made, the
 * append changes nothing that the later record does not set whole again.
 *
 * @module
 */

import { afterIo, writeAll } from "../../net/conn.ts";
import { LINE_TEXT, NO_KEY, type Store } from "../store.ts";
import type { LogFile, LogFs } from "./file.ts";
import type { LogWriter } from "./writer.ts";
import { encodeSet, LogBuffer, MAGIC } from "./format.ts";

/**
 * Where a compaction gives the log it replaces a second name, for a moment
 * (see LogFile.release); one left by a crash is removed at the next start.
 */
export function asidePath(path: string): string {
  return `${path}.replaced`;
}

/** The moments of a compaction a test may stop at (see {@linkcode CompactionHook}). */
export type CompactionStep =
  /** The new file holds its header and the first chunk of the walk. */
  | "snapshot"
  /** The new file is complete and synced; it has not replaced the log yet. */
  | "synced"
  /** The new file has replaced the log; the folder is not synced yet. */
  | "renamed"
  /** Done: the folder is synced and the server appends to the new file. */
  | "switched";

/**
 * Called at each {@linkcode CompactionStep} and awaited: for tests only, to
 * write during a compaction or to kill the server at a known moment.
 */
export type CompactionHook = (step: CompactionStep) => Promise<void> | void;

// The walk writes once it has encoded this much, and yields to the event
// loop after every step that does not write, so answers are not held up.
const CHUNK_BYTES = 256 * 1024;
// Table slots one step of the walk covers.
const SCAN_SLOTS = 1024;
// The tail is written while it holds more than this; the rest is written
// during the switch, while appends wait, so that wait stays short.
const SMALL_TAIL_BYTES = 64 * 1024;

/** One rewrite of the log into `tempPath`. */
export class Compaction {
  /** Set once the new file replaced the log: it must not be removed then. */
  switched = false;
  readonly #fs: LogFs;
  readonly #path: string;
  readonly #dir: string;
  readonly #tempPath: string;
  readonly #store: () => Store;
  readonly #hook: CompactionHook | undefined;
  #tail: Tail | undefined = new Tail();
  // The tail once sealed: nothing more is added to it.
  #sealed: Tail | undefined;
  #aborted = false;
  #file: LogFile | undefined;
  #size = 0;
  #snapshotSize = 0;

  /** Rewrites the pairs of `store()` (asked at each step: a clear() replaces the store). */
  constructor(
    options: {
      fs: LogFs;
      path: string;
      dir: string;
      tempPath: string;
      store: () => Store;
      hook: CompactionHook | undefined;
    },
  ) {
    this.#fs = options.fs;
    this.#path = options.path;
    this.#dir = options.dir;
    this.#tempPath = options.tempPath;
    this.#store = options.store;
    this.#hook = options.hook;
  }

  /** Whether it was called off (a failed write undid changes, or the log is closing). */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** The new file (once {@linkcode Compaction.writeSnapshot} has opened it). */
  get file(): LogFile {
    return this.#file!;
  }

  /** Bytes written to the new file. */
  get size(): number {
    return this.#size;
  }

  /** The bytes of the header and the walk of the store: the new file less what was written during the rewrite. */
  get snapshotSize(): number {
    return this.#snapshotSize;
  }

  /** Calls it off; it stops at its next step. */
  abort(): void {
    this.#aborted = true;
  }

  /** Stops taking records: the tail ends here (the writer calls it at the switch). */
  sealTail(): void {
    this.#sealed = this.#tail;
    this.#tail = undefined;
  }

  /** Keeps a copy of a record just appended to the log, until the switch. */
  addTail(bytes: Uint8Array, start: number, end: number): void {
    this.#tail?.add(bytes, start, end);
  }

  /**
   * Writes the new file's header, the walk of the store and the tail so
   * far. Returns `false` if it was called off meanwhile.
   */
  async writeSnapshot(): Promise<boolean> {
    const file = this.#file = await this.#fs.open(this.#tempPath, { fresh: true });
    // Locked before it takes the log's name, so a second server never gets
    // the new file either.
    if (!(await file.tryLock())) throw new Error(`cannot lock ${this.#tempPath}`);
    // It takes the log's place: with the log's mode, owner and group, not
    // the process's umask (a 0600 log must not come back world-readable).
    await this.#fs.copyMode(this.#path, this.#tempPath);
    const chunk = new LogBuffer(CHUNK_BYTES + 64 * 1024);
    chunk.add(MAGIC, 0, MAGIC.length);
    let store = this.#store();
    const visit = (
      bytes: Uint8Array,
      keyStart: number,
      keyEnd: number,
      valueStart: number,
      valueEnd: number,
      flags: number,
    ) => {
      const expiry = store.expiry(bytes, keyStart, keyEnd);
      // Its time came between the scan's look at the clock and this one.
      if (expiry === NO_KEY) return;
      encodeSet(
        chunk,
        bytes,
        keyStart,
        keyEnd,
        bytes,
        valueStart,
        valueEnd,
        (flags & LINE_TEXT) !== 0,
        expiry > 0 ? expiry : 0,
      );
    };
    let cursor = 0;
    let first = true;
    do {
      if (this.#aborted) return false;
      store = this.#store();
      cursor = store.scan(cursor, SCAN_SLOTS, visit);
      if (chunk.length >= CHUNK_BYTES || cursor === 0) {
        await this.#write(chunk);
        chunk.clear(CHUNK_BYTES + 64 * 1024);
        if (first) {
          first = false;
          await this.#hook?.("snapshot");
        }
      } else {
        await afterIo();
      }
    } while (cursor !== 0);
    this.#snapshotSize = this.#size;
    while (!this.#aborted && this.#tail!.length > SMALL_TAIL_BYTES) {
      const tail = this.#tail!;
      this.#tail = new Tail();
      for (const chunk of tail.chunks) await this.#write(chunk);
    }
    // Synced now, while the server still writes: the sync under the switch's
    // hold then covers only the last small tail.
    if (!this.#aborted) await file.syncData();
    return !this.#aborted;
  }

  /**
   * Puts the new file in the log's place (see the module's doc). Returns
   * `false` if it was called off before the rename; throws what a step
   * before the rename throws (the log is then unchanged).
   */
  async switchInto(writer: LogWriter): Promise<boolean> {
    try {
      if (!(await writer.holdAndFlush(this))) return false;
      for (const chunk of this.#sealed!.chunks) await this.#write(chunk);
      await this.#file!.syncData();
      if (this.#aborted) return false;
      await this.#hook?.("synced");
      // The old file's second name, so that letting it go later frees its
      // blocks off the event loop (LogFile.release). Without one (a file
      // system with no hard links) it is simply closed.
      const aside = asidePath(this.#path);
      let kept: string | undefined;
      try {
        await this.#fs.remove(aside);
        await this.#fs.link(this.#path, aside);
        kept = aside;
      } catch {
        // Closed with no second name: correct, only slower.
      }
      try {
        await this.#fs.rename(this.#tempPath, this.#path);
      } catch (error) {
        if (kept !== undefined) await this.#fs.remove(kept).catch(() => {});
        throw error;
      }
      this.switched = true;
      writer.adopt(this.#file!, this.#size, kept);
      await this.#hook?.("renamed");
      try {
        await this.#fs.syncDir(this.#dir);
        writer.renameDurable();
      } catch (error) {
        writer.folderNotSynced(error);
      }
      return true;
    } finally {
      writer.release();
    }
  }

  /** Closes and removes the new file, unless it replaced the log. */
  async discard(): Promise<void> {
    if (this.switched) return;
    this.#file?.close();
    await this.#fs.remove(this.#tempPath);
  }

  async #write(buffer: LogBuffer): Promise<void> {
    await writeAll(this.#file!, buffer.bytes.subarray(0, buffer.length));
    this.#size += buffer.length;
  }
}

// A tail chunk's size: past it, records go into a new chunk.
const TAIL_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * The records appended during a compaction's walk, in chunks: under heavy
 * writes to a big store it reaches hundreds of MB, and one buffer grown by
 * doubling copied it all at each step (0.5 s at 256 MB, with every client
 * waiting).
 */
class Tail {
  readonly chunks: LogBuffer[] = [new LogBuffer(64 * 1024)];
  length = 0;

  add(bytes: Uint8Array, start: number, end: number): void {
    let last = this.chunks[this.chunks.length - 1]!;
    if (last.length >= TAIL_CHUNK_BYTES) {
      last = new LogBuffer(TAIL_CHUNK_BYTES + 64 * 1024);
      this.chunks.push(last);
    }
    last.add(bytes, start, end);
    this.length += end - start;
  }
}
