/**
 * {@linkcode IdleTimer}: the idle timeout of one connection (PROTOCOL.md,
 * Limits). Lazy: activity only stamps the time, and the one timer re-arms
 * itself until the connection has truly been silent that long, so a busy
 * connection costs no timer per read.
 *
 * A timer that fires a second or more late (half its time for one under 2 s:
 * `pausedLateMs`) means the server was not
 * running (SIGSTOP, a suspended VM or laptop, a debugger, a frozen
 * container): what its clients sent meanwhile waits unread in the kernel,
 * and the timer fires before it is read. The server could not hear them,
 * so that time is not the client's silence: a client whose timeout ran out
 * while the server was stopped has its whole timeout again from the resume
 * (Redis, which stamps activity with a cached time, cuts even a client
 * whose request waits). At most `PAUSED_RESTARTS` times in a row: a server
 * whose own event loop is blocked a second at every turn looks stopped each
 * time, and must still time its silent clients out.
 *
 * @module
 */

import { MAX_TIMER_MS, PauseCheck, pausedLateMs } from "../net/conn.ts";

/** Calls `expire` once the connection has been silent `ms`, not counting the time `busy()` holds. */
export class IdleTimer {
  readonly #ms: number;
  readonly #busy: () => boolean;
  readonly #expire: (silentMs: number) => void;
  #lastActiveAt = Date.now();
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #pause: PauseCheck; // Whether a firing was late enough to start over.

  /**
   * Starts counting now. `busy()`: the connection is making its answers or
   * waiting for them to drain, which is not idleness (the timer waits
   * another `ms`). `lateMs`, how late a firing means a stop, is for tests.
   */
  constructor(
    ms: number,
    busy: () => boolean,
    expire: (silentMs: number) => void,
    lateMs = pausedLateMs(ms),
  ) {
    this.#ms = ms;
    this.#pause = new PauseCheck(lateMs);
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
    wait = Math.min(wait, MAX_TIMER_MS);
    this.#pause.due(wait);
    this.#timer = setTimeout(this.#check, wait);
  }

  readonly #check = (): void => {
    const now = Date.now();
    if (this.#pause.stopped()) {
      this.#lastActiveAt = now; // Stopped: silence counts from the resume.
      return this.#arm(this.#ms);
    }
    const silentMs = now - this.#lastActiveAt;
    const busy = this.#busy();
    if (busy || silentMs < this.#ms) return this.#arm(busy ? this.#ms : this.#ms - silentMs);
    this.#timer = undefined;
    this.#expire(silentMs);
  };
}
