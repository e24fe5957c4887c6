/**
 * {@linkcode FakeFs}: an in-memory file system for the log's tests. It keeps
 * apart what was written (what survives a kill -9: it is in the OS) from
 * what was synced (what survives a power cut), including whether a new name
 * or a rename was synced in its folder; it can run out of space, fail a
 * sync, a rename or a folder sync on cue, and hold a sync until the test
 * lets it finish. Tests that use it need no permissions. Also
 * {@linkcode sampleLog}, a small log's bytes for fixtures.
 *
 * @module
 */

import type { LogFile, LogFs, PathEntry } from "../store/log/file.ts";
import { encodeDelete, encodeSet, LogBuffer, MAGIC } from "../store/log/format.ts";

const encoder = new TextEncoder();

/**
 * A log of `count` records (sets of `key:0`..`key:2` to `value I, with a
 * comma`, every fourth one a delete), as bytes, and where each record starts.
 */
export function sampleLog(count: number): { bytes: Uint8Array; starts: number[] } {
  const out = new LogBuffer();
  out.add(MAGIC, 0, MAGIC.length);
  const starts: number[] = [];
  for (let i = 0; i < count; i++) {
    starts.push(out.length);
    const key = encoder.encode(`key:${i % 3}`);
    const value = encoder.encode(`value ${i}, with a comma`);
    if (i % 4 === 3) encodeDelete(out, key, 0, key.length);
    else encodeSet(out, key, 0, key.length, value, 0, value.length, true, 0);
  }
  return { bytes: out.bytes.slice(0, out.length), starts };
}

/** One file's bytes, shared by every open handle (an inode). */
class Inode {
  static #next = 1;
  readonly id = Inode.#next++;
  bytes = new Uint8Array(256);
  length = 0;
  /** The bytes as of the last sync: what a power cut leaves. */
  synced = new Uint8Array(0);
  lockedBy: FakeFile | undefined;

