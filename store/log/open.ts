/**
 * {@linkcode openLog}: opening a log for `kv serve --data FILE`. It takes
 * the file's lock, loads every record into a fresh store, drops a torn tail
 * (with a warning) or refuses a damaged file (changing nothing), and hands
 * the result to a {@linkcode LogStore}. {@linkcode openLogWith} also takes
 * what only tests and the command line give ({@linkcode LogInternals}); the
 * library (mod.ts) exports `openLog` alone.
 *
 * @module
 */

import { logErrors, type Logger } from "../../net/log.ts";
import { permissionDenied } from "../../net/permission.ts";
import { type Clock, SYSTEM_CLOCK } from "../clock.ts";
import { type FsyncMode, type LogStore, newLogStore } from "../log.ts";
import { MemoryStore } from "../memory.ts";
import { type Store, StoreFullError } from "../store.ts";
import { asidePath, type CompactionHook } from "./compact.ts";
import { FSYNC_MODES } from "./options.ts";
import { DENO_FS, type LogFile, type LogFs } from "./file.ts";
import {
  describeBadRecord,
  INCOMPLETE,
  MAGIC,
  readRecord,
  readU32,
  RECORD_HEADER_BYTES,
  RecordView,
  setRecordBytes,
} from "./format.ts";
import { applyRecord } from "./apply.ts";
import { heldHere, rememberOpened } from "./held_here.ts";
import { findRecord, headerState, isTornTail, TAIL_SCAN_LIMIT_BYTES } from "./recover.ts";

/** Options of {@linkcode openLog}. */
export interface OpenLogOptions {
  /** When to sync (see {@linkcode FsyncMode}). @default {"everysec"} */
  fsync?: FsyncMode;
  /** Where expiry reads the time. @default {SYSTEM_CLOCK} */
  clock?: Clock;
  /**
   * Where the load's summary, warnings and write failures go.
   * @default {errors and warnings to stderr, as serve()'s}
   */
  log?: Logger;
  /**
   * Compact once the log is at least this large (and twice its live data).
   * @default {67108864}
   */
  compactMinBytes?: number;
  /** Makes the store the log loads into, and the empty one a clear() starts. @default {a MemoryStore on `clock`} */
  newStore?: () => Store;
}

/**
 * What {@linkcode openLogWith} takes beyond {@linkcode OpenLogOptions}:
 * for tests, and for `kv serve`'s test-only compaction pause. Not part of
 * the library.
 */
export interface LogInternals {
  /** The file system. @default {DENO_FS} */
  fs?: LogFs;
  /** Awaited at each step of a compaction. @default {none} */
  compactionHook?: CompactionHook;
}

/** The default of {@linkcode OpenLogOptions.compactMinBytes}: 64 MiB, Redis's `auto-aof-rewrite-min-size`. */
export const COMPACT_MIN_BYTES: number = 64 * 1024 * 1024;

/** Why a log could not be opened. The message says what to do. */
export class LogOpenError extends Error {
  /** The log's path. */
  readonly path: string;

  /** `message` says what is wrong with the file at `path`. */
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LogOpenError";
    this.path = path;
  }
}

/** The process may not read and write the log's folder (Deno's permissions). */
export class LogPermissionError extends LogOpenError {
  /** The folder it needs. */
  readonly dir: string;

  /** The log at `path` needs read and write permission on `dir` (where `path` links to `target`, if it does). */
  constructor(path: string, dir: string, target?: string) {
    super(
      path,
      permissionDenied([`--allow-read=${dir}`, `--allow-write=${dir}`], Deno.build.standalone, {
        before: target === undefined ? "" : `it links to ${target}: `,
      }),
    );
    this.name = "LogPermissionError";
    this.dir = dir;
  }
}

/** A bad record before the log's tail: damage, or a power cut's hole. Nothing was changed. */
export class LogCorruptError extends LogOpenError {
  /** Where the bad record starts, in bytes from the start of the file. */
  readonly offset: number;

