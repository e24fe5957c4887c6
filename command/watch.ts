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
 * @module
 */

import type { Session } from "./command.ts";
import { byteString } from "./request.ts";
import { type ChangeListener, NO_KEY, type Store } from "../store/store.ts";

/** The watched keys of one session: each with its expiry when it was watched. */
export interface Watching {
  /** Key (one character per byte) → its expiry in ms when watched (NO_KEY, NO_EXPIRY or a time). */
  readonly keys: Map<string, number>;
  /** A watched key changed since: EXEC must not run. */
  dirty: boolean;
}

/** Which sessions watch which keys of one store. */
export class Watches implements ChangeListener {
  readonly #store: Store;
  readonly #byKey = new Map<string, Set<Session>>();
  // The keys a write that may undo itself has changed so far (see whole()).
  #held: string[] | undefined;
  // The keys it changed for good, whatever it throws (see kept()).
  #kept: string[] | undefined;
  // While a key is watched, the store's listener is this one: the one it
  // had (an embedder's own, Store.listener) is told of every change too,
  // and put back once nothing is watched.
  #listening = false;
  #outer: ChangeListener | undefined;

  /** Watches keys of `store`, which must be able to tell its changes (`Store.listen`). */
  constructor(store: Store) {
    this.#store = store;
  }

  /** Whether the store can tell its changes, without which WATCH cannot work. */
  get supported(): boolean {
    return this.#store.listen !== undefined;
  }

  /** `session` watches `key`, whose expiry is `expiry` now. */
  watch(session: Session, key: string, expiry: number): void {
    const watching = session.watching ??= { keys: new Map(), dirty: false };
    if (watching.keys.has(key)) return;
    watching.keys.set(key, expiry);
    let sessions = this.#byKey.get(key);
    if (sessions === undefined) {
      if (this.#byKey.size === 0) this.#listen(); // The first watched key.
      this.#byKey.set(key, sessions = new Set());
    }
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
    if (this.#byKey.size === 0) this.#unlisten(); // Nothing left to watch.
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

/** The store's expiry of a key held as one character per byte. */
function expiryOf(store: Store, key: string): number {
  const bytes = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i);
  return store.expiry(bytes, 0, bytes.length);
}
