/**
 * {@linkcode Watches}: the keys Redis clients WATCH (command/redis/
 * transaction.ts), server-wide. It listens to the store while a key is
 * watched: a change to a watched key (what the store reports as one,
 * which is what Redis counts: store/store.ts, `ChangeListener`) marks
 * every session watching it, and their next EXEC runs nothing: optimistic
 * locking, as Redis's `touchWatchedKey()`. With nothing watched, the store
 * keeps the listener it had (none, unless an embedder set one) and writes
 * cost nothing more; while it listens, it hands every change on to that one.
 *
 * What is watched is bounded, as MULTI's queue is (command/execute.ts): a
 * WATCH that would pass {@linkcode MAX_WATCHED_BYTES} for its connection,
 * or {@linkcode MAX_SERVER_WATCHED_BYTES} for all of them, is refused.
 * Redis bounds neither: one connection could make the server hold gigabytes
 * (400 bytes of memory for each 8-byte key), and the end of that connection
 * (or its UNWATCH) then walked them all while no one else was served.
 *
 * @module
 */

import type { Session } from "./command.ts";
import type { Failure } from "./reply.ts";
import { byteString } from "./request.ts";
import { type ChangeListener, NO_KEY, type Store } from "../store/store.ts";

/** The watched keys of one session: each with its expiry when it was watched. */
export interface Watching {
  /** Key (one character per byte) → its expiry in ms when watched (NO_KEY, NO_EXPIRY or a time). */
  readonly keys: Map<string, number>;
  /** A watched key changed since, or a WATCH was refused: EXEC must not run. */
  dirty: boolean;
  /** What its keys count against the limits: their bytes, and WATCHED_OVERHEAD_BYTES each. */
  bytes: number;
}

/** The most one connection may watch: its keys' bytes, and WATCHED_OVERHEAD_BYTES more for each. */
export const MAX_WATCHED_BYTES = 16 * 1024 * 1024;
/** The most every connection together may watch. */
export const MAX_SERVER_WATCHED_BYTES = 256 * 1024 * 1024;
/**
 * What a watched key costs beyond its bytes: its entries in the two maps and
 * its set of sessions, measured at about 235 bytes of heap for an 8-byte key
 * (400 of the process's memory).
 */
export const WATCHED_OVERHEAD_BYTES = 512;

/** What {@linkcode Watches} lets be watched (a test's may be smaller than the server's). */
export interface WatchLimits {
  /** What one connection may watch. */
  readonly connectionBytes: number;
  /** What every connection together may watch. */
  readonly allBytes: number;
}

const SERVER_LIMITS: WatchLimits = {
  connectionBytes: MAX_WATCHED_BYTES,
  allBytes: MAX_SERVER_WATCHED_BYTES,
};

/** Which sessions watch which keys of one store. */
export class Watches implements ChangeListener {
  readonly #store: Store;
  readonly #byKey = new Map<string, Set<Session>>();
  // What every session's watched keys count (Watching.bytes), together.
  #bytes = 0;
  // The keys a write that may undo itself has changed so far (see whole()).
  #held: string[] | undefined;
  // The keys it changed for good, whatever it throws (see kept()).
  #kept: string[] | undefined;
  // While a key is watched, the store's listener is this one: the one it
  // had (an embedder's own, Store.listener) is told of every change too,
  // and put back once nothing is watched.
  #listening = false;
  #outer: ChangeListener | undefined;

  readonly #limits: WatchLimits;
  readonly #tooMany: Failure;
  readonly #tooManyInAll: Failure;

