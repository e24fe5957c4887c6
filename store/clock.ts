/**
 * {@linkcode Clock}: where the store and the commands read the time, in
 * milliseconds since the Unix epoch. Expiry is decided by it, so a test that
 * holds a {@linkcode ManualClock} moves time forward itself and sees keys
 * expire without waiting, as miniredis's `FastForward` lets Go tests do.
 *
 * @module
 */

/** A source of the current time. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

// SYSTEM_CLOCK's reading for the task under way, until the microtasks after it.
let snapshot: number | undefined;
const forget = () => {
  snapshot = undefined;
};

/**
 * The real time (`Date.now()`), read once per task: one synchronous run of
 * code (a command, a pipelined batch, a transaction) sees one time, as Redis
 * takes one snapshot of the time per command. A command that reads a key and
 * then writes it (INCR, APPEND, a KEEPTTL write) cannot see the key alive,
 * then gone when it writes, and so write it anew without its expiry (a
 * counter that would never expire).
 */
export const SYSTEM_CLOCK: Clock = {
  now(): number {
    if (snapshot === undefined) {
      snapshot = Date.now();
      queueMicrotask(forget);
    }
    return snapshot;
  },
};

/**
 * A clock that moves only when told to.
 *
 * @example
 * ```ts
 * import { ManualClock, MemoryStore, TextStore } from "kv";
 * const clock = new ManualClock();
 * // serve({ port: 0, clock }) gives the server and its store this clock.
 * const store = new TextStore(new MemoryStore({ clock }));
 * store.set("session", "abc", { expireAtMs: clock.now() + 1000 });
 * clock.advance(1000); // No waiting: the key is gone now, for both protocols.
 * console.log(store.get("session")); // undefined
 * ```
 */
export class ManualClock implements Clock {
  #now: number;

  /** Starts at `startMs` (default: the real time now). */
  constructor(startMs?: number) {
    this.#now = startMs ?? Date.now();
  }

  /** The time it shows. */
  now(): number {
    return this.#now;
  }

  /** Moves the time forward by `ms` (not backward: expiry only moves one way). */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw new RangeError(`Cannot advance a clock by ${ms} ms: expected a finite 0 or more`);
    }
    this.#now += ms;
  }
}
