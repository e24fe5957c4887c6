/**
 * Tests of {@linkcode IdleTimer} and `setRunningTimeout` when their timers
 * fire late: a stop (one late firing) starts the count over, but an event
 * loop blocked at every turn does not keep a silent peer for ever. The
 * loop is held here with a busy wait, as a stop or an overload holds it,
 * and `lateMs` is small so that a hold of 60 ms reads as a stop.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { PAUSED_RESTARTS, setRunningTimeout } from "../net/conn.ts";
import { IdleTimer } from "./idle.ts";

const MS = 20;
const LATE_MS = 30;
const HOLD_MS = 60; // Each hold makes the timer fire at least 40 ms late.

/** Holds the event loop for `ms`: no timer fires meanwhile. */
function hold(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* Blocked. */ }
}

/** Lets the timers that came due during a hold fire (they are due before this one). */
function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

Deno.test("IdleTimer starts over for a stop, but at most PAUSED_RESTARTS times in a row", async () => {
  let expiredAt = -1;
  let holds = 0;
  const timer = new IdleTimer(MS, () => false, () => (expiredAt = holds), LATE_MS);
  try {
    while (expiredAt < 0 && holds < PAUSED_RESTARTS + 3) {
      hold(HOLD_MS);
      holds++;
      await turn();
    }
  } finally {
    timer.stop();
  }
  // Each of the first PAUSED_RESTARTS late firings starts the count over; the next one
  // finds the client silent for longer than its timeout.
  assertEquals(expiredAt, PAUSED_RESTARTS + 1);
});

Deno.test("setRunningTimeout starts over for a stop, but at most PAUSED_RESTARTS times in a row", async () => {
  let firedAt = -1;
  let holds = 0;
  const cancel = setRunningTimeout(() => (firedAt = holds), MS, { lateMs: LATE_MS });
  try {
    while (firedAt < 0 && holds < PAUSED_RESTARTS + 3) {
      hold(HOLD_MS);
      holds++;
      await turn();
    }
  } finally {
    cancel();
  }
  assertEquals(firedAt, PAUSED_RESTARTS + 1);
});

Deno.test("IdleTimer after one stop gives the whole timeout again, then expires on time", async () => {
  const { promise: expired, resolve } = Promise.withResolvers<number>();
  const timer = new IdleTimer(MS, () => false, resolve, LATE_MS);
  try {
    hold(HOLD_MS);
    const resumedAt = Date.now();
    const silentMs = await expired;
    // Counted from the resume: the hold is not the client's silence.
    assertEquals(silentMs >= MS && silentMs < HOLD_MS, true, `silent ${silentMs} ms`);
    assertEquals(Date.now() - resumedAt >= MS, true);
  } finally {
    timer.stop();
  }
});

Deno.test("IdleTimer under 2 s takes a firing half its time late for a stop (a loaded machine)", async () => {
  // 200 ms, held 330 ms: it fires 130 ms late, more than half its time.
  const { promise: expired, resolve } = Promise.withResolvers<number>();
  const timer = new IdleTimer(200, () => false, resolve);
  try {
    hold(330);
    const silentMs = await expired;
    // Counted from the resume, not from the start: 330 ms would be the hold's.
    assertEquals(silentMs >= 200 && silentMs < 330, true, `silent ${silentMs} ms`);
  } finally {
    timer.stop();
  }
});
