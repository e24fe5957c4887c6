/**
 * One client's connection: the straight path from bytes read to bytes
 * written. Read a chunk, take each request the framer completes, run it,
 * reply, write; the limits of PROTOCOL.md (idle timeout, the unframed
 * pause). Around it: where the connection is and how it ends (a shutdown,
 * the linger after QUIT) in connection_state.ts, writes to a client before
 * AUTH in before_auth.ts, what -v logs of a request in request_log.ts, the
 * TLS handshake in tls.ts.
 *
 * @module
 */

import type { Continuation } from "../command/command.ts";
import { releaseQueued } from "../command/execute.ts";
import { formatAddr } from "../net/addr.ts";
import { afterIo, describeError, nextTurn, quiet, writeAll } from "../net/conn.ts";
import type { Tracer } from "../net/trace.ts";
import { WritesBeforeAuth } from "./before_auth.ts";
import { ConnectionState } from "./connection_state.ts";
import { IdleTimer } from "./idle.ts";
import type { Logger } from "../net/log.ts";
import { requestLogLine } from "./request_log.ts";
import { finishHandshake } from "./tls.ts";
import { ConnectionTrace } from "./trace.ts";
import { ReadBuffers } from "./reads.ts";
import { TurnShare } from "./turn_share.ts";
import { openWire, releaseWire, runRequest, type ServerSide, type Wire } from "./wire.ts";
import { POOLED_BYTES } from "../wire/buffer_pool.ts";

/** The limits and switches a connection follows (resolved {@linkcode ServeOptions}). */
export interface ConnectionConfig {
  readonly maxLineBytes: number;
  readonly idleTimeoutMs: number;
  readonly unframedPauseMs: number;
  readonly handshakeTimeoutMs: number;
  /** A shutdown's grace: a linger after QUIT or an error ends within half of it. */
  readonly shutdownGraceMs: number;
  readonly verbose: boolean;
  /** Receives every socket event (`--trace`); `undefined`: tracing is off and costs nothing. */
  readonly trace?: Tracer;
}

// Answers are written once they pass this size, and the rest of the read is
// answered after: a few bytes of pipelined GETs or LISTs may ask for many
// copies of a big value or of the whole store. The answer buffer is reused
// up to this size; a bigger one is dropped once written.
const MAX_REUSED_OUT_BYTES = POOLED_BYTES;
// A connection that reads or writes much with no turn of the event loop
// lets it turn (server/turn_share.ts). A long answer that writes little (a
// LIST's walk, 64 slots a step) lets the I/O callbacks run every so many steps.
const STEPS_PER_TURN = 16;

/** One client's connection. {@linkcode Connection.run} serves it to the end. */
export class Connection {
  readonly id: number;
  readonly #conn: Deno.Conn;
  readonly #config: ConnectionConfig;
  readonly #log: Logger;
  readonly #server: ServerSide;
  // The wire, set up on the first bytes (a connection that never sends any,
  // as in a storm of connects and resets, costs no more than its socket).
  #wire: Wire | undefined;
  // The rest of an answer too large to build at once (LIST), while it is written.
  #more: Continuation | undefined;
  readonly #reads: ReadBuffers;
  // Where it is (reading, working, writing, lingering, closed), and its end.
  readonly #state: ConnectionState;
  // The bytes it read, and those the slow path wrote, with no turn of the event loop.
  readonly #readShare: TurnShare;
  readonly #writeShare: TurnShare;
  // Before AUTH: its writes, cut if its client leaves them unread too long.
  #beforeAuth: WritesBeforeAuth | undefined;
  #idle: IdleTimer | undefined;
  // Tracing (`--trace`): every use is behind `!== undefined`, so off costs nothing.
  readonly #trace: ConnectionTrace | undefined;

  /** Serves `conn` as connection number `id`, on the server's store and state. */
  constructor(
    conn: Deno.Conn,
    id: number,
    config: ConnectionConfig,
    server: ServerSide,
    log: Logger,
  ) {
    this.#conn = conn;
    this.id = id;
    this.#config = config;
    this.#log = log;
    this.#server = server;
    if (config.trace !== undefined) {
      this.#trace = new ConnectionTrace(config.trace, id, server.guard.password !== undefined);
    }
    this.#state = new ConnectionState(conn, config.shutdownGraceMs, this.#trace);
    this.#reads = new ReadBuffers(server.pool);
    this.#readShare = new TurnShare(server.turns);
    this.#writeShare = new TurnShare(server.turns);
  }

