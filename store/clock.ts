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
  /**
   * Milliseconds since the Unix epoch: a whole number from 0 to 2^53 - 1,
   * as Redis counts them. `serve()` refuses a clock that shows another when
   * it starts; a server already running cuts a fraction shown later to the
   * whole millisecond (and takes the last good reading for one that is no
   * time at all), and logs that once.
   */
  now(): number;
}

// While the server runs a command (holdCommandTime() .. releaseCommandTime()):
// whether it does, and the time SYSTEM_CLOCK read for it (0: none yet).
let holding = false;
let held = 0;

/**
 * The real time (`Date.now()`). While the server runs a command (a whole
 * transaction, for EXEC), it reads one time for all of it, as Redis takes one
 * snapshot of the time per command: a command that reads a key and then
 * writes it (INCR, APPEND, a KEEPTTL write) cannot see the key alive, then
 * gone when it writes, and so write it anew without its expiry (a counter
 * that would never expire). Outside a command, as in code that uses a store
 * itself, every reading is the time now.
 */
export const SYSTEM_CLOCK: Clock = {
  now(): number {
    if (!holding) return Date.now();
    if (held === 0) held = Date.now();
    return held;
  },
};

/**
 * Until {@linkcode releaseCommandTime}, {@linkcode SYSTEM_CLOCK} reads one
 * time (read when first asked for): the server calls it around each command
 * it runs, and releases it in a `finally`. Not for a command within one (a
 * transaction's), which shares the time of its EXEC.
 */
export function holdCommandTime(): void {
  holding = true;
  held = 0;
}

/** {@linkcode SYSTEM_CLOCK} reads the time now again (see {@linkcode holdCommandTime}). */
export function releaseCommandTime(): void {
  holding = false;
}

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
  readonly #listeners = new Set<() => void>();

  /**
   * Starts at `startMs` (default: the real time now): whole milliseconds
   * from 0 to 2^53 - 1, or a `RangeError`.
   */
  constructor(startMs?: number) {
    if (startMs !== undefined && !isWholeMs(startMs)) {
      throw new RangeError(
        `Cannot start a clock at ${startMs} ms: expected whole milliseconds from 0 to 2^53 - 1`,
      );
    }
    this.#now = startMs ?? Date.now();
  }

  /** The time it shows. */
  now(): number {
    return this.#now;
  }

  /**
   * Moves the time forward by `ms`, whole milliseconds (not backward: expiry
   * only moves one way); a `RangeError` for a fraction (Redis's times are
   * whole milliseconds: a fractional one would reach `PTTL`'s integer reply)
   * or a move past 2^53 - 1.
   */
  advance(ms: number): void {
    if (!isWholeMs(ms) || !isWholeMs(this.#now + ms)) {
      throw new RangeError(
        `Cannot advance a clock by ${ms} ms: expected whole milliseconds, 0 or more` +
          (isWholeMs(ms) ? `, to at most 2^53 - 1 (it shows ${this.#now})` : ""),
      );
    }
    this.#now += ms;
    for (const listener of this.#listeners) listener();
  }

  /**
   * Calls `listener` after each {@linkcode ManualClock.advance}; returns the
   * function that stops it. A server on this clock (`serve({ clock })`)
   * reclaims the keys whose time has passed right then, as miniredis's
   * `FastForward` does: `DBSIZE` and `INFO keyspace` count none of them
   * after `advance()`, without waiting for the expiry cycle.
   */
  onAdvance(listener: () => void): () => void {
    const own = () => listener(); // The same function twice is two listeners.
    this.#listeners.add(own);
    return () => this.#listeners.delete(own);
  }
}

/** Whether `ms` is a time (or a move) a clock may show: a whole number from 0 to 2^53 - 1. */
export function isWholeMs(ms: number): boolean {
  return Number.isSafeInteger(ms) && ms >= 0;
}
