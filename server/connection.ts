/**
 * One client's connection: the straight path from bytes read to bytes
 * written. Read a chunk, take each request the framer completes, run it,
 * reply, write; the limits of PROTOCOL.md (idle timeout, the unframed pause)
 * and the graceful end of a connection at shutdown.
 *
 * @module
 */

import type { Continuation } from "../command/command.ts";
import { executeAtOneTime, releaseQueued } from "../command/execute.ts";
import { formatAddr } from "../net/addr.ts";
import {
  afterIo,
  closeQuietly,
  describeError,
  isDisconnect,
  nextTurn,
  quiet,
  writeAll,
} from "../net/conn.ts";
import type { Tracer } from "../net/trace.ts";
import { WritesBeforeAuth } from "./before_auth.ts";
import { IdleTimer } from "./idle.ts";
import { LINGER_MAX_BYTES, LINGER_MAX_MS, LINGER_QUIET_MS } from "./linger.ts";
import type { Logger } from "../net/log.ts";
import { requestLogLine } from "./request_log.ts";
import { finishHandshake } from "./tls.ts";
import { ConnectionTrace } from "./trace.ts";
import { openWire, type ServerSide, type Wire } from "./wire.ts";

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

/**
 * Where a connection is. `reading`: waiting for bytes (shutdown half-closes
 * it at once, or closes it if it never spoke); `working`: running requests; `writing`: waiting for its answers
 * to drain (never idle); `lingering`: half-closed (at shutdown, or after
 * QUIT or an error that ends the connection), discarding what the client still
 * sends until it finishes; `closed`.
 */
type State = "reading" | "working" | "writing" | "lingering" | "closed";

// Reads start small and grow while they fill the buffer: a short-lived or
// idle connection costs 1 KiB (a storm of connects allocates little, so the
// garbage collector does not stall everyone), a pipelining one gets reads of
// up to 64 KiB.
const FIRST_READ_BYTES = 1024;
const MAX_READ_BYTES = 64 * 1024;
// Answers are written once they pass this size, and the rest of the read is
// answered after: a few bytes of pipelined GETs or LISTs may ask for many
// copies of a big value or of the whole store. The answer buffer is reused
// up to this size; a bigger one is dropped once written.
const MAX_REUSED_OUT_BYTES = 64 * 1024;
// A connection that has read this much within one tick of ServerSide.turns
// (10 ms) lets the event loop turn, so the others are served: its client
// pipelines without end and reads at once, so its reads never wait and the
// loop would not turn for it. A loaded server's connection reads a few KiB
// a tick; a lone client's, as fast as it can go, some tens. A long answer
// that writes little (a LIST's walk, 64 slots a step) lets the I/O
// callbacks run every so many steps.
const BYTES_PER_TURN = 1 << 20;
const STEPS_PER_TURN = 16;
// Where lingering connections read what they throw away.
const DISCARDED = new Uint8Array(MAX_READ_BYTES);

