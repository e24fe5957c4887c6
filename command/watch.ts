/**
 * {@linkcode Watches}: the keys Redis clients WATCH (command/redis/
 * transaction.ts), server-wide. A command that changes a watched key marks
 * every session watching it, and their next EXEC runs nothing (optimistic
 * locking, as Redis's `touchWatchedKey()`). Only while some key is watched
 * does a write look here: otherwise this costs one check per write.
 *
 * @module
 */

import type { Command, RedisCommand, Session } from "./command.ts";
import { byteString, type Request } from "./request.ts";
import { NO_KEY, type Store } from "../store/store.ts";

/** The watched keys of one session: each with its expiry when it was watched. */
export interface Watching {
  /** Key (one character per byte) → its expiry in ms when watched (NO_KEY, NO_EXPIRY or a time). */
  readonly keys: Map<string, number>;
  /** A watched key changed since: EXEC must not run. */
  dirty: boolean;
}

/** Which sessions watch which keys. */
export class Watches {
  readonly #byKey = new Map<string, Set<Session>>();

  /** Whether any key is watched. */
  get active(): boolean {
    return this.#byKey.size > 0;
  }

  /** `session` watches `key`, whose expiry is `expiry` now. */
  watch(session: Session, key: string, expiry: number): void {
    const watching = session.watching ??= { keys: new Map(), dirty: false };
    if (watching.keys.has(key)) return;
    watching.keys.set(key, expiry);
    let sessions = this.#byKey.get(key);
    if (sessions === undefined) this.#byKey.set(key, sessions = new Set());
    sessions.add(session);
  }

  /** `session` watches nothing more (EXEC, DISCARD, UNWATCH, its connection's end). */
  unwatchAll(session: Session): void {
    const watching = session.watching;
    if (watching === undefined) return;
    session.watching = undefined;
    for (const key of watching.keys.keys()) {
      const sessions = this.#byKey.get(key);
      if (sessions === undefined) continue;
      sessions.delete(session);
      if (sessions.size === 0) this.#byKey.delete(key);
    }
  }

  /**
   * Runs `run`, a write `command` of `request` on `store`, and marks the
   * sessions watching a key it changed. A change is what the store counts
   * (a SET that NX stopped, a DEL of a missing key, a no-op PERSIST change
   * nothing, as in Redis); FLUSHALL and FLUSHDB change every watched key
   * that exists.
   */
  around<T>(command: Command, request: Request, store: Store, run: () => T): T {
    const keys = this.#keysOf(command, request, store);
    if (keys.length === 0) return run();
    const before = store.changes;
    const result = run();
    // A store that does not count its changes: every write counts as one.
    if (before === undefined || store.changes !== before || command.name.startsWith("FLUSH")) {
      for (const key of keys) this.#touch(key);
    }
    return result;
  }

  /** `session`'s watched keys: has one changed, or expired, since it was watched? */
  changed(session: Session, store: Store): boolean {
    const watching = session.watching;
    if (watching === undefined) return false;
    if (watching.dirty) return true;
    // A key that expires after WATCH counts as changed (Redis 7); one that
    // had expired already when watched does not.
    for (const [key, expiry] of watching.keys) {
      if (expiry > 0 && storeExpiry(store, key) === NO_KEY) return true;
    }
    return false;
  }

  #touch(key: string): void {
    const sessions = this.#byKey.get(key);
    if (sessions === undefined) return;
    for (const session of sessions) session.watching!.dirty = true;
  }

  /** The watched keys `command` may change. */
  #keysOf(command: Command, request: Request, store: Store): string[] {
    if (command.name === "FLUSHALL" || command.name === "FLUSHDB") {
      return [...this.#byKey.keys()].filter((key) => storeExpiry(store, key) !== NO_KEY);
    }
    const keys: string[] = [];
    const add = (i: number) => {
      const key = byteString(request.bytes, request.starts[i]!, request.ends[i]!);
      if (this.#byKey.has(key)) keys.push(key);
    };
    const spec = (command as Partial<RedisCommand>).keys;
    if (spec === undefined) {
      if (request.count > 0) add(0); // The line protocol's PUT and DELETE: the key first.
      return keys;
    }
    // Redis's first, last, step count words with the command's own as 0.
    const [first, last, step] = spec;
    if (first === 0) return keys;
    const end = last < 0 ? request.count + last : last - 1;
    for (let i = first - 1; i <= end; i += step) add(i);
    return keys;
  }
}

/** The store's expiry of a key held as one character per byte. */
function storeExpiry(store: Store, key: string): number {
  const bytes = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i);
  return store.expiry(bytes, 0, bytes.length);
}
