/**
 * {@linkcode ConnectionState}: where a connection is, and how it ends. The
 * connection loop (server/connection.ts) moves it between reading, working
 * and writing, reading and setting its fields as plain fields once a batch
 * (no call on the request path). Here it ends: at a shutdown (stop()),
 * after QUIT or an error that closes it (linger()), when the shutdown's
 * grace runs out (cut()); and here an error that ended it is told for the
 * client's doing or a bug (endedByPeer()).
 *
 * @module
 */

import { closeQuietly, isDisconnect, quiet } from "../net/conn.ts";
import { LINGER_MAX_BYTES, LINGER_MAX_MS, LINGER_QUIET_MS } from "./linger.ts";
import type { ConnectionTrace } from "./trace.ts";

/**
 * Where a connection is. `reading`: waiting for bytes (shutdown half-closes
 * it at once, or closes it if it never spoke); `working`: running requests; `writing`: waiting for its answers
 * to drain (never idle); `lingering`: half-closed (at shutdown, or after
 * QUIT or an error that ends the connection), discarding what the client still
 * sends until it finishes; `closed`.
 */
export type Phase = "reading" | "working" | "writing" | "lingering" | "closed";

// Where lingering connections read what they throw away: as big as the
// loop's biggest reads.
const DISCARDED = new Uint8Array(64 * 1024);

/** One connection's phase, and its end. */
export class ConnectionState {
  /** Where the connection is. */
  phase: Phase = "working";
  /** Set by stop(): the server is shutting down. */
  stopping = false;
  /**
   * The read the connection waits on while `reading`: a shutdown's linger
   * takes it over (stop()), and then ends the connection (`stopped`).
   */
  pendingRead: Promise<number | null> | undefined;
  /** The linger a shutdown began while the connection was `reading`; it closes the connection. */
  stopped: Promise<void> | undefined;
  readonly #conn: Deno.Conn;
  readonly #shutdownGraceMs: number;
  readonly #trace: ConnectionTrace | undefined;
  // While lingering: when it ends, whatever the client still sends.
  #lingerUntil = Infinity;

  /** The state of a connection on `conn`; `shutdownGraceMs` bounds its linger at a shutdown. */
  constructor(conn: Deno.Conn, shutdownGraceMs: number, trace: ConnectionTrace | undefined) {
    this.#conn = conn;
    this.#shutdownGraceMs = shutdownGraceMs;
    this.#trace = trace;
  }

  /**
   * Shutdown: a busy connection finishes its answers, then half-closes and
   * lingers; one waiting for bytes half-closes and lingers now, and what its
   * read brings is not run; one that never sent a byte (or is in its TLS
   * handshake) closes now. `spoke`: the client has sent bytes; `buffer`:
   * as linger() takes it.
   */
  stop(spoke: boolean, buffer: Uint8Array | undefined): void {
    this.stopping = true;
    if (this.phase === "reading") {
      // Its answers are written, but perhaps not yet delivered, and its client
      // may be between two bursts: closing would reset the connection when
      // the next one came, and the reset throws away what is still on its
      // way. It ends as a request had ended it (within half the grace).
      const linger = spoke && this.pendingRead !== undefined;
      if (this.#trace !== undefined) this.#trace.stop(linger ? "half-close" : "close");
      if (!linger) this.close();
      else {
        this.stopped = this.linger(true, buffer, this.pendingRead)
          .catch(() => {}) // The client went away meanwhile: over all the same.
          .finally(() => this.close());
      }
    } else if (this.#trace !== undefined) this.#trace.stop("finish");
    // Lingering after QUIT or an error that ends it: it ends within half the grace,
    // so a client that goes on sending does not hold the shutdown.
    if (this.phase === "lingering") {
      this.#lingerUntil = Math.min(this.#lingerUntil, performance.now() + this.#shutdownLingerMs);
    }
  }

  /**
   * Cuts the connection now: the shutdown's grace ran out. Unlike
   * {@linkcode ConnectionState.close}, a TLS connection's last bytes are not let
   * drain, even if the connection closed already and only they are left.
   * Returns whether anything was still open.
   */
  cut(): boolean {
    const draining = (this.#conn as { cut?: () => boolean }).cut?.() ?? false;
    return this.close() || draining;
  }

  /** Closes the socket, once; returns whether this call closed it. A pending read or write then rejects. */
  close(): boolean {
    if (this.phase === "closed") return false;
    this.phase = "closed";
    closeQuietly(this.#conn);
    return true;
  }

  /**
   * Shutdown came, or QUIT or an error ends the connection, and its client
   * may still be sending. Closing with bytes unread would make the kernel
   * reset the connection and drop answers not yet delivered, so end only
   * the write side: the client reads its answers, then the end of the
   * stream. What it still sends is discarded; once it has sent nothing for a
   * moment, or closes, the connection is done (PROTOCOL.md, Shutdown); one
   * that goes on sending is cut after 10 s or 64 MiB. `ended`: it has no
   * more to say (QUIT, an error that closes, or a shutdown that found it
   * waiting for bytes), and a shutdown ends that wait within half its grace,
   * so that the server still exits 0. A busy connection at shutdown waits as
   * the contract says, its answers perhaps still on their way, until its
   * client goes quiet or the grace runs out. `pending`: a read already under
   * way (a shutdown came while it waited), the first one thrown away.
   * `buffer`: where a traced connection reads, its own buffer, which
   * `pending` fills (the trace shows what came); `undefined`, one buffer
   * all lingering connections share, for big reads, so that what is thrown
   * away costs little per byte.
   */
  async linger(
    ended: boolean,
    buffer: Uint8Array | undefined,
    pending?: Promise<number | null>,
  ): Promise<void> {
    this.phase = "lingering";
    await this.#conn.closeWrite();
    if (this.#trace !== undefined) this.#trace.halfClose();
    const into = buffer ?? DISCARDED;
    const ms = ended && this.stopping ? this.#shutdownLingerMs : LINGER_MAX_MS;
    this.#lingerUntil = Math.min(this.#lingerUntil, performance.now() + ms);
    for (
      let discarded = 0;
      discarded < LINGER_MAX_BYTES && performance.now() < this.#lingerUntil;
    ) {
      const read = pending ?? this.#conn.read(into);
      pending = undefined;
      // Quiet for LINGER_QUIET_MS, or until the linger's end if that is sooner.
      if (await quiet(read, Math.min(LINGER_QUIET_MS, this.#lingerUntil - performance.now()))) {
        read.catch(() => {}); // Rejects once we close the conn: expected.
        return;
      }
      const n = await read;
      if (this.#trace !== undefined) this.#trace.lingered(into, n, this.stopping);
      if (n === null) return;
      discarded += n;
    }
  }

  /**
   * Whether an error that ended the connection was the client's doing: it
   * went away, or (over TLS) it sent a record that does not decrypt, or an
   * alert. Those are logged only with --verbose: a line each at error level
   * would let any client fill the log.
   */
  endedByPeer(error: unknown): boolean {
    return isDisconnect(error) ||
      ("handshake" in this.#conn && error instanceof Deno.errors.InvalidData);
  }

  /** How long a linger after QUIT or an error may go on once a shutdown began: half the grace. */
  get #shutdownLingerMs(): number {
    return this.#shutdownGraceMs / 2;
  }
}