  /** The record at `offset` of `path` is bad, for `reason`. */
  constructor(path: string, offset: number, reason: string) {
    super(
      path,
      `bad record at byte ${offset} (${reason}), and valid records follow it: the file was ` +
        "damaged, or a power cut wrote its last pages out of order; the file was not changed",
    );
    this.name = "LogCorruptError";
    this.offset = offset;
  }
}

// Loading reads the file this much at a time.
const READ_BYTES = 4 * 1024 * 1024;
// A second server may open the file just as the first renames a compacted
// one over it; it then locks a file that is no longer the log, and tries again.
const OPEN_TRIES = 5;

/**
 * Opens (creating if absent) the log at `path`, loads it into a new store,
 * and returns the {@linkcode LogStore} over it. Throws
 * {@linkcode LogOpenError} (its message one line on what is wrong, its
 * `path` the file) if the process may not use the folder, another server
 * holds the file (or, in this process, a `LogStore` not yet closed), or it
 * is not a kv log, and {@linkcode LogCorruptError} if a record before the
 * tail is bad. Other failures of the file system (a path through a file,
 * say) come as Deno's own errors.
 */
export function openLog(path: string, options?: OpenLogOptions): Promise<LogStore> {
  // These were options once: ignored, the log would go to the real disk.
  if (options !== undefined && ("fs" in options || "compactionHook" in options)) {
    return Promise.reject(
      new TypeError("openLog() takes no fs or compactionHook: they are internal (openLogWith)"),
    );
  }
  // From plain JavaScript, a mode of another name would sync as "everysec"
  // or "no" silently; a negative or fractional size compacts at any size.
  const fsync = options?.fsync;
  if (fsync !== undefined && !FSYNC_MODES.includes(fsync)) {
    return Promise.reject(
      new RangeError(
        `Cannot use fsync ${JSON.stringify(fsync)}: expected one of ${FSYNC_MODES.join(", ")}`,
      ),
    );
  }
  const compactMinBytes = options?.compactMinBytes;
  if (
    compactMinBytes !== undefined &&
    !(Number.isSafeInteger(compactMinBytes) && compactMinBytes >= 0)
  ) {
    return Promise.reject(
      new RangeError(`Cannot use compactMinBytes ${compactMinBytes}: expected an integer from 0`),
    );
  }
  // A library's user gets the failures of the disk on stderr, as serve()
  // logs; openLogWith's own callers (tests on a fake disk) stay quiet.
  return openLogWith(path, { ...options, log: options?.log ?? logErrors }, {});
}

/**
 * {@linkcode openLog} on the file system and with the compaction hook of
 * `internals` (tests and the command line; not part of the library).
 */
export async function openLogWith(
  path: string,
  options: OpenLogOptions | undefined,
  internals: LogInternals,
): Promise<LogStore> {
  options ??= {};
  const fs = internals.fs ?? DENO_FS;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const log = options.log ?? (() => {});
  const newStore = options.newStore ?? (() => new MemoryStore({ clock }));
  const given = path;
  if (!fs.mayUse(dirname(given))) {
    // A folder given for the file, with permission on that folder only: say
    // what is wrong, not ask for a wider permission that would not help.
    if (fs.mayUse(given) && (await fs.entry(given).catch(() => undefined))?.kind === "folder") {
      throw new LogOpenError(given, folderMessage(given));
    }
    throw new LogPermissionError(given, dirname(given));
  }
  // The log is the file a link points to: a compaction renames its new file
  // over that one (and locks it), and must not replace the link itself.
  path = await regularFile(fs, given);
  const dir = dirname(path);
  if (path !== given) {
    if (!fs.mayUse(dir)) throw new LogPermissionError(given, dir, path);
    log("info", `${given} is a symbolic link: using ${path}`);
  }
  const started = performance.now();
  const file = await lockFile(fs, path, dir);
  try {
    // Left by a compaction that a crash cut short: never the log (the
    // second is a second name of an old log, or of this one).
    let leftover = `${path}.compact`;
    try {
      await fs.remove(leftover);
      leftover = asidePath(path);
      await fs.remove(leftover);
    } catch (error) {
      // Name the file that is in the way, not the log (which is fine).
      throw new LogOpenError(
        path,
        `cannot remove ${leftover}, left beside it by a compaction a crash cut short (${
          error instanceof Error ? error.message : error
        }); it is never the log: remove it, then start again`,
        { cause: error },
      );
    }
    const store = newStore();
    // Past a capped store's cap while loading, and back within it after
    // (Store.load): a log of writes the store accepted always loads.
    store.load?.(true);
    const { fileBytes, records } = await load(file, path, store, log);
    try {
      store.load?.(false);
    } catch (error) {
      if (!(error instanceof StoreFullError)) throw error;
      throw new LogOpenError(
        path,
        `${error.message}: it was written by a store with more room; open it with a larger cap`,
        { cause: error },
      );
    }
    if (records === 0 && fileBytes === MAGIC.length) await fs.syncDir(dir); // A new file's name.
    const liveBytes = measure(store);
    log(
      "info",
      `loaded ${store.size} ${store.size === 1 ? "key" : "keys"} from ${path} (${records} ${
        records === 1 ? "record" : "records"
      }, ${fileBytes} bytes) in ${Math.round(performance.now() - started)} ms`,
    );
    const opened = newLogStore({
      path,
      dir,
      fs,
      file,
      fileBytes,
      store,
      liveBytes,
      fsync: options.fsync ?? "everysec",
      clock,
      log,
      compactMinBytes: options.compactMinBytes ?? COMPACT_MIN_BYTES,
      newStore,
      hook: internals.compactionHook,
    });
    rememberOpened(opened, fs);
    return opened;
  } catch (error) {
    file.close();
    throw error;
  }
}

