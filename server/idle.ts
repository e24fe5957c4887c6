/**
 * {@linkcode IdleTimer}: the idle timeout of one connection (PROTOCOL.md,
 * Limits). Lazy: activity only stamps the time, and the one timer re-arms
 * itself until the connection has truly been silent that long, so a busy
 * connection costs no timer per read.
 *
 * @module
 */

import { MAX_TIMER_MS } from "../net/conn.ts";

/** Calls `expire` once the connection has been silent `ms`, not counting the time `busy()` holds. */
export class IdleTimer {
  readonly #ms: number;
  readonly #busy: () => boolean;
  readonly #expire: (silentMs: number) => void;
  #lastActiveAt = Date.now();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Starts counting now. `busy()`: the connection is making its answers or
   * waiting for them to drain, which is not idleness (the timer waits
   * another `ms`).
   */
  constructor(ms: number, busy: () => boolean, expire: (silentMs: number) => void) {
    this.#ms = ms;
    this.#busy = busy;
    this.#expire = expire;
    this.#arm(ms);
  }

  /** The connection did something: silence counts from now. */
  touch(): void {
    this.#lastActiveAt = Date.now();
  }

  /** Stops the timer for good. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(wait: number): void {
    this.#timer = setTimeout(this.#check, Math.min(wait, MAX_TIMER_MS));
  }

  readonly #check = (): void => {
    const silentMs = Date.now() - this.#lastActiveAt;
    const busy = this.#busy();
    if (busy || silentMs < this.#ms) return this.#arm(busy ? this.#ms : this.#ms - silentMs);
    this.#timer = undefined;
    this.#expire(silentMs);
  };
}