  /**
   * Serves the connection until it ends, then calls `ended`. It never
   * rejects: a peer that goes away is a normal end, and an error that is not
   * one is a bug, logged with the connection's id; either way only this
   * connection ends, and the server goes on.
   */
  async run(ended: (connection: Connection) => void): Promise<void> {
    if (this.#config.verbose) this.#debug(`connected from ${formatAddr(this.#conn.remoteAddr)}`);
    if (this.#trace !== undefined) this.#trace.accept(this.#conn);
    try {
      if ("setNoDelay" in this.#conn) {
        // Answers go out at once; and a peer that vanished (a laptop shut, a
        // NAT that forgot the flow) is found by TCP keepalive, not held for ever.
        (this.#conn as Deno.TcpConn).setNoDelay(true);
        (this.#conn as Deno.TcpConn).setKeepAlive(true);
      }
      if ("handshake" in this.#conn && !(await this.#handshake(this.#conn as Deno.TlsConn))) return;
      const idleMs = this.#config.idleTimeoutMs;
      // Silence ends it; its answers being made (a LIST's long walk of pairs
      // it does not show) or draining is not silence.
      if (idleMs > 0) {
        this.#idle = new IdleTimer(idleMs, () => this.#answering, (silentMs) => {
          if (this.#config.verbose) this.#debug(`idle for ${silentMs} ms, closing`);
          if (this.#trace !== undefined) this.#trace.idle(silentMs);
          this.close();
        });
      }
      await this.#serve();
    } catch (error) {
      if (this.#trace !== undefined) this.#trace.failed(error);
      if (!this.#state.endedByPeer(error)) {
        this.#log("error", `#${this.id} failed: ${describeError(error)}`);
      } else if (this.#config.verbose && this.#state.phase !== "closed") {
        this.#debug(`dropped: ${describeError(error)}`);
      }
    } finally {
      this.#idle?.stop();
      this.#reads.end();
      // Its partial request and its answer no longer count against all clients' budgets.
      this.#wire?.framer.close();
      this.#wire?.out.clear();
      // Its WATCHed keys and its open transaction's queue go with it.
      const context = this.#wire?.context;
      if (context !== undefined) {
        this.#server.watches.unwatchAll(context.session);
        releaseQueued(context);
      }
      this.close();
      if (this.#trace !== undefined) this.#trace.close(context?.session.closing || undefined);
      // A wrapped socket (a TLS connection's pipe, server/tls_conn.ts) says when
      // it has let go of everything.
      const finished = (this.#conn as { finished?: Promise<void> }).finished;
      if (finished !== undefined) await finished;
      // Answers it could not write (the client reset it mid-answer, say):
      // their buffer goes back to the pool, or, if big, is freed now. No
      // write is in flight by now, nor is the pipe's.
      this.#wire?.out.clear();
      if (this.#wire !== undefined) releaseWire(this.#wire);
      if (this.#config.verbose) this.#debug("closed");
      ended(this);
    }
  }

  /** Finishes a TLS handshake in time (server/tls.ts). Returns whether the connection can go on. */
  async #handshake(conn: Deno.TlsConn): Promise<boolean> {
    const state = this.#state;
    state.phase = "reading"; // Shutdown may close it meanwhile.
    const failed = await finishHandshake(conn, this.#config);
    if (failed === undefined) {
      if (state.phase === "reading") state.phase = "working";
      return true;
    }
    if (this.#config.verbose) this.#debug(failed);
    else this.#server.handshakeFailed?.(this.id, formatAddr(this.#conn.remoteAddr), failed);
    return false;
  }

  /** Shutdown: the connection ends as {@linkcode ConnectionState.stop} says. */
  stop(): void {
    this.#state.stop(this.#wire !== undefined, this.#lingerBuffer);
  }

  /** Cuts the connection now, the shutdown's grace run out; whether anything was still open. */
  cut(): boolean {
    return this.#state.cut();
  }

  /** Closes the socket, once; returns whether this call closed it. A pending read or write then rejects. */
  close(): boolean {
    return this.#state.close();
  }

  /**
   * Read, frame, run, reply, write: until the client ends, quits, or the
   * server stops. The common path (a read, its requests, one write) is kept
   * in this one function, with no helper promise per read: it runs once per
   * read, and each await costs a turn of the microtask queue.
   */
  async #serve(): Promise<void> {
    const conn = this.#conn;
    const state = this.#state;
    while (!state.stopping) {
      const buffer = this.#reads.next;
      state.phase = "reading";
      let n: number | null;
      if (this.#wire?.framer.awaitsUnframed && this.#config.unframedPauseMs > 0) {
        const read = await this.#readUnframed(buffer);
        if (read === "done") return;
        n = read;
      } else {
        n = await (state.pendingRead = conn.read(buffer));
      }
      if (state.phase === "reading") state.phase = "working";
      // Shutdown closed it, or half-closed it to linger, while this read
      // was completing: what came is not run, since its answers could not
      // reach the client.
      else if (state.phase === "closed") return;
      else if (state.stopped !== undefined) return await state.stopped;
      if (n === null) {
        if (this.#trace !== undefined) this.#trace.eof();
        if (this.#wire === undefined) return; // Gone without a word.
        // End of stream, or a half-close: a last line with no `\n` is
        // still a request (PROTOCOL.md, "Ends of lines").
        this.#wire.framer.end();
        await this.#answer();
        return;
      }
      if (this.#trace !== undefined) this.#trace.recv(buffer, n);
      if (this.#idle !== undefined) this.#idle.touch();
      this.#reads.read(buffer, n); // Bigger next time if this one filled it.
      const wire = this.#wire ??= openWire(
        buffer[0]!,
        conn,
        this.id,
        this.#config.maxLineBytes,
        POOLED_BYTES,
        this.#server,
      );
      wire.framer.feed(buffer.subarray(0, n));
      if (!this.#runRequests()) await this.#answerRest();
      const out = wire.out;
      if (out.length > 0) {
        state.phase = "writing";
        // Answers wait until the batch is durable (server/durable.ts).
        const committed = wire.writes?.commit();
        if (committed !== undefined) await committed;
        const bytes = out.bytes();
        if (!wire.context.session.authenticated) await this.#writeBeforeAuth(bytes);
        else {
          const written = await conn.write(bytes);
          if (written < bytes.length) await writeAll(conn, bytes.subarray(written));
        }
        if (this.#trace !== undefined) this.#trace.send(bytes.length);
        this.#wrote();
      }
      if (wire.context.session.closing !== false) {
        // After QUIT or an error that ends the connection, the client may
        // still be sending (the rest of a burst, a value past the limit):
        // closing with its bytes unread would reset the connection, and the
        // reset throws away the answers not yet delivered (all of them, over
        // TLS), so the client would see a broken pipe instead. Let it finish first.
        await state.linger(true, this.#lingerBuffer);
        return;
      }
      // All there was is read and answered: the next read may wait, and an
      // idle connection keeps its own small buffers only (server/reads.ts).
      if (n < buffer.length) {
        this.#reads.drained();
        releaseWire(wire);
      }
      if (this.#readShare.spent(n)) await nextTurn(); // Much read, and no tick: the others' turn.
    }
    await state.linger(false, this.#lingerBuffer);
  }

  /**
   * Reads the next chunk of a client that has never sent `\n` and has a
   * partial line waiting (PROTOCOL.md, Unframed clients): the read races the
   * pause, and if the line sits unchanged that long, it is answered as a
   * request while the read goes on. "done" if that ended the connection.
   */
  async #readUnframed(buffer: Uint8Array): Promise<number | null | "done"> {
    const state = this.#state;
    const read = state.pendingRead = this.#conn.read(buffer);
    // A shutdown that came meanwhile took the read over: nothing is answered.
    if (await quiet(read, this.#config.unframedPauseMs) && state.phase === "reading") {
      if (this.#trace !== undefined) {
        this.#trace.pause(this.#config.unframedPauseMs, this.#wire!.framer.pendingBytes);
      }
      state.phase = "working";
      this.#wire!.framer.end();
      await this.#answer();
      if (this.#wire!.context.session.closing || state.stopping) {
        read.catch(() => {}); // Rejects once we close the conn: expected.
        return "done";
      }
      // It waits for bytes now, as after a read that took all there was: a
      // line past 4 KiB gives back the buffer it borrowed, or a textbook
      // client kept 64 KiB while idle. (The read buffer cannot go back: the
      // read still pending holds it.)
      releaseWire(this.#wire!);
      state.phase = "reading";
    }
    return await read;
  }

  /**
   * Runs the requests the framer completes, while their answers fit the
   * buffer. Returns `true` once there are no more to run (or a request closed
   * the connection); `false` if it stopped early: the buffer is full, or a
   * request left a continuation in `#more`. Synchronous: the fast path.
   */
  #runRequests(): boolean {
    const { framer, request, out, context, writes } = this.#wire!;
    const trace = this.#trace;
    // Like redis after a reply that closes: no more buffered requests run.
    while (!context.session.closing) {
      if (out.length >= MAX_REUSED_OUT_BYTES) return false;
      if (!framer.next(request)) return true;
      if (trace !== undefined) trace.request(request, framer.endedWithoutNewline);
      const mark = out.length;
      const more = runRequest(this.#wire!);
      // A write queued by MULTI changed nothing yet: its QUEUED stays (EXEC's answer is the write's).
      if (
        writes !== undefined && request.command?.writes && context.session.transaction === undefined
      ) {
        writes.add(mark, out.length);
      }
      if (this.#config.verbose) this.#debug(requestLogLine(request, out.bytes().subarray(mark)));
      if (trace !== undefined) trace.answer(out.bytes(), mark, more !== undefined);
      if (more !== undefined) {
        this.#more = more;
        return false;
      }
    }
    return true;
  }

  /** Answers every request the framer completes, writing as the answers pass the buffer's size. */
  async #answer(): Promise<void> {
    if (!this.#runRequests()) await this.#answerRest();
    await this.#flush();
  }

  /**
   * The slow path of a batch: a continuation to step through, or answers
   * past the buffer's size. Writes them out in bounded pieces, then runs on.
   */
  async #answerRest(): Promise<void> {
    const { out, reply } = this.#wire!;
    do {
      const more = this.#more;
      this.#more = undefined;
      let steps = 0;
      while (more !== undefined && !more.step(reply)) {
        if (out.length >= MAX_REUSED_OUT_BYTES) await this.#flushRest();
        // A walk that writes little (a LIST of values the line protocol
        // cannot show) lets the others run as it goes.
        else if (++steps % STEPS_PER_TURN === 0) await this.#letOthersRun();
      }
      if (out.length >= MAX_REUSED_OUT_BYTES) await this.#flushRest();
    } while (!this.#runRequests());
  }

  /**
   * Writes a piece of a long answer: a client that reads at once never
   * makes these writes wait, so after a megabyte with no tick the others
   * get their turn (server/turn_share.ts), as they do after a megabyte read.
   */
  async #flushRest(): Promise<void> {
    const bytes = this.#wire!.out.length;
    await this.#flush();
    if (!this.#writeShare.spent(bytes)) return;
    await nextTurn();
    // Cut meanwhile (the shutdown's grace ran out): the rest could reach nobody.
    if (this.#state.phase === "closed") throw new Deno.errors.Interrupted("closed while answering");
  }

  /**
   * Lets the event loop turn in the middle of a batch. The batch's changes
   * so far are committed first: the store's writer may write them in that
   * turn, and a commit after it could miss them (Store.commit).
   */
  async #letOthersRun(): Promise<void> {
    const state = this.#state;
    const writes = this.#wire!.writes;
    if (writes?.waiting) {
      state.phase = "writing"; // Waiting for the disk is not idleness.
      await writes.commit();
      if (state.phase === "writing") state.phase = "working";
    }
    await afterIo();
    // Cut meanwhile (the shutdown's grace ran out): the rest of the walk
    // could reach nobody, and would hold the shutdown for as long as it takes.
    if (state.phase === "closed") throw new Deno.errors.Interrupted("closed while answering");
  }

  /** Writes every answer gathered so far, all of it. */
  async #flush(): Promise<void> {
    const { out, writes } = this.#wire!;
    if (out.length === 0) return;
    this.#state.phase = "writing";
    const committed = writes?.commit();
    if (committed !== undefined) await committed;
    if (!this.#wire!.context.session.authenticated) await this.#writeBeforeAuth(out.bytes());
    else await writeAll(this.#conn, out.bytes());
    if (this.#trace !== undefined) this.#trace.send(out.length);
    this.#wrote();
  }

  /** Writes answers to a client that has not authenticated: cut if it leaves them unread too long. */
  async #writeBeforeAuth(bytes: Uint8Array): Promise<void> {
    const ms = this.#config.handshakeTimeoutMs;
    if (await (this.#beforeAuth ??= new WritesBeforeAuth(ms)).write(this.#conn, bytes)) return;
    if (this.#config.verbose) {
      this.#debug(`not authenticated and not reading its answers for ${ms} ms: closing`);
    }
    // Cut, not closed: a TLS connection would let its last bytes drain for seconds more.
    (this.#conn as { cut?: () => void }).cut?.();
    throw new Deno.errors.Interrupted("answers not read before AUTH");
  }

  /** After a write: the buffer is reused, and idle time counts from the end of the last answer. */
  #wrote(): void {
    this.#wire!.out.clear();
    const state = this.#state;
    if (state.phase === "writing") state.phase = "working";
    if (this.#idle !== undefined) this.#idle.touch();
  }

  /** Whether it is making or writing answers: never idle then, however long it takes. */
  get #answering(): boolean {
    const phase = this.#state.phase;
    return phase === "working" || phase === "writing";
  }

  /**
   * Where a linger reads (ConnectionState.linger): a traced connection, into
   * its own buffer, so that the trace shows what came; any other, into the
   * buffer all lingering connections share.
   */
  get #lingerBuffer(): Uint8Array | undefined {
    return this.#trace === undefined ? undefined : this.#reads.next;
  }

  #debug(message: string): void {
    this.#log("debug", `#${this.id} ${message}`);
  }
}
