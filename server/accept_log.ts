/**
 * {@linkcode AcceptFailures}: what the server logs when `accept` fails. Out
 * of file descriptors, every accept fails until a client leaves; with
 * clients coming and going at the limit, every other accept fails, a few
 * ms apart (143 lines a second were measured when each was logged). So a
 * run of failures is said once, with what it means and what to do, then at
 * most every {@linkcode ACCEPT_LOG_EVERY_MS} while it lasts, and once more
 * when accepts work again.
 *
 * @module
 */

import { describeError, isOutOfDescriptors } from "../net/conn.ts";
import type { Logger } from "../net/log.ts";

/** While accepts go on failing, they are logged at most this often. */
export const ACCEPT_LOG_EVERY_MS = 10_000;

/** Counts and logs the failed accepts of one listener. */
export class AcceptFailures {
  readonly #log: Logger;
  readonly #now: () => number;
  // Whether the last accept failed, and no accept since has shown a spare descriptor.
  #failing = false;
  #outOfDescriptors = false;
  #since = 0; // When this run of failures began.
  #failed = 0; // Failures in this run.
  #unlogged = 0; // Failures since the last line.
  #logged = false; // Whether this run's first failure was logged.
  #lastLine = -Infinity;
  #openAtFailure = 0;
  #lastAccepted = false;

  /** Logs through `log`; `now` is in ms (a test passes its own). */
  constructor(log: Logger, now: () => number = () => performance.now()) {
    this.#log = log;
    this.#now = now;
  }

  /** Whether accepts are failing now (a run of failures has not ended). */
  get failing(): boolean {
    return this.#failing;
  }

  /** An accept failed with `error` while `open` clients were connected. */
  failed(error: unknown, open: number): void {
    const now = this.#now();
    this.#lastAccepted = false;
    this.#openAtFailure = open;
    this.#failed++;
    this.#unlogged++;
    if (!this.#failing) {
      this.#failing = true;
      this.#since = now;
      this.#failed = 1;
      this.#logged = false;
      this.#outOfDescriptors = isOutOfDescriptors(error);
    }
    if (now - this.#lastLine < ACCEPT_LOG_EVERY_MS) return;
    const more = this.#unlogged > 1 ? `; ${this.#unlogged - 1} more failed before it` : "";
    if (!this.#logged) {
      this.#log(
        "error",
        this.#outOfDescriptors
          ? `out of file descriptors (${describeError(error)}): cannot accept new clients while ` +
            `${open} are connected; they wait in the listen backlog until one leaves ` +
            `(retried with a backoff up to 1 s)${more}. Raise ulimit -n, or set ` +
            "--max-connections below what it allows, so that clients past it are refused " +
            "with an error instead of waiting"
          : `accept failed, retrying with a backoff up to 1 s: ${describeError(error)}${more}`,
      );
    } else {
      this.#log(
        "error",
        `${this.#outOfDescriptors ? "still out of file descriptors" : "accept still failing"}: ${
          plural(this.#unlogged, "accept")
        } failed in the last ${seconds(now - this.#lastLine)} s (${describeError(error)}); ${
          plural(open, "client")
        } connected`,
      );
    }
    this.#logged = true;
    this.#lastLine = now;
    this.#unlogged = 0;
  }

  /**
   * An accept succeeded, and `open` clients are connected with it. Accepts
   * work again once one shows a descriptor to spare: fewer clients are
   * connected than when the last one failed, or two in a row succeeded.
   * (One alone does not: at the limit, a client that leaves frees the one
   * descriptor the next accept takes.)
   */
  accepted(open: number): void {
    const twice = this.#lastAccepted;
    this.#lastAccepted = true;
    if (!this.#failing || (!twice && open >= this.#openAtFailure)) return;
    this.#failing = false;
    if (!this.#logged) return; // Its failures are told by the next line.
    const now = this.#now();
    this.#log(
      "info",
      `accepting clients again, after ${plural(this.#failed, "failed accept")} over ` +
        `${seconds(now - this.#since)} s${
          this.#outOfDescriptors ? " (out of file descriptors)" : ""
        }; ${plural(open, "client")} connected`,
    );
    // Not a failure line: the next run's first is not held back by it (at
    // most two lines every 10 s, a failure and this, if runs come and go).
    this.#unlogged = 0;
  }
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
