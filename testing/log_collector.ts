/**
 * {@linkcode LogCollector}: the tests' logger. It keeps a server's log lines
 * and wakes a test waiting for one. Re-exported by `testing/mod.ts`.
 *
 * @module
 */

import type { LogLevel } from "../server/log.ts";

/** Collects a server's log lines and wakes whoever waits for a given one. */
export class LogCollector {
  /** Every line logged so far. */
  readonly lines: { level: LogLevel; message: string }[] = [];
  #waiters: { ready: () => boolean; resolve: () => void }[] = [];

  /** The logger to pass to `serve()`. */
  readonly log = (level: LogLevel, message: string): void => {
    this.lines.push({ level, message });
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.ready()) return true;
      waiter.resolve();
      return false;
    });
  };

  /** Resolves once `count` lines have matched `pattern`. */
  waitFor(pattern: RegExp, count = 1): Promise<void> {
    const ready = () => this.lines.filter((line) => pattern.test(line.message)).length >= count;
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ ready, resolve }));
  }

  /** The messages logged at `error` level. */
  errors(): string[] {
    return this.lines.filter((line) => line.level === "error").map((line) => line.message);
  }
}
