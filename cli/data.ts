/**
 * `kv serve --data FILE`: opening the log for the command line, with each
 * way it can fail said in one line on stderr (and how to recover from a
 * damaged file), and the test-only compaction pause.
 *
 * @module
 */

import { errorMessage } from "../net/conn.ts";
import type { Logger } from "../net/log.ts";
import { permissionDenied } from "../net/permission.ts";
import type { FsyncMode, LogStore } from "../store/log.ts";
import type { CompactionHook, CompactionStep } from "../store/log/compact.ts";
import {
  dirname,
  LogCorruptError,
  LogOpenError,
  LogPermissionError,
  openLogWith,
} from "../store/log/open.ts";
import type { MainIo } from "./io.ts";
import { FileAccessError } from "./options.ts";

/**
 * For tests only: with this variable set to a compaction step (`snapshot`,
 * `synced`, `renamed`, `switched`) and `--allow-env=KV_TEST_COMPACTION_PAUSE`
 * granted, a compaction stops for good at that step, so a test can kill the
 * server there (e2e/compaction_e2e.ts). On its way to a later step it also
 * waits {@linkcode SLOW_WALK_MS} after the walk's first chunk, so that
 * writes land in the compaction's tail.
 */
export const COMPACTION_PAUSE_ENV = "KV_TEST_COMPACTION_PAUSE";

const STEPS: readonly CompactionStep[] = ["snapshot", "synced", "renamed", "switched"];
/** How long the test hook holds the walk (see {@linkcode COMPACTION_PAUSE_ENV}). */
export const SLOW_WALK_MS = 200;

/**
 * Opens and loads the log at `path`. Returns `undefined` after writing why
 * it could not (one line, two for a damaged file) to stderr; throws
 * {@linkcode FileAccessError} for a missing permission.
 */
export async function openDataFile(
  path: string,
  options: { fsync: FsyncMode; compactMinBytes: number; log: Logger; io: MainIo },
): Promise<LogStore | undefined> {
  const { io } = options;
  try {
    return await openLogWith(path, {
      fsync: options.fsync,
      compactMinBytes: options.compactMinBytes,
      log: options.log,
    }, { compactionHook: pauseHook(options.log) });
  } catch (error) {
    if (error instanceof LogCorruptError) {
      // The file a link points to: moving a copy over the link would replace the link.
      const file = error.path;
      await io.stderr(
        `kv: cannot load data file ${path}: ${error.message}\n` +
          `kv: to recover, run "kv repair ${file}": it writes ${file}.repaired without the bad ` +
          `bytes and says what it dropped; check that file, then move it over ${file} (after a ` +
          `power cut, "kv repair --truncate ${file}" drops everything from the bad record on ` +
          "instead: at most what the last sync had not reached)\n",
      );
    } else if (error instanceof LogPermissionError) {
      // How kv was run, as for the other files it reads: a usage error.
      throw new FileAccessError(`cannot use data file ${path}: ${error.message}`);
    } else if (error instanceof LogOpenError) {
      await io.stderr(`kv: cannot use data file ${path}: ${error.message}\n`);
    } else if (error instanceof Deno.errors.PermissionDenied) {
      // The OS said no (the file's or folder's owner or mode): how kv was run, exit 2.
      throw new FileAccessError(`cannot open data file ${path}: ${describeFileError(error, path)}`);
    } else {
      await io.stderr(`kv: cannot open data file ${path}: ${describeFileError(error, path)}\n`);
    }
    return undefined;
  }
}

/** One line for an error of the file system, with the permission flags to use if that was it. */
export function describeFileError(error: unknown, path: string): string {
  if (error instanceof Deno.errors.NotCapable) {
    const dir = dirname(path);
    return permissionDenied([`--allow-read=${dir}`, `--allow-write=${dir}`], Deno.build.standalone);
  }
  // The OS said no (the folder's owner or mode), not Deno.
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied by the file system";
  if (error instanceof Deno.errors.NotFound) return "no such file or folder";
  if (error instanceof Deno.errors.IsADirectory) return "it is a folder";
  return errorMessage(error);
}

/** The test-only pause (see {@linkcode COMPACTION_PAUSE_ENV}); `undefined` unless asked for. */
function pauseHook(log: Logger): CompactionHook | undefined {
  // Asked without a prompt: a server run without --allow-env never sees it.
  if (
    Deno.permissions.querySync({ name: "env", variable: COMPACTION_PAUSE_ENV }).state !== "granted"
  ) {
    return undefined;
  }
  const step = Deno.env.get(COMPACTION_PAUSE_ENV);
  if (step === undefined || !(STEPS as readonly string[]).includes(step)) return undefined;
  return async (at) => {
    if (at === "snapshot" && step !== "snapshot") {
      await new Promise((resolve) => setTimeout(resolve, SLOW_WALK_MS));
    }
    if (at !== step) return;
    log("info", `test hook: compaction paused at "${at}" (${COMPACTION_PAUSE_ENV})`);
    await new Promise<never>(() => {});
  };
}
