/**
 * {@linkcode FailureReport}: what the log says, above all when it cannot
 * write. On a full disk every turn of writes fails, so it says so once,
 * then at most every {@linkcode FAILURE_LOG_EVERY_MS} while it lasts, and
 * once more when writes succeed again.
 *
 * @module
 */

import { errorMessage } from "../../net/conn.ts";
import type { Logger } from "../../net/log.ts";

/** While failures go on, they are logged at most this often. */
export const FAILURE_LOG_EVERY_MS = 10_000;

/** Counts and logs the changes a log refused, and says what else befell the file. */
export class FailureReport {
  readonly #path: string;
  readonly #log: Logger;
  #refused = 0;
  #lastLog = 0;

  /** Reports on the log at `path` through `log`. */
  constructor(path: string, log: Logger) {
    this.#path = path;
    this.#log = log;
  }

  /**
   * Putting back the old state of changes that were not saved failed: an
   * old value can need room the store no longer has (at its 2 GiB cap). The
   * file stays right; the store may not be.
   */
  undoFailed(error: unknown): void {
    this.#log(
      "error",
      `cannot undo the changes to data file ${this.#path} that were not saved (${
        errorMessage(error)
      }): the store may now hold changes the file does not; restart the server to reload it`,
    );
  }

  /** everysec's sync failed: the writes were answered already, so the whole log is rewritten. */
  syncFailed(error: unknown): void {
    this.#log(
      "error",
      `cannot sync data file ${this.#path}: ${errorMessage(error)}; rewriting it from memory`,
    );
  }

  /** The folder sync after a compaction's rename failed (retried before the next write). */
  folderNotSynced(error: unknown): void {
    this.#log("error", `cannot sync the folder of data file ${this.#path}: ${errorMessage(error)}`);
  }

  /**
   * A compaction took the file from `before` to `after` bytes in `ms`, of
   * which `snapshot` hold the live data and the rest the writes that came
   * during the rewrite (else a busy store's log seems to grow by compacting).
   */
  compacted(before: number, after: number, snapshot: number, ms: number): void {
    const meanwhile = after - snapshot;
    this.#log(
      "info",
      `compacted data file ${this.#path}: ${before} -> ${after} bytes` +
        (meanwhile > 0
          ? ` (${snapshot} of live data, ${meanwhile} written during the rewrite)`
          : "") +
        ` in ${Math.round(ms)} ms`,
    );
  }

  /** A compaction failed before its switch: the log is as it was. */
  compactionFailed(error: unknown): void {
    this.#log(
      "error",
      `compaction of data file ${this.#path} failed (the log is unchanged): ${errorMessage(error)}`,
    );
  }

  /** Whether the last attempt failed (and none has succeeded since). */
  get failing(): boolean {
    return this.#refused > 0;
  }

  /** An attempt to `what` the file failed with `error`, and `undone` changes were undone. */
  failed(what: string, error: unknown, undone: number): void {
    const now = performance.now();
    const why = errorMessage(error);
    if (this.#refused === 0) {
      this.#log(
        "error",
        `cannot ${what} data file ${this.#path}: ${why}; ` +
          `${undone} change(s) undone and answered with an error; reads go on`,
      );
      this.#lastLog = now;
    } else if (now - this.#lastLog >= FAILURE_LOG_EVERY_MS) {
      this.#log(
        "error",
        `still cannot ${what} data file ${this.#path}: ${why} ` +
          `(${this.#refused + undone} changes refused so far)`,
      );
      this.#lastLog = now;
    }
    this.#refused += Math.max(1, undone);
  }

  /** A write succeeded: if writes were failing, say they work again. */
  succeeded(): void {
    if (this.#refused === 0) return;
    this.#log(
      "info",
      `data file ${this.#path}: writes succeed again (${this.#refused} changes refused)`,
    );
    this.#refused = 0;
  }
}
