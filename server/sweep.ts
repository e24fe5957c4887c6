/**
 * {@linkcode ExpirySweep}: the server's active expiry cycle, as Redis's.
 * Every 100 ms the store may spend 1 ms reclaiming keys whose time has
 * passed (1% of a core). A sweep that used its whole slice and still found
 * keys is behind (keys expire faster than that reclaims them, and memory
 * would grow without end): the next one comes after 10 ms with 2.5 ms, a
 * fifth of a core, in slices short enough that no client waits long, until
 * it catches up.
 *
 * @module
 */

import type { Clock, ManualClock } from "../store/clock.ts";
import type { Store } from "../store/store.ts";

const SWEEP = {
  everyMs: 100,
  budgetMs: 1,
  behindEveryMs: 10,
  behindBudgetMs: 2.5,
};

/** Sweeps a store (one with `Store.sweep`) until stopped. */
export class ExpirySweep {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopAdvances: (() => void) | undefined;

  /**
   * Starts sweeping `store`, which has a `sweep()`: the first sweep comes
   * after 100 ms. On a clock a test moves (`ManualClock`), each move sweeps
   * the whole table at once: a key the move expired is gone from `DBSIZE`
   * too, deterministically, not within the next 100 ms of real time.
   */
  constructor(store: Store, clock: Clock) {
    const advanced = (clock as Partial<Pick<ManualClock, "onAdvance">>).onAdvance;
    if (typeof advanced === "function") {
      this.#stopAdvances = advanced.call(clock, () => store.sweep!(Infinity));
    }
    const sweep = (budgetMs: number) => {
      const started = performance.now();
      const removed = store.sweep!(budgetMs);
      const behind = removed > 0 && performance.now() - started >= budgetMs;
      this.#timer = setTimeout(
        () => sweep(behind ? SWEEP.behindBudgetMs : SWEEP.budgetMs),
        behind ? SWEEP.behindEveryMs : SWEEP.everyMs,
      );
    };
    this.#timer = setTimeout(() => sweep(SWEEP.budgetMs), SWEEP.everyMs);
  }

  /** Stops sweeping. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#stopAdvances?.();
  }
}
