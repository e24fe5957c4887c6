/**
 * {@linkcode LogCollector}: the tests' logger. It keeps a server's log lines
 * and wakes a test waiting for one. Re-exported by `testing/mod.ts`.
 *
 * @module
 */

import type { LogLevel } from "../net/log.ts";

/** Collects a server's log lines and wakes whoever waits for a given one. */
export class LogCollector {
  /** Every line logged so far. */
  readonly lines: { level: LogLevel; message: string }[] = [];
  // Each waiter counts the lines that match as they come (a test may wait
  // through tens of thousands of lines: no line is tested twice).
  #waiters: { pattern: RegExp; left: number; resolve: () => void }[] = [];

  /** The logger to pass to `serve()`. */
  readonly log = (level: LogLevel, message: string): void => {
    this.lines.push({ level, message });
    if (this.#waiters.length === 0) return;
    this.#waiters = this.#waiters.filter((waiter) => {
      if (waiter.pattern.test(message) && --waiter.left === 0) {
        waiter.resolve();
        return false;
      }
      return true;
    });
  };

  /** Resolves once `count` lines (those logged already included) have matched `pattern`. */
  waitFor(pattern: RegExp, count = 1): Promise<void> {
    const left = count - this.lines.filter((line) => pattern.test(line.message)).length;
    if (left <= 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ pattern, left, resolve }));
  }

  /** The messages logged at `error` level. */
  errors(): string[] {
    return this.lines.filter((line) => line.level === "error").map((line) => line.message);
  }
}