// Links followed before giving up, as the kernel's ELOOP does.
const MAX_LINKS = 40;

/**
 * The path of the regular file (present or to be made) that `path` names,
 * following symbolic links. Throws {@linkcode LogOpenError} for a folder or
 * for anything but a file (a FIFO would block the load forever).
 */
async function regularFile(fs: LogFs, path: string): Promise<string> {
  let at = path;
  for (let links = 0; links <= MAX_LINKS; links++) {
    const entry = await fs.entry(at);
    if (entry.kind !== "link") {
      if (entry.kind === "absent" || entry.kind === "file") return at;
      const what = at === path ? "it is" : `it links to ${at}, which is`;
      throw new LogOpenError(
        path,
        entry.kind === "folder" && at === path
          ? folderMessage(path)
          : entry.kind === "folder"
          ? `${what} a folder`
          : `${what} not a regular file (a FIFO, a device or a socket); give the path of a file`,
      );
    }
    at = /^([A-Za-z]:)?[\\/]/.test(entry.target) ? entry.target : `${dirname(at)}/${entry.target}`;
  }
  throw new LogOpenError(path, "too many levels of symbolic links");
}

/** For a folder given where the log's file belongs. */
function folderMessage(path: string): string {
  return `it is a folder: give the path of a file in it, such as ${
    path.replace(/\/+$/, "")
  }/kv.log`;
}

/** Opens the log and takes its lock, so that two servers never write one file. */
async function lockFile(fs: LogFs, path: string, dir: string): Promise<LogFile> {
  await fs.mkdir(dir);
  for (let attempt = 1;; attempt++) {
    const file = await fs.open(path);
    if (!(await file.tryLock())) {
      file.close();
      throw new LogOpenError(
        path,
        heldHere(path, fs)
          ? `this process has ${path} open already, in a LogStore not closed yet: close it first`
          : "another kv server is using it (it holds the file's lock)",
      );
    }
    // Still the file at `path`? (See OPEN_TRIES.)
    if ((await fs.identity(path)) === (await file.identity())) return file;
    file.close();
    if (attempt === OPEN_TRIES) {
      throw new LogOpenError(path, "it keeps being replaced while opening");
    }
  }
}

/**
 * Replays every record of `file` into `store`. A torn tail is cut off (and
 * logged); a bad record with valid ones after it throws
 * {@linkcode LogCorruptError} before anything is changed.
 */
