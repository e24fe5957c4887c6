/**
 * {@linkcode wholeMsClock}: the server's view of a clock of the embedder's
 * own. `serve()` refuses one that shows anything but whole milliseconds when
 * it starts (server/options.ts), but nothing held it to that afterwards: a
 * `now()` that later showed `5000.5` (a move by `0.1 * 3 * 1000`) made
 * `PTTL` answer a number that was not the time left, and `SET ... PX` (which
 * counts in BigInt) throw inside the connection, closing every Redis client
 * that sent one. Through this view a command always reads whole
 * milliseconds, and the log says once what was wrong.
 *
 * @module
 */

import { type Clock, isWholeMs, ManualClock, SYSTEM_CLOCK } from "../store/clock.ts";
import type { Logger } from "../net/log.ts";

/**
 * `clock` as the server's commands read it: a fraction is cut to the whole
 * millisecond (as `Date.now()` cuts the real time), and a reading that is
 * no time at all (negative, past 2^53 - 1, not a number) gives the last good
 * one instead; the first bad reading is logged, at `error` level, once.
 * {@linkcode SYSTEM_CLOCK} and a {@linkcode ManualClock}, which never show
 * such readings, are returned as they are.
 */
export function wholeMsClock(clock: Clock, log: Logger): Clock {
  if (clock === SYSTEM_CLOCK || clock instanceof ManualClock) return clock;
  let last = clock.now(); // resolve() refused a clock that does not show whole ms now.
  let told = false;
  return {
    now(): number {
      const shown = clock.now();
      if (isWholeMs(shown)) return last = shown;
      const used = isWholeMs(Math.floor(shown)) ? Math.floor(shown) : last;
      if (!told) {
        told = true;
        log(
          "error",
          `the clock's now() showed ${shown}: expected whole milliseconds from 0 to 2^53 - 1; ` +
            `the server reads ${used} instead (said once: later readings are taken the same way)`,
        );
      }
      return last = used;
    },
  };
}