  /** Watches keys of `store`, which must be able to tell its changes (`Store.listen`). */
  constructor(store: Store, limits: WatchLimits = SERVER_LIMITS) {
    this.#store = store;
    this.#limits = limits;
    this.#tooMany = {
      kind: "redis",
      text: `ERR kv: a connection may watch at most ${mib(limits.connectionBytes)} of keys`,
    };
    this.#tooManyInAll = {
      kind: "redis",
      text: `ERR kv: watched keys of all connections hold ${mib(limits.allBytes)} already; ` +
        "try again later",
    };
  }

  /** Whether the store can tell its changes, without which WATCH cannot work. */
  get supported(): boolean {
    return this.#store.listen !== undefined;
  }

  /** What every connection's watched keys count against MAX_SERVER_WATCHED_BYTES. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * `session` watches `keys` (one character per byte), whose expiries are
   * `expiries` now: all of them, or, past the limits, none (the error is
   * returned), and then its next EXEC runs nothing, as after a change: a
   * client that goes on to EXEC without heeding the error must not have its
   * transaction run unguarded.
   */
  watch(
    session: Session,
    keys: readonly string[],
    expiries: readonly number[],
  ): Failure | undefined {
    const watching = session.watching ??= { keys: new Map(), dirty: false, bytes: 0 };
    const added: string[] = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (watching.keys.has(key)) continue;
      const cost = key.length + WATCHED_OVERHEAD_BYTES;
      const refused = watching.bytes + cost > this.#limits.connectionBytes
        ? this.#tooMany
        : this.#bytes + cost > this.#limits.allBytes
        ? this.#tooManyInAll
        : undefined;
      if (refused !== undefined) {
        for (const key of added) this.#unwatch(session, watching, key);
        watching.dirty = true;
        if (this.#byKey.size === 0) this.#unlisten();
        return refused;
      }
      watching.keys.set(key, expiries[i]!);
      watching.bytes += cost;
      this.#bytes += cost;
      added.push(key);
      let sessions = this.#byKey.get(key);
      if (sessions === undefined) {
        if (this.#byKey.size === 0) this.#listen(); // The first watched key.
        this.#byKey.set(key, sessions = new Set());
      }
      sessions.add(session);
    }
    return undefined;
  }

  /** `session` watches nothing more (EXEC, DISCARD, UNWATCH, its connection's end). */
  unwatchAll(session: Session): void {
    const watching = session.watching;
    if (watching === undefined) return;
    session.watching = undefined;
    this.#bytes -= watching.bytes;
    for (const key of watching.keys.keys()) this.#leave(session, key);
    if (this.#byKey.size === 0) this.#unlisten(); // Nothing left to watch.
  }

  // One key of a WATCH refused part way: as if it had not been watched.
  #unwatch(session: Session, watching: Watching, key: string): void {
    const cost = key.length + WATCHED_OVERHEAD_BYTES;
    watching.keys.delete(key);
    watching.bytes -= cost;
    this.#bytes -= cost;
    this.#leave(session, key);
  }

  #leave(session: Session, key: string): void {
    const sessions = this.#byKey.get(key);
    if (sessions === undefined) return;
    sessions.delete(session);
    if (sessions.size === 0) this.#byKey.delete(key);
  }

  /** `session`'s watched keys: has one changed, or expired, since it was watched? */
  changed(session: Session): boolean {
    const watching = session.watching;
    if (watching === undefined) return false;
    if (watching.dirty) return true;
    // A key that expires after WATCH counts as changed (Redis 7); one that
    // had expired already when watched does not.
    for (const [key, expiry] of watching.keys) {
      if (expiry > 0 && expiryOf(this.#store, key) === NO_KEY) return true;
    }
    return false;
  }

  /**
   * Runs `write`, which either changes all it means to or, throwing, puts
   * back what it changed (MSET on a full store). Its changes mark their
   * watchers only if it returns: a write refused as a whole is none, as
   * Redis refuses such a command before it runs. What it could not put
   * back it tells {@linkcode Watches.kept}: those keys did change.
   */
  whole<T>(write: () => T): T {
    if (this.#byKey.size === 0) return write();
    const held = this.#held = [];
    const kept = this.#kept = [];
    try {
      const result = write();
      this.#held = this.#kept = undefined;
      for (const key of held) this.#touch(key);
      return result;
    } finally {
      this.#held = this.#kept = undefined;
      for (const key of kept) this.#touch(key);
    }
  }

  /**
   * Within {@linkcode Watches.whole}: `key[start, end)` changed for good even
   * if the write then throws (a put-back that failed left it as the write
   * set it). Outside it, a change as any other.
   */
  kept(key: Uint8Array, start: number, end: number): void {
    const name = byteString(key, start, end);
    if (this.#kept !== undefined) this.#kept.push(name);
    else this.#touch(name);
  }

  /** The store changed `key[start, end)` (ChangeListener). */
  keyChanged(key: Uint8Array, start: number, end: number): void {
    this.#outer?.keyChanged(key, start, end);
    this.#touch(byteString(key, start, end));
  }

  /** Every key `store` holds changed (ChangeListener): FLUSHALL, or a FLUSHALL undone. */
  changedAll(store: Store): void {
    this.#outer?.changedAll(store);
    for (const key of this.#byKey.keys()) if (expiryOf(store, key) !== NO_KEY) this.#touch(key);
  }

  #listen(): void {
    if (this.#listening) return;
    this.#listening = true;
    this.#outer = this.#store.listener;
    this.#store.listen?.(this);
  }

  #unlisten(): void {
    if (!this.#listening) return;
    this.#listening = false;
    this.#store.listen?.(this.#outer);
    this.#outer = undefined;
  }

  #touch(key: string): void {
    if (this.#held !== undefined) return void this.#held.push(key);
    const sessions = this.#byKey.get(key);
    if (sessions === undefined) return;
    for (const session of sessions) session.watching!.dirty = true;
  }
}

/** `bytes` as the errors say it: `16 MiB`, or `4096 bytes` for a test's small limits. */
function mib(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024} MiB` : `${bytes} bytes`;
}

/** The store's expiry of a key held as one character per byte. */
function expiryOf(store: Store, key: string): number {
  const bytes = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i);
  return store.expiry(bytes, 0, bytes.length);
}