  content(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** An error like the OS's when the disk is full. */
function diskFullError(): Error {
  return new Error("No space left on device (os error 28)");
}

/** An error like the OS's for a failed device. */
function ioError(): Error {
  return new Error("Input/output error (os error 5)");
}

class FakeFile implements LogFile {
  readonly #fs: FakeFs;
  readonly inode: Inode;
  #position = 0;
  #closed = false;

  constructor(fs: FakeFs, inode: Inode) {
    this.#fs = fs;
    this.inode = inode;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    this.#check();
    const n = Math.min(buffer.length, this.inode.length - this.#position);
    if (n <= 0) return Promise.resolve(buffer.length === 0 ? 0 : null);
    buffer.set(this.inode.bytes.subarray(this.#position, this.#position + n));
    this.#position += n;
    return Promise.resolve(n);
  }

  write(bytes: Uint8Array): Promise<number> {
    const hold = this.#fs.beforeWrite;
    if (hold !== undefined) return hold().then(() => this.writeSync(bytes));
    try {
      return Promise.resolve(this.writeSync(bytes));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  writeSync(bytes: Uint8Array): number {
    this.#check();
    const fs = this.#fs;
    fs.writes++;
    const fits = Math.min(bytes.length, fs.capacity - fs.usedBytes());
    if (fits <= 0 && bytes.length > 0) throw diskFullError();
    const inode = this.inode;
    if (inode.length + fits > inode.bytes.length) {
      const grown = new Uint8Array(Math.max(2 * inode.bytes.length, inode.length + fits));
      grown.set(inode.bytes.subarray(0, inode.length));
      inode.bytes = grown;
    }
    inode.bytes.set(bytes.subarray(0, fits), inode.length);
    inode.length += fits;
    return fits;
  }

  async syncData(): Promise<void> {
    this.#check();
    const fs = this.#fs;
    fs.syncs++;
    const length = this.inode.length;
    await fs.beforeSync?.();
    if (fs.failSyncs > 0) {
      fs.failSyncs--;
      throw ioError();
    }
    // What was written when the sync began is on disk now.
    this.inode.synced = this.inode.bytes.slice(0, Math.min(length, this.inode.length));
  }

  truncateSync(size: number): void {
    this.#check();
    if (this.#fs.failTruncates > 0) {
      this.#fs.failTruncates--;
      throw ioError();
    }
    this.inode.length = Math.min(size, this.inode.length);
  }

  size(): Promise<number> {
    return Promise.resolve(this.inode.length);
  }

  identity(): Promise<string> {
    return Promise.resolve(String(this.inode.id));
  }

  tryLock(): Promise<boolean> {
    if (this.inode.lockedBy !== undefined && this.inode.lockedBy !== this) {
      return Promise.resolve(false);
    }
    this.inode.lockedBy = this;
    return Promise.resolve(true);
  }

  close(): void {
    this.#closed = true;
    if (this.inode.lockedBy === this) this.inode.lockedBy = undefined;
    this.#fs.handles.delete(this);
  }

  release(aside?: string): Promise<void> {
    this.#fs.releases++;
    this.close();
    return aside === undefined ? Promise.resolve() : this.#fs.remove(aside);
  }

  #check(): void {
    if (this.#closed) throw new Error("file closed (bad resource)");
  }
}

/** An in-memory {@linkcode LogFs}. */
export class FakeFs implements LogFs {
  /** Names and their files now (what a kill -9 leaves). */
  readonly names = new Map<string, Inode>();
  /** Names as of the last sync of their folder (what a power cut leaves). */
  readonly durableNames = new Map<string, Inode>();
  /** Handles open now. */
  readonly handles = new Set<FakeFile>();
  /** The most bytes all files may hold together; a write past it writes what fits, then fails. */
  capacity = Infinity;
  /** How many of the next syncs fail. */
  failSyncs = 0;
  /** How many of the next folder syncs fail. */
  failDirSyncs = 0;
  /** How many of the next renames fail. */
  failRenames = 0;
  /** How many of the next truncations fail. */
  failTruncates = 0;
  /** Calls of writeSync/write so far. */
  writes = 0;
  /** Calls of syncData so far. */
  syncs = 0;
  /** Files let go by release() so far. */
  releases = 0;
  /** Awaited inside every sync, after it is counted: a test holds syncs with it. */
  beforeSync: (() => Promise<void>) | undefined;
  /** Awaited before every async write (`write()`, not `writeSync()`): a test holds writes in flight with it. */
  beforeWrite: (() => Promise<void>) | undefined;

  /** Bytes all files hold. */
  usedBytes(): number {
    let used = 0;
    for (const inode of new Set(this.names.values())) used += inode.length;
    return used;
  }

  /** The bytes of the file at `path` now. */
  read(path: string): Uint8Array {
    const inode = this.names.get(path);
    if (inode === undefined) throw new Error(`no file ${path}`);
    return inode.content();
  }

  /** Puts a file at `path`, as written and synced. */
  put(path: string, bytes: Uint8Array): void {
    const inode = new Inode();
    inode.bytes = bytes.slice();
    inode.length = bytes.length;
    inode.synced = bytes.slice();
    this.names.set(path, inode);
    this.durableNames.set(path, inode);
  }

  /** What a kill -9 leaves: every name and every byte written; no locks. */
  afterKill(): FakeFs {
    const fs = new FakeFs();
    for (const [path, inode] of this.names) fs.put(path, inode.content());
    return fs;
  }

  /** What a power cut leaves: the names as last synced in their folder, each with its synced bytes. */
  afterPowerCut(): FakeFs {
    const fs = new FakeFs();
    for (const [path, inode] of this.durableNames) fs.put(path, inode.synced);
    return fs;
  }

  open(path: string, options: { fresh?: boolean } = {}): Promise<LogFile> {
    let inode = options.fresh ? undefined : this.names.get(path);
    if (inode === undefined) {
      inode = new Inode();
      this.names.set(path, inode);
    }
    const file = new FakeFile(this, inode);
    this.handles.add(file);
    return Promise.resolve(file);
  }

  identity(path: string): Promise<string | undefined> {
    const inode = this.names.get(path);
    return Promise.resolve(inode === undefined ? undefined : String(inode.id));
  }

  link(existing: string, to: string): Promise<void> {
    const inode = this.names.get(existing);
    if (inode === undefined) return Promise.reject(new Error(`no file ${existing}`));
    this.names.set(to, inode);
    return Promise.resolve();
  }

  rename(from: string, to: string): Promise<void> {
    const inode = this.names.get(from);
    if (this.failRenames > 0) {
      this.failRenames--;
      return Promise.reject(ioError());
    }
    if (inode === undefined) return Promise.reject(new Error(`no file ${from}`));
    this.names.delete(from);
    this.names.set(to, inode);
    return Promise.resolve();
  }

  remove(path: string): Promise<void> {
    this.names.delete(path);
    return Promise.resolve();
  }

  syncDir(_path: string): Promise<void> {
    if (this.failDirSyncs > 0) {
      this.failDirSyncs--;
      return Promise.reject(ioError());
    }
    this.durableNames.clear();
    for (const [path, inode] of this.names) this.durableNames.set(path, inode);
    return Promise.resolve();
  }

  mkdir(_path: string): Promise<void> {
    return Promise.resolve();
  }

  entry(path: string): Promise<PathEntry> {
    return Promise.resolve({ kind: this.names.has(path) ? "file" : "absent" });
  }

  copyMode(_from: string, _to: string): Promise<void> {
    return Promise.resolve();
  }

  mayUse(_dir: string): boolean {
    return true;
  }
}
