/**
 * The file system as the log uses it, behind two small interfaces
 * ({@linkcode LogFs}, {@linkcode LogFile}), so that tests can hand the log a
 * fake one that runs out of space or fails to sync on cue (testing/fake_fs.ts)
 * and run with no permissions. {@linkcode DENO_FS} is the real one.
 *
 * @module
 */

import { closeQuietly } from "../../net/conn.ts";

/** One open log file (opened for reading and appending). */
export interface LogFile {
  /** Reads into `buffer` from the current position; `null` at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Appends some of `bytes`; returns how many were written. */
  write(bytes: Uint8Array): Promise<number>;
  /** Appends some of `bytes` at once, blocking; returns how many were written. */
  writeSync(bytes: Uint8Array): number;
  /** Waits until what was written is on disk (fdatasync). */
  syncData(): Promise<void>;
  /** Cuts the file to `size` bytes; appends go on from there. */
  truncateSync(size: number): void;
  /** The file's size in bytes. */
  size(): Promise<number>;
  /** Which file this is (device and inode), to tell it from another at the same path. */
  identity(): Promise<string>;
  /** Takes an exclusive lock on the file, if no other open file holds one; returns whether it did. */
  tryLock(): Promise<boolean>;
  /** Closes the file, releasing its lock. */
  close(): void;
  /**
   * Closes a file a compaction renamed over. Closing the last handle of a
   * file without a name frees its blocks inside the call, which for a big
   * log holds the event loop (0.6 s for 2.1 GB); so the compaction gave it
   * a second name, `aside` ({@linkcode LogFs.link}), before the rename: the
   * close frees nothing, and the removal of `aside` frees the blocks on a
   * worker thread. The file is never emptied: a backup that opened it
   * before the switch (`cp`) still reads all of it. Never rejects.
   */
  release(aside?: string): Promise<void>;
}

/** The operations on paths. */
export interface LogFs {
  /** Opens `path` for reading and appending, creating it if absent (a new, empty one with `fresh`). */
  open(path: string, options?: { fresh?: boolean }): Promise<LogFile>;
  /** Which file is at `path` now (see {@linkcode LogFile.identity}); `undefined` if none. */
  identity(path: string): Promise<string | undefined>;
  /** Gives the file at `existing` a second name, `to` (a hard link). */
  link(existing: string, to: string): Promise<void>;
  /** Renames `from` to `to`, replacing it. */
  rename(from: string, to: string): Promise<void>;
  /** Removes `path`; no error if it is not there. */
  remove(path: string): Promise<void>;
  /** Makes the folder's entries (a new name, a rename) durable (fsync of the folder). */
  syncDir(path: string): Promise<void>;
  /** Creates the folder and its parents if they are missing. */
  mkdir(path: string): Promise<void>;
  /**
   * Whether the process may read and write in `dir`, asked without a
   * prompt, so that a missing permission is one clear line. A fake says yes.
   */
  mayUse(dir: string): boolean;
  /**
   * What is at `path`, not following a symbolic link: nothing, a regular
   * file, a folder, a link (with its target as written), or something else
   * (a FIFO, a device, a socket).
   */
  entry(path: string): Promise<PathEntry>;
  /** Gives `to` the permission bits, and if it may, the owner and group, of `from`. */
  copyMode(from: string, to: string): Promise<void>;
}

/** See {@linkcode LogFs.entry}. */
export type PathEntry =
  | { readonly kind: "absent" | "file" | "folder" | "other" }
  | { readonly kind: "link"; readonly target: string };

class DenoLogFile implements LogFile {
  readonly #file: Deno.FsFile;

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    return this.#file.read(buffer);
  }

  write(bytes: Uint8Array): Promise<number> {
    return this.#file.write(bytes);
  }

  writeSync(bytes: Uint8Array): number {
    return this.#file.writeSync(bytes);
  }

  syncData(): Promise<void> {
    return this.#file.syncData();
  }

  truncateSync(size: number): void {
    this.#file.truncateSync(size);
  }

  async size(): Promise<number> {
    return (await this.#file.stat()).size;
  }

  async identity(): Promise<string> {
    const info = await this.#file.stat();
    return `${info.dev}:${info.ino}`;
  }

  tryLock(): Promise<boolean> {
    // flock(2): held per open file, released by the kernel when the process
    // dies, so a kill -9 never leaves a stale lock behind.
    return this.#file.tryLock(true);
  }

  close(): void {
    closeQuietly(this.#file);
  }

  async release(aside?: string): Promise<void> {
    // Never emptied (truncated) first: another process that opened the log
    // before the switch (a backup's cp) would find it cut short.
    this.close();
    if (aside === undefined) return;
    try {
      // The last name: its blocks are freed in this unlink, on a worker
      // thread, unless someone still reads the file.
      await DENO_FS.remove(aside);
    } catch {
      // Left for the next start, which removes it.
    }
  }
}

/**
 * Writes all of `bytes`, blocking; a short write is continued. A write of
 * nothing (an odd file system) throws rather than spin the event loop.
 */
export function writeAllSync(file: LogFile, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) {
    const wrote = file.writeSync(bytes.subarray(at));
    if (wrote <= 0) throw new Deno.errors.WriteZero("the file took none of the bytes written");
    at += wrote;
  }
}

/** The real file system, through Deno's API. */
export const DENO_FS: LogFs = {
  async open(path, options = {}) {
    // O_APPEND (which cannot be combined with O_TRUNC): after a failed write
    // is cut back (truncateSync), the next write lands at the new end, never
    // past a hole.
    if (options.fresh) await DENO_FS.remove(path);
    const file = await Deno.open(path, { read: true, append: true, create: true });
    return new DenoLogFile(file);
  },
  async identity(path) {
    try {
      const info = await Deno.stat(path);
      return `${info.dev}:${info.ino}`;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  },
  link: (existing, to) => Deno.link(existing, to),
  rename: (from, to) => Deno.rename(from, to),
  async remove(path) {
    try {
      await Deno.remove(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  },
  async syncDir(path) {
    // Windows opens no folder as a file (Access is denied), and NTFS journals
    // its folders' entries itself: there is nothing to sync, and trying would
    // fail every new data file and compaction.
    if (Deno.build.os === "windows") return;
    const dir = await Deno.open(path, { read: true });
    try {
      await dir.sync();
    } finally {
      dir.close();
    }
  },
  mkdir: (path) => Deno.mkdir(path, { recursive: true }),
  mayUse(dir) {
    return Deno.permissions.querySync({ name: "read", path: dir }).state === "granted" &&
      Deno.permissions.querySync({ name: "write", path: dir }).state === "granted";
  },
  async entry(path) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return { kind: "absent" };
      throw error;
    }
    if (info.isSymlink) return { kind: "link", target: await Deno.readLink(path) };
    return { kind: info.isFile ? "file" : info.isDirectory ? "folder" : "other" };
  },
  async copyMode(from, to) {
    const info = await Deno.stat(from);
    if (info.mode !== null) await Deno.chmod(to, info.mode & 0o7777);
    if (info.uid === null || info.gid === null) return;
    try {
      await Deno.chown(to, info.uid, info.gid);
    } catch {
      // Only root may give a file away; a member of the log's group may
      // still give the new file that group (a 0660 log shared by a group).
      try {
        await Deno.chown(to, null, info.gid);
      } catch {
        // Not a member either: the new file stays the process's.
      }
    }
  },
};
