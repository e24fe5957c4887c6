/**
 * How a log file is kept: the fsync mode ({@linkcode FsyncMode}) and what
 * an opened log hands on to the store and its writer
 * ({@linkcode LogFileInit}).
 *
 * @module
 */

import type { Logger } from "../../net/log.ts";
import type { CompactionHook } from "./compact.ts";
import type { LogFile, LogFs } from "./file.ts";

/**
 * When the log is synced (`kv serve --fsync`): `always` before each answer,
 * `everysec` about once a second, `no` when the OS decides.
 */
export type FsyncMode = "always" | "everysec" | "no";

/** Every {@linkcode FsyncMode}, in `kv serve --help`'s order. */
export const FSYNC_MODES: readonly FsyncMode[] = ["always", "everysec", "no"];

/** An opened log file and how to keep it (from {@linkcode openLog}). */
export interface LogFileInit {
  /** The log's path. */
  readonly path: string;
  /** The folder it is in (synced after a rename). */
  readonly dir: string;
  /** The file system. */
  readonly fs: LogFs;
  /** The log, open, locked and cut to its last good record. */
  readonly file: LogFile;
  /** Its size in bytes. */
  readonly fileBytes: number;
  /** When to sync. */
  readonly fsync: FsyncMode;
  /** Where failures and compactions are logged. */
  readonly log: Logger;
  /** Compact once the file is at least this large (and twice the live data). */
  readonly compactMinBytes: number;
  /** For tests: awaited at each step of a compaction. */
  readonly hook: CompactionHook | undefined;
}
