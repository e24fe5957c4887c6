/**
 * {@linkcode WritesBeforeAuth}: answers written to a client that has not
 * authenticated. One whose writes have waited for the handshake timeout
 * (10 s) in all, because it does not read them (or reads a trickle), is
 * cut, so a client that never authenticates cannot hold its slot by
 * sending requests and reading nothing (a connection being written to is
 * never idle). Redis closes such a client too. A stop of this process
 * that its timer sees (one that fires late: net/conn.ts's
 * `setRunningTimeout`) is not counted; a shorter one that ends before the
 * timer is due is.
 *
 * @module
 */

import { setRunningTimeout, writeAll } from "../net/conn.ts";

// A write that took longer than this waited for the client to read.
const NOT_WAITING_MS = 5;

/** One connection's writes before AUTH, and how long they have waited for its client in all. */
export class WritesBeforeAuth {
  readonly #allowedMs: number;
  #waitedMs = 0;

  /** Writes that may wait `allowedMs` in all (the handshake timeout). */
  constructor(allowedMs: number) {
    this.#allowedMs = allowedMs;
  }

  /**
   * Writes all of `bytes` to `conn`. `false`: the writes have now waited
   * all they may, the client is not reading, and the caller cuts the
   * connection (the write is still pending until then).
   */
  async write(conn: Deno.Conn, bytes: Uint8Array): Promise<boolean> {
    const left = Math.max(this.#allowedMs - this.#waitedMs, 1);
    let started = performance.now();
    let cancel: (() => void) | undefined;
    // A timer that came due while this process was stopped fires before the
    // client's reads of meanwhile let the write finish: it starts over from
    // the resume (net/conn.ts), and the wait counts from there, the stop not.
    const late = new Promise<"late">((resolve) => {
      cancel = setRunningTimeout(() => resolve("late"), left, {
        look: true,
        onRestart: () => started = performance.now(),
      });
    });
    const writing = writeAll(conn, bytes).then(() => "written" as const);
    writing.catch(() => {}); // Rejects once cut: the race below has the say.
    try {
      return await Promise.race([writing, late]) === "written";
    } finally {
      cancel!();
      // A write that went out at once costs only the loop's own lag: not counted.
      const waited = performance.now() - started;
      if (waited > NOT_WAITING_MS) this.#waitedMs += waited;
    }
  }
}
