/**
 * {@linkcode Sweeper}: the in-memory store's active expiry cycle. Each
 * sweep walks the table from where the last one stopped, removing pairs
 * whose time has passed, until a full turn or its time budget ends, and
 * samples the time left of the others (Redis's avg_ttl).
 *
 * @module
 */

import { EXPIRES } from "./arena.ts";
import type { Clock } from "./clock.ts";
import type { Table } from "./table.ts";

// The sweep reads the clock once per this many slots.
const SWEEP_CHUNK = 1024;

/** Where the next sweep starts, and what sweeps (and lazy expiry) counted. */
export class Sweeper {
  /** Keys removed because their time had passed, ever (by sweeps, and lookups that found them). */
  expired = 0;
  /** Redis's avg_ttl: a running average of the time left that sweeps see. */
  avgTtlMs = 0;
  #slot = 0; // Where the next sweep starts: 0 again once the table changed size.
  #capacity = 0; // The table's size when the sweep last ran.

  /** The table was emptied: the next sweep starts at its first slot. */
  restart(): void {
    this.#slot = 0;
  }

  /**
   * Walks `table` from where the last sweep stopped, removing keys whose
   * time has passed, for about `budgetMs` (at most one full turn of the
   * table). Returns how many it removed.
   */
  sweep(table: Table, clock: Clock, budgetMs: number): number {
    const arena = table.arena;
    const started = performance.now();
    // A resize of the table goes on here too, so it ends even with no writes.
    table.moveFor(budgetMs / 2);
    if (arena.expiring === 0) {
      this.avgTtlMs = 0;
      return 0;
    }
    const length = table.slotCount;
    if (length !== this.#capacity) {
      this.#capacity = length;
      this.#slot = 0;
    }
    const { at, removed, ttlSum, ttlSamples } = sweepFrom(
      table,
      this.#slot,
      clock.now(),
      started,
      budgetMs,
    );
    this.expired += removed;
    this.#slot = at;
    if (ttlSamples > 0) {
      // As Redis: the new sample weighs 2%, the estimate so far 98%.
      const sample = ttlSum / ttlSamples;
      if (this.avgTtlMs === 0) this.avgTtlMs = sample;
      this.avgTtlMs = Math.round(this.avgTtlMs * 0.98 + sample * 0.02);
    }
    if (removed > 0) table.shrinkIfSparse();
    return removed;
  }
}

/** What one walk did: where the next starts, keys removed, and the time left of the rest. */
export interface SweepWalk {
  at: number;
  removed: number;
  /** Of the live keys with an expiry it passed: their time left, summed, and how many. */
  ttlSum: number;
  ttlSamples: number;
}

/**
 * Walks `table` from slot `from`, at time `now`, until one full turn or
 * `budgetMs` since `started` (read every {@linkcode SWEEP_CHUNK} slots).
 */
function sweepFrom(
  table: Table,
  from: number,
  now: number,
  started: number,
  budgetMs: number,
): SweepWalk {
  const arena = table.arena;
  const length = table.slotCount;
  let removed = 0;
  let ttlSum = 0; // Of the live keys with an expiry it passed.
  let ttlSamples = 0;
  // Not a mask: while the table resizes, its slot numbers run past a power of two.
  let at = from;
  for (let visited = 0; visited < length;) {
    const end = Math.min(visited + SWEEP_CHUNK, length);
    while (visited < end) {
      // Empty slots are skipped in one tight loop (a sparse table after a
      // mass expiry is mostly empty: walked slot by slot, 12 million slot
      // numbers took the 1 ms sweeps 15 s while expired keys waited).
      const span = Math.min(end - visited, length - at);
      const slot = table.nextRecord(at, span);
      if (slot < 0) {
        visited += span;
        at = at + span === length ? 0 : at + span;
        continue;
      }
      visited += slot - at + 1;
      at = slot + 1 === length ? 0 : slot + 1;
      const record = table.record(slot);
      if ((arena.header(record) & EXPIRES) === 0) continue;
      const expireAt = arena.expireAt(record);
      if (expireAt <= now) {
        table.remove(slot);
        removed++;
      } else {
        ttlSum += expireAt - now;
        ttlSamples++;
      }
    }
    if (arena.expiring === 0 || performance.now() - started >= budgetMs) break;
  }
  return { at, removed, ttlSum, ttlSamples };
}
