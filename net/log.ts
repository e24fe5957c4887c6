/**
 * The log's shape, shared by the server and the data log (store/log/): a
 * function called with a level and a line. `kv serve` passes one that
 * writes to stderr; embedders pass their own. Also how a client's bytes are
 * quoted in a line, and a budget for lines that can come in floods.
 *
 * @module
 */

import { escapeInvisible } from "./show.ts";

/** How important a log line is. `debug` lines are made only with `verbose`. */
export type LogLevel = "error" | "info" | "debug";

/** Where the server's log lines go (stderr in `kv serve`). */
export type Logger = (level: LogLevel, message: string) => void;

/** The default logger: errors to stderr, nothing else. */
export function logErrors(level: LogLevel, message: string): void {
  // deno-lint-ignore no-console
  if (level === "error") console.error(message);
}

/** The default logger with `verbose` set: every line to stderr (it asked for them). */
export function logAll(_level: LogLevel, message: string): void {
  // deno-lint-ignore no-console
  console.error(message);
}

const LOG_SAMPLE_CHARS = 80;

/**
 * `text` quoted for a log line, cut to 80 characters (with its length if it
 * was cut); characters that would not show as themselves escaped (net/show.ts).
 */
export function logSample(text: string): string {
  const quoted = escapeInvisible(JSON.stringify(
    text.length > LOG_SAMPLE_CHARS ? text.slice(0, LOG_SAMPLE_CHARS) : text,
  ));
  return text.length > LOG_SAMPLE_CHARS ? `${quoted}... (${text.length} chars)` : quoted;
}

/**
 * At most `limit` lines per window of `windowMs`: what can come in floods (a
 * password guesser's failures) is counted, not logged, past that, so it
 * cannot fill the disk or drown the lines that matter.
 */
export class LogBudget {
  readonly #limit: number;
  readonly #windowMs: number;
  #windowStart = -Infinity;
  #used = 0;
  #skipped = 0;

  /** `limit` lines per `windowMs`. */
  constructor(limit: number, windowMs: number) {
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  /**
   * Asks to log a line at `now` (ms). `undefined`: do not log it (it was
   * counted). Otherwise how many lines before it were not logged, and
   * whether it is the last this window allows (say that the rest are counted).
   */
  take(now: number): { skipped: number; last: boolean } | undefined {
    // A clock set back starts a window too: the budget never stays spent.
    if (now - this.#windowStart >= this.#windowMs || now < this.#windowStart) {
      this.#windowStart = now;
      this.#used = 0;
    }
    if (this.#used === this.#limit) {
      this.#skipped++;
      return undefined;
    }
    this.#used++;
    const skipped = this.#skipped;
    this.#skipped = 0;
    return { skipped, last: this.#used === this.#limit };
  }
}
