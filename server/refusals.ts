/**
 * {@linkcode Refusals}: the clients turned away past `--max-connections`,
 * like redis's acceptCommonHandler: a best-effort error line, in the
 * protocol the client's first byte says it speaks (server/wire.ts), then
 * the close. The server awaits them at shutdown, and cuts them when its
 * grace runs out. And the line the server logs of them, a few a minute
 * ({@linkcode newRefusalLog}).
 *
 * @module
 */

import { closeQuietly, setRunningTimeout, settlesWithin, writeAll } from "../net/conn.ts";
import { LogBudget, type Logger } from "../net/log.ts";
import { finishHandshake, type HandshakeTimeouts } from "./tls.ts";
import { tooManyConnections } from "./wire.ts";

/** The most refusals logged in a minute without --verbose; the rest are counted. */
export const REFUSAL_LOG_LIMIT = 20;
const REFUSAL_LOG_WINDOW_MS = 60_000;

/**
 * What a server logs of a client it turns away past `--max-connections`:
 * one line each with `verbose`; without it, at most
 * {@linkcode REFUSAL_LOG_LIMIT} lines a minute, the next one logged saying
 * how many it left out, as for failed AUTHs and handshakes. Clients that
 * retry against a full server (a pool reconnecting in a loop) would
 * otherwise add a line to the log for every try, for as long as the server
 * runs; INFO's `rejected_connections` counts them all.
 */
export function newRefusalLog(
  log: Logger,
  now: () => number,
  verbose: boolean,
): (id: number, open: number) => void {
  const budget = new LogBudget(REFUSAL_LOG_LIMIT, REFUSAL_LOG_WINDOW_MS);
  return (id, open) => {
    let line = `#${id} refused: already ${open} open (--max-connections)`;
    if (verbose) return log("info", line);
    const logged = budget.take(now());
    if (logged === undefined) return;
    if (logged.skipped > 0) line += `; ${logged.skipped} more refused before it, not logged`;
    if (logged.last) {
      line += `; that is ${REFUSAL_LOG_LIMIT} this minute: the rest of this minute's are ` +
        "counted (INFO rejected_connections), not logged (-v logs them all)";
    }
    log("info", line);
  };
}

// Refusals in flight at once; a flood past it gets the line protocol's line at once.
const MAX_REFUSALS = 64;
// How long a refusal waits for that first byte; silence gets the line.
const REFUSAL_PEEK_MS = 100;

/** The refusals still writing their error line, and their sockets. */
export class Refusals {
  readonly #timeouts: HandshakeTimeouts;
  readonly #inFlight = new Map<Promise<void>, Deno.Conn>();

  /**
   * Refusals that last at most the handshake timeout; a TLS client must
   * finish its handshake within the time an admitted one may take (the
   * shorter of the handshake and idle timeouts: `finishHandshake()` in
   * server/tls.ts).
   */
  constructor(timeouts: HandshakeTimeouts) {
    this.#timeouts = timeouts;
  }

  /** How many are still under way. */
  get size(): number {
    return this.#inFlight.size;
  }

  /**
   * Answers `conn` with the error line, then closes it. A TLS client must
   * finish its handshake to read the line, so a refusal lasts at most the
   * handshake timeout (a silent one, as long as `--idle-timeout` if that is
   * shorter), then the line's drain through the TLS front (at
   * most 5 s: server/tls_conn.ts), and ends with the shutdown's grace; past
   * MAX_REFUSALS at once, the rest get the line protocol's line without the
   * wait (a TLS one only the close).
   */
  refuse(conn: Deno.Conn): void {
    if (this.#inFlight.size >= MAX_REFUSALS) {
      // A flood: no wait for a first byte, the line protocol's line at once
      // (one small write), then the close. A TLS client would need a
      // handshake first: it gets only the close.
      if ("handshake" in conn) return closeQuietly(conn);
      conn.write(tooManyConnections(undefined)).catch(() => {}).finally(() => closeQuietly(conn));
      return;
    }
    // Of running time (net/conn.ts): a stop of ours does not use it up.
    const cancel = setRunningTimeout(() => closeQuietly(conn), this.#timeouts.handshakeTimeoutMs);
    const answer = async () => {
      // Failed or cut: the close is all it gets.
      if ("handshake" in conn && await finishHandshake(conn as Deno.TlsConn, this.#timeouts)) {
        return;
      }
      await writeAll(conn, tooManyConnections(await firstByte(conn, REFUSAL_PEEK_MS)));
    };
    const refusal: Promise<void> = answer()
      .catch(() => {}) // The client may be gone already; it gets nothing more either way.
      .finally(async () => {
        cancel();
        closeQuietly(conn);
        // A TLS front lets the line drain to the client after the close
        // (server/tls_conn.ts): the refusal is over once it has let go.
        await (conn as { finished?: Promise<void> }).finished;
        this.#inFlight.delete(refusal);
      });
    this.#inFlight.set(refusal, conn);
  }

  /** Settles once every refusal under way has ended. */
  async finished(): Promise<void> {
    await Promise.all(this.#inFlight.keys());
  }

  /** Closes every refusal's socket now, a TLS one's drain too: the shutdown's grace ran out. */
  cut(): void {
    for (const conn of this.#inFlight.values()) {
      const front = conn as { cut?: () => boolean };
      if (front.cut !== undefined) front.cut();
      else closeQuietly(conn);
    }
  }
}

/**
 * The first byte `conn` sends within `ms` of this process running (a stop
 * of ours is not the client's silence: net/conn.ts's `settlesWithin`), or
 * `undefined`. A read still pending ends with the close.
 */
async function firstByte(conn: Deno.Conn, ms: number): Promise<number | undefined> {
  const one = new Uint8Array(1);
  const reading = conn.read(one).then((n) => n === 1 ? one[0] : undefined, () => undefined);
  return await settlesWithin(reading, ms) ? await reading : undefined;
}