async function load(
  file: LogFile,
  path: string,
  store: Store,
  log: Logger,
): Promise<{ fileBytes: number; records: number }> {
  const size = await file.size();
  let buffer = new Uint8Array(Math.min(READ_BYTES, Math.max(size, MAGIC.length)));
  let have = await readFull(file, buffer, 0);
  switch (headerState(buffer.subarray(0, have), size)) {
    case "foreign":
      // A kv log whose first bytes were damaged still holds records: say how to get them back.
      throw new LogOpenError(
        path,
        findRecord(buffer, 0, have) === -1
          ? "it is not a kv data file (it does not start with KVLOG 1); choose another file"
          : `it does not start with KVLOG 1, but holds kv records: if it is a kv data file whose ` +
            `first bytes were damaged, "kv repair ${path}" writes a copy without them`,
      );
    case "empty":
      // New, or a crash came while its header was being written.
      file.truncateSync(0);
      file.writeSync(MAGIC);
      await file.syncData();
      return { fileBytes: MAGIC.length, records: 0 };
  }
  const view = new RecordView();
  let base = 0; // File offset of buffer[0].
  let at = MAGIC.length;
  let records = 0;
  let eof = base + have >= size;
  while (true) {
    const next = readRecord(buffer, at, have, view);
    if (next >= 0) {
      // With reclaim: each record makes a state the store held (a failed
      // MSET's put-back among them, which the running store made room for
      // by reclaiming), so it may compact for any garbage to fit it.
      applyRecord(store, view, true);
      records++;
      at = next;
      continue;
    }
    if (next === INCOMPLETE && !eof) {
      // Move the partial record to the front, growing for a long one, and read on.
      // (The header checked out, so its length is true; still, never more than the file holds.)
      const need = Math.min(
        have - at >= RECORD_HEADER_BYTES ? RECORD_HEADER_BYTES + readU32(buffer, at) : 0,
        size - base - at,
      );
      if (need > buffer.length) {
        const grown = new Uint8Array(need);
        grown.set(buffer.subarray(at, have));
        buffer = grown;
      } else {
        buffer.copyWithin(0, at, have);
      }
      base += at;
      have -= at;
      at = 0;
      have = await readFull(file, buffer, have);
      eof = base + have >= size;
      continue;
    }
    if (base + at === size) break; // The end, on a record boundary.
    const offset = base + at;
    const restBytes = size - offset;
    const rest = new Uint8Array(Math.min(restBytes, TAIL_SCAN_LIMIT_BYTES));
    rest.set(buffer.subarray(at, Math.min(have, at + rest.length)));
    await readFull(file, rest, Math.min(have - at, rest.length));
    if (!isTornTail(rest, restBytes, next)) {
      throw new LogCorruptError(path, offset, describeBadRecord(next));
    }
    log(
      "error",
      `warning: data file ${path}: dropped ${restBytes} bytes at byte ${offset}, ` +
        `an unfinished last write (${describeBadRecord(next)}); cut back to the last good record`,
    );
    file.truncateSync(offset);
    await file.syncData();
    return { fileBytes: offset, records };
  }
  return { fileBytes: size, records };
}

/** Reads into `buffer` from `have` on until it is full or the file ends; returns the bytes it holds. */
async function readFull(file: LogFile, buffer: Uint8Array, have: number): Promise<number> {
  while (have < buffer.length) {
    const n = await file.read(buffer.subarray(have));
    if (n === null) break;
    have += n;
  }
  return have;
}

/** What a compaction of `store` would write: the header and one set record per live pair. */
function measure(store: Store): number {
  let bytes = MAGIC.length;
  let cursor = 0;
  const visit = (
    _bytes: Uint8Array,
    keyStart: number,
    keyEnd: number,
    valueStart: number,
    valueEnd: number,
  ) => {
    bytes += setRecordBytes(keyEnd - keyStart, valueEnd - valueStart, false);
  };
  // (Keys with an expiry take 8 bytes more, left out of this estimate.)
  do cursor = store.scan(cursor, 4096, visit); while (cursor !== 0);
  return bytes;
}

/** The folder a path is in. */
export function dirname(path: string): string {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  if (slash === -1) return ".";
  return slash === 0 ? path.slice(0, 1) : path.slice(0, slash);
}
