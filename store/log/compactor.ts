/**
 * {@linkcode Compactor}: when the log writer (writer.ts) rewrites its file,
 * and the run of one rewrite (compact.ts) to its end. A compaction starts
 * after a write once the file is at least twice what a compaction would
 * write and past a floor, or after an `everysec` sync failed (the OS may
 * have dropped pages it could not write, so the whole log is rewritten from
 * memory: after the next write, or at the sync timer's next tick if none
 * comes); after a compaction fails, none starts for a while.
 *
 * @module
 */

import type { Store } from "../store.ts";
import { Compaction, type CompactionHook } from "./compact.ts";
import type { FailureReport } from "./failures.ts";
import type { LogFs } from "./file.ts";
import type { LogWriter } from "./writer.ts";

// After a failed compaction, wait this long before another.
const COMPACTION_RETRY_MS = 10_000;

/** What a {@linkcode Compactor} needs from its writer's owner. */
export interface CompactorInit {
  readonly fs: LogFs;
  readonly path: string;
  readonly dir: string;
  /** Compact once the file is at least this large (and twice the live data). */
  readonly compactMinBytes: number;
  /** For tests: awaited at each step of a compaction. */
  readonly hook: CompactionHook | undefined;
  /** The store a compaction walks (a clear() replaces it). */
  readonly walk: () => Store;
  /** What a compaction would write now: the trigger compares the file with it. */
  readonly live: () => number;
}

/** Starts compactions of one log file, one at a time. */
export class Compactor {
  readonly #init: CompactorInit;
  readonly #failures: FailureReport;
  #compaction: Compaction | undefined;
  #running: Promise<void> | undefined;
  #wanted = false;
  #notBefore = 0;

  /** Compacts the log of `init.path`, telling `failures` how it went. */
  constructor(init: CompactorInit, failures: FailureReport) {
    this.#init = init;
    this.#failures = failures;
  }

  /** Appended records: a compaction under way copies them into its tail. */
  addTail(bytes: Uint8Array, start: number, end: number): void {
    this.#compaction?.addTail(bytes, start, end);
  }

  /** A compaction must run at the next chance, even below the thresholds (a sync failed). */
  want(): void {
    this.#wanted = true;
  }

  /** Calls off the compaction under way, if any (its file is then removed). */
  abort(): void {
    this.#compaction?.abort();
  }

  /** Calls off the compaction under way and waits until it is over. */
  async stop(): Promise<void> {
    this.#compaction?.abort();
    await this.#running;
  }

  /** Starts the compaction {@linkcode Compactor.want} asked for, if it is not under way (the writer's timer calls it). */
  startIfWanted(writer: LogWriter, fileBytes: number): void {
    if (this.#wanted) this.maybeStart(writer, fileBytes);
  }

  /** After a successful write of `writer`, whose file has `fileBytes`: starts a compaction if one is due. */
  maybeStart(writer: LogWriter, fileBytes: number): void {
    if (this.#compaction !== undefined || this.#failures.failing) return;
    if (performance.now() < this.#notBefore) return;
    const init = this.#init;
    if (!this.#wanted && (fileBytes < init.compactMinBytes || fileBytes < 2 * init.live())) {
      return;
    }
    const wanted = this.#wanted;
    this.#wanted = false;
    const compaction = this.#compaction = new Compaction({
      fs: init.fs,
      path: init.path,
      dir: init.dir,
      tempPath: `${init.path}.compact`,
      store: init.walk,
      hook: init.hook,
    });
    this.#running = this.#run(compaction, writer, fileBytes, wanted);
  }

  /** Runs a compaction; one that was wanted (a failed sync) is wanted again until it switches. */
  async #run(
    compaction: Compaction,
    writer: LogWriter,
    before: number,
    wanted: boolean,
  ): Promise<void> {
    const started = performance.now();
    let switched = false;
    try {
      if (!(await compaction.writeSnapshot()) || !(await compaction.switchInto(writer))) return;
      switched = true;
      this.#failures.compacted(
        before,
        compaction.size,
        compaction.snapshotSize,
        performance.now() - started,
      );
      await this.#init.hook?.("switched");
    } catch (error) {
      this.#notBefore = performance.now() + COMPACTION_RETRY_MS;
      this.#failures.compactionFailed(error);
    } finally {
      if (wanted && !switched) this.#wanted = true;
      await compaction.discard().catch(() => {});
      if (this.#compaction === compaction) this.#compaction = undefined;
      this.#running = undefined;
    }
  }
}
