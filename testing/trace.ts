/**
 * {@linkcode TraceCollector}: the tests' tracer. It keeps every trace event
 * and wakes a test waiting for one, so tests assert the order of socket
 * events and wait for them instead of sleeping. Re-exported by
 * `testing/mod.ts`.
 *
 * @module
 */

import type { TraceEvent } from "../net/trace.ts";

/** Collects trace events (`serve({ trace })`, `--trace`) and wakes whoever waits for one. */
export class TraceCollector {
  /** Every event so far, in order. */
  readonly events: TraceEvent[] = [];
  #waiters: { ready: () => boolean; resolve: () => void }[] = [];

  /** The tracer to pass on. */
  readonly trace = (event: TraceEvent): void => {
    this.events.push(event);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.ready()) return true;
      waiter.resolve();
      return false;
    });
  };

  /** The event names of `who` (`#1`, `d1`, `server`, `client`), in order. */
  of(who: string): string[] {
    return this.events.filter((event) => event.who === who).map((event) => event.event);
  }

  /** The details of `who`'s events named `name`, in order. */
  details(who: string, name: string): string[] {
    return this.events
      .filter((event) => event.who === who && event.event === name)
      .map((event) => event.detail);
  }

  /** Resolves once `who` has had `count` events named `name`. */
  waitFor(who: string, name: string, count = 1): Promise<void> {
    return this.until(() => this.details(who, name).length >= count);
  }

  /** Resolves once the server has read `bytes` bytes in all, over every connection (`recv` events). */
  received(bytes: number): Promise<void> {
    return this.until(() => {
      let sum = 0;
      for (const event of this.events) {
        if (event.event === "recv") sum += Number(/bytes=(\d+)/.exec(event.detail)?.[1] ?? 0);
      }
      return sum >= bytes;
    });
  }

  /** Resolves once `ready` holds (checked after each event). */
  until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ ready, resolve }));
  }
}