/** One client's connection. {@linkcode Connection.run} serves it to the end. */
export class Connection {
  readonly id: number;
  readonly #conn: Deno.Conn;
  readonly #config: ConnectionConfig;
  readonly #log: Logger;
  // Set by stop(): the server is shutting down (a plain field: read per batch).
  #stopping = false;
  readonly #server: ServerSide;
  // The wire, set up on the first bytes (a connection that never sends any,
  // as in a storm of connects and resets, costs no more than its socket).
  #wire: Wire | undefined;
  // The rest of an answer too large to build at once (LIST), while it is written.
  #more: Continuation | undefined;
  #buffer: Uint8Array | undefined;
  #state: State = "working";
  // While lingering: when it ends, whatever the client still sends.
  #lingerUntil = Infinity;
  // The read the connection waits on while `reading`: a shutdown's linger
  // takes it over (stop()), and then ends the connection (#stopped).
  #pendingRead: Promise<number | null> | undefined;
  #stopped: Promise<void> | undefined;
  // ServerSide.turns as last seen, and the bytes read since it changed.
  #seenTurn = -1;
  #readThisTurn = 0;
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
      if (this.#config.idleTimeoutMs > 0) this.#startIdleTimer(this.#config.idleTimeoutMs);
      await this.#serve();
    } catch (error) {
      if (this.#trace !== undefined) this.#trace.failed(error);
      if (!this.#peersDoing(error)) {
        this.#log("error", `#${this.id} failed: ${describeError(error)}`);
      } else if (this.#config.verbose && this.#state !== "closed") {
        this.#debug(`dropped: ${describeError(error)}`);
      }
    } finally {
      this.#idle?.stop();
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
      if (this.#config.verbose) this.#debug("closed");
      ended(this);
    }
  }

  /**
   * Whether an error that ended the connection was the client's doing: it
   * went away, or (over TLS) it sent a record that does not decrypt, or an
   * alert. Those are logged only with --verbose: a line each at error level
   * would let any client fill the log.
   */
  #peersDoing(error: unknown): boolean {
    return isDisconnect(error) ||
      ("handshake" in this.#conn && error instanceof Deno.errors.InvalidData);
  }

  /** Finishes a TLS handshake in time (server/tls.ts). Returns whether the connection can go on. */
  async #handshake(conn: Deno.TlsConn): Promise<boolean> {
    this.#state = "reading"; // Shutdown may close it meanwhile.
    const failed = await finishHandshake(conn, this.#config);
    if (failed === undefined) {
      if (this.#state === "reading") this.#state = "working";
      return true;
    }
    if (this.#config.verbose) this.#debug(failed);
    return false;
  }

  /**
   * Shutdown: a busy connection finishes its answers, then half-closes and
   * lingers; one waiting for bytes half-closes and lingers now, and what its
   * read brings is not run; one that never sent a byte (or is in its TLS
   * handshake) closes now.
   */
  stop(): void {
    this.#stopping = true;
    if (this.#state === "reading") {
      // Its answers are written, but perhaps not yet delivered, and its client
      // may be between two bursts: closing would reset the connection when
      // the next one came, and the reset throws away what is still on its
      // way. It ends as a request had ended it (within half the grace).
      const linger = this.#wire !== undefined && this.#pendingRead !== undefined;
      if (this.#trace !== undefined) this.#trace.stop(linger ? "half-close" : "close");
      if (!linger) this.close();
      else {
        this.#stopped = this.#linger(true, this.#pendingRead)
          .catch(() => {}) // The client went away meanwhile: over all the same.
          .finally(() => this.close());
      }
    } else if (this.#trace !== undefined) this.#trace.stop("finish");
    // Lingering after QUIT or an error that ends it: it ends within half the grace,
    // so a client that goes on sending does not hold the shutdown.
    if (this.#state === "lingering") {
      this.#lingerUntil = Math.min(this.#lingerUntil, performance.now() + this.#shutdownLingerMs);
    }
  }

  /**
   * Cuts the connection now: the shutdown's grace ran out. Unlike
   * {@linkcode Connection.close}, a TLS connection's last bytes are not let
   * drain, even if the connection closed already and only they are left.
   * Returns whether anything was still open.
   */
  cut(): boolean {
    const draining = (this.#conn as { cut?: () => boolean }).cut?.() ?? false;
    return this.close() || draining;
  }

  /** Closes the socket, once; returns whether this call closed it. A pending read or write then rejects. */
  close(): boolean {
    if (this.#state === "closed") return false;
    this.#state = "closed";
    closeQuietly(this.#conn);
    return true;
  }

  /**
   * Read, frame, run, reply, write: until the client ends, quits, or the
   * server stops. The common path (a read, its requests, one write) is kept
   * in this one function, with no helper promise per read: it runs once per
   * read, and each await costs a turn of the microtask queue.
   */
  async #serve(): Promise<void> {
    const conn = this.#conn;
    while (!this.#stopping) {
      const buffer = this.#buffer ??= new Uint8Array(FIRST_READ_BYTES);
      this.#state = "reading";
      let n: number | null;
      if (this.#wire?.framer.awaitsUnframed && this.#config.unframedPauseMs > 0) {
        const read = await this.#readUnframed(buffer);
        if (read === "done") return;
        n = read;
      } else {
        n = await (this.#pendingRead = conn.read(buffer));
      }
      if (this.#state === "reading") this.#state = "working";
      // Shutdown closed it, or half-closed it to linger, while this read
      // was completing: what came is not run, since its answers could not
      // reach the client.
      else if (this.#state === "closed") return;
      else if (this.#stopped !== undefined) return await this.#stopped;
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
      // Reads grow while they fill the buffer (see FIRST_READ_BYTES).
      if (n === buffer.length && n < MAX_READ_BYTES) this.#buffer = new Uint8Array(2 * n);
      const wire = this.#wire ??= openWire(
        buffer[0]!,
        conn,
        this.id,
        this.#config.maxLineBytes,
        MAX_REUSED_OUT_BYTES,
        this.#server,
      );
      wire.framer.feed(buffer.subarray(0, n));
      if (!this.#runRequests()) await this.#answerRest();
      const out = wire.out;
      if (out.length > 0) {
        this.#state = "writing";
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
        await this.#linger(true);
        return;
      }
      const turns = this.#server.turns.count;
      if (turns !== this.#seenTurn) {
        this.#seenTurn = turns;
        this.#readThisTurn = n;
      } else if ((this.#readThisTurn += n) > BYTES_PER_TURN) {
        this.#readThisTurn = 0;
        await nextTurn(); // Much read, and no tick: the others' turn.
      }
    }
    await this.#linger(false);
  }

  /**
   * Reads the next chunk of a client that has never sent `\n` and has a
   * partial line waiting (PROTOCOL.md, Unframed clients): the read races the
   * pause, and if the line sits unchanged that long, it is answered as a
   * request while the read goes on. "done" if that ended the connection.
   */
  async #readUnframed(buffer: Uint8Array): Promise<number | null | "done"> {
    const read = this.#pendingRead = this.#conn.read(buffer);
    // A shutdown that came meanwhile took the read over: nothing is answered.
    if (await quiet(read, this.#config.unframedPauseMs) && this.#state === "reading") {
      if (this.#trace !== undefined) {
        this.#trace.pause(this.#config.unframedPauseMs, this.#wire!.framer.pendingBytes);
      }
      this.#state = "working";
      this.#wire!.framer.end();
      await this.#answer();
      if (this.#wire!.context.session.closing || this.#stopping) {
        read.catch(() => {}); // Rejects once we close the conn: expected.
        return "done";
      }
      this.#state = "reading";
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
    const { framer, request, out, reply, context, writes } = this.#wire!;
    const trace = this.#trace;
    // Like redis after a reply that closes: no more buffered requests run.
    while (!context.session.closing) {
      if (out.length >= MAX_REUSED_OUT_BYTES) return false;
      if (!framer.next(request)) return true;
      if (trace !== undefined) trace.request(request, framer.endedWithoutNewline);
      const mark = out.length;
      const more = executeAtOneTime(request, context, reply);
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
        if (out.length >= MAX_REUSED_OUT_BYTES) await this.#flush();
        // A walk that writes little (a LIST of values the line protocol
        // cannot show) lets the others run as it goes.
        else if (++steps % STEPS_PER_TURN === 0) await this.#letOthersRun();
      }
      if (out.length >= MAX_REUSED_OUT_BYTES) await this.#flush();
    } while (!this.#runRequests());
  }

  /**
   * Lets the event loop turn in the middle of a batch. The batch's changes
   * so far are committed first: the store's writer may write them in that
   * turn, and a commit after it could miss them (Store.commit).
   */
  async #letOthersRun(): Promise<void> {
    const writes = this.#wire!.writes;
    if (writes?.waiting) {
      this.#state = "writing"; // Waiting for the disk is not idleness.
      await writes.commit();
      this.#state = "working";
    }
    await afterIo();
  }

  /** Writes every answer gathered so far, all of it. */
  async #flush(): Promise<void> {
    const { out, writes } = this.#wire!;
    if (out.length === 0) return;
    this.#state = "writing";
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
    if (this.#state === "writing") this.#state = "working";
    if (this.#idle !== undefined) this.#idle.touch();
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
   */
  async #linger(ended: boolean, pending?: Promise<number | null>): Promise<void> {
    this.#state = "lingering";
    await this.#conn.closeWrite();
    if (this.#trace !== undefined) this.#trace.halfClose();
    // Big reads, so that what is thrown away costs little per byte, into
    // one buffer all lingering connections share (a trace shows what came,
    // so a traced one reads into its own).
    const buffer = this.#trace === undefined
      ? DISCARDED
      : this.#buffer ??= new Uint8Array(FIRST_READ_BYTES);
    const ms = ended && this.#stopping ? this.#shutdownLingerMs : LINGER_MAX_MS;
    this.#lingerUntil = Math.min(this.#lingerUntil, performance.now() + ms);
    for (
      let discarded = 0;
      discarded < LINGER_MAX_BYTES && performance.now() < this.#lingerUntil;
    ) {
      const read = pending ?? this.#conn.read(buffer);
      pending = undefined;
      // Quiet for LINGER_QUIET_MS, or until the linger's end if that is sooner.
      if (await quiet(read, Math.min(LINGER_QUIET_MS, this.#lingerUntil - performance.now()))) {
        read.catch(() => {}); // Rejects once we close the conn: expected.
        return;
      }
      const n = await read;
      if (this.#trace !== undefined) this.#trace.lingered(buffer, n, this.#stopping);
      if (n === null) return;
      discarded += n;
    }
  }

  /** Closes the connection once it has been silent `ms` (its answers draining is not silence). */
  #startIdleTimer(ms: number): void {
    this.#idle = new IdleTimer(ms, () => this.#state === "writing", (silentMs) => {
      if (this.#config.verbose) this.#debug(`idle for ${silentMs} ms, closing`);
      if (this.#trace !== undefined) this.#trace.idle(silentMs);
      this.close();
    });
  }

  /** How long a linger after QUIT or an error may go on once a shutdown began: half the grace. */
  get #shutdownLingerMs(): number {
    return this.#config.shutdownGraceMs / 2;
  }

  #debug(message: string): void {
    this.#log("debug", `#${this.id} ${message}`);
  }
}
