/**
 * {@linkcode serve}: the server. It owns the listener and what spans
 * connections: the accept loop, the connection limit and its refusals
 * (server/refusals.ts), one {@linkcode Connection} per client, the UDP
 * socket (`--udp`), the store's expiry sweep (server/sweep.ts), and
 * graceful shutdown. What a request means is the command table's
 * business; what its bytes look like, the wire's.
 *
 * @module
 */

import { closeQuietly, isClientGone, MAX_TIMER_MS } from "../net/conn.ts";
import { type Clock, SYSTEM_CLOCK } from "../store/clock.ts";
import { MemoryStore } from "../store/memory.ts";
import type { Store } from "../store/store.ts";
import type { Guard, ServerStats } from "../command/command.ts";
import { AcceptFailures } from "./accept_log.ts";
import { wholeMsClock } from "./clock_check.ts";
import { Connection } from "./connection.ts";
import { newGuard } from "./guard.ts";
import { bind, DatagramBindError, listenDatagrams } from "./listen.ts";
import { newRefusalLog, Refusals } from "./refusals.ts";
import { ExpirySweep } from "./sweep.ts";
import { type Acceptor, newHandshakeLog } from "./tls.ts";
import { logAll, logErrors, type Logger } from "../net/log.ts";
import { ServerTrace } from "./trace.ts";
import {
  type Config,
  MAX_LINE_BYTES_LIMIT,
  resolve,
  resolveAddress,
  SERVE_DEFAULTS,
  type ServeOptions,
} from "./options.ts";
import { DatagramServer } from "./udp.ts";
import type { ServerSide } from "./wire.ts";
import { BufferPool } from "../wire/buffer_pool.ts";
import { PendingBudget } from "../wire/pending_budget.ts";
import { Watches } from "../command/watch.ts";

export { MAX_LINE_BYTES_LIMIT, SERVE_DEFAULTS, type ServeOptions };
// The error serve() throws for an exposed server, for `kv/server`'s importers to tell apart.
export { ExposureError } from "./listen.ts";
// The types ServeOptions and serveListener() name, for `kv/server`'s importers.
export type { Acceptor } from "./tls.ts";
export type { TlsOptions } from "./listen.ts";
export type { Logger, LogLevel } from "../net/log.ts";
export type { TraceEvent, Tracer } from "../net/trace.ts";
export type { Clock } from "../store/clock.ts";
export type {
  ChangeListener,
  PairVisitor,
  Store,
  StoreInfo,
  ValueSink,
  WriteOptions,
} from "../store/store.ts";

/** How a server ended. */
export interface ServeResult {
  /** Connections still open when the shutdown grace ran out, and cut. */
  connectionsCut: number;
}

/** A running server, shaped like `Deno.serve`'s `HttpServer`. */
export interface KvServer extends AsyncDisposable {
  /** The address it listens on, with the real port. */
  readonly addr: Deno.NetAddr;
  /** The address of its UDP socket, when it serves datagrams (`udp`). */
  readonly udpAddr: Deno.NetAddr | undefined;
  /** Settles once the listener is closed and every connection has ended. */
  readonly finished: Promise<ServeResult>;
  /**
   * Starts a graceful shutdown (as aborting `signal` does) and waits for it.
   * Requests already read are answered; a connection waiting for its next
   * request is half-closed at once (and closed once its client is quiet or
   * closes), so a request not read yet (one a client in this process sent
   * in the same tick) is not run, and that client sees the connection end.
   */
  shutdown(): Promise<ServeResult>;
}

// After a failed accept (say, out of file descriptors) wait before trying
// again, doubling up to the maximum, instead of spinning. What is logged of
// the failures: server/accept_log.ts.
const ACCEPT_BACKOFF_MS = { first: 5, max: 1_000 };
// How often ServerSide.turns counts up (while the event loop turns).
const TURN_TICK_MS = 10;
// How often serve() with port 0 and udp picks a new port when the UDP one is taken.
const UDP_PORT_TRIES = 5;

/**
 * Starts a kv server on `hostname:port`; it is listening when this returns.
 * Throws `RangeError` for a limit, port or host name out of range, {@linkcode ExposureError}
 * for a `hostname` beyond loopback with no `password` (nor `noAuth`),
 * `TypeError` for `udp` without Deno's `--unstable-net`, and what
 * `Deno.listen` throws (`AddrInUse`, `NotCapable`, ...) if it cannot bind, or
 * `Deno.listenTls` for a certificate it cannot use; after that, nothing a
 * client does makes it throw. Shut it down (`await using`, or
 * {@linkcode KvServer.shutdown}) before a test ends: its listener and timers
 * are open until then.
 *
 * @example
 * ```ts
 * import { KvClient, serve } from "kv";
 * await using server = serve({ port: 0 });
 * await using client = await KvClient.connect({ port: server.addr.port });
 * await client.put("name", "yyjun");
 * ```
 */
export function serve(options?: ServeOptions): KvServer {
  options ??= {};
  const config = resolve(options);
  const { hostname, port } = resolveAddress(options);
  for (let tries = 1;; tries++) {
    const listener = bind({
      hostname,
      port,
      tls: options.tls,
      password: options.password !== undefined,
      noAuth: options.noAuth ?? false,
    });
    if (!options.udp) return new Server(listener, config, options, undefined);
    try {
      return new Server(listener, config, options, listenDatagrams(listener.addr as Deno.NetAddr));
    } catch (error) {
      closeQuietly(listener);
      // With port 0, the free TCP port the OS picked may be taken for UDP: pick again.
      if (
        port !== 0 || tries === UDP_PORT_TRIES ||
        !(error instanceof DatagramBindError && error.cause instanceof Deno.errors.AddrInUse)
      ) {
        throw error;
      }
    }
  }
}

/**
 * Serves kv on a listener the caller made (a TCP or TLS listener, or one a
 * test wraps), as mini-redis's `run(listener, shutdown)` does. The server
 * closes the listener when it shuts down.
 */
export function serveListener(listener: Acceptor, options?: ServeOptions): KvServer {
  options ??= {};
  const config = resolve(options);
  if (!options.udp) return new Server(listener, config, options, undefined);
  return new Server(listener, config, options, listenDatagrams(listener.addr as Deno.NetAddr));
}

class Server implements KvServer {
  readonly addr: Deno.NetAddr;
  readonly udpAddr: Deno.NetAddr | undefined;
  readonly finished: Promise<ServeResult>;
  readonly #listener: Acceptor;
  readonly #config: Config;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #sweep: ExpirySweep | undefined;
  readonly #ticker: ReturnType<typeof setInterval>;
  readonly #stats: ServerStats;
  // The keys Redis clients WATCH: a line PUT, over TCP or UDP, changes them too.
  readonly #watches: Watches;
  readonly #guard: Guard;
  // What every connection's requests run against.
  readonly #side: ServerSide;
  readonly #connections = new Set<Connection>();
  // Refusals still writing their error line: awaited at shutdown too, and
  // cut when its grace runs out.
  readonly #refusals: Refusals;
  // Failed accepts (out of file descriptors, say): logged once a run, not once each.
  readonly #acceptFailures: AcceptFailures;
  // Logs a refusal, a few a minute (server/refusals.ts).
  readonly #refusalLog: (id: number, open: number) => void;
  readonly #stop = new AbortController();
  #nextId = 1;
  #connectionsCut = 0;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #allClosed: PromiseWithResolvers<void> | undefined;
  readonly #udp: DatagramServer | undefined;
  readonly #trace: ServerTrace | undefined;

  constructor(
    listener: Acceptor,
    config: Config,
    options: ServeOptions,
    datagrams: Deno.DatagramConn | undefined,
  ) {
    this.#listener = listener;
    this.addr = listener.addr as Deno.NetAddr;
    this.#config = config;
    this.#refusals = new Refusals(config);
    // verbose with no logger of its own: the lines it asked for must show somewhere.
    this.#log = options.log ?? (config.verbose ? logAll : logErrors);
    // One clock for the store's expiry and the TTLs the server counts
    // (resolve() refused two different ones), read in whole milliseconds.
    const clock = options.clock ?? options.store?.clock ?? SYSTEM_CLOCK;
    this.#clock = wholeMsClock(clock, this.#log);
    this.#store = options.store ?? new MemoryStore({ clock: this.#clock });
    this.#watches = new Watches(this.#store);
    this.#refusalLog = newRefusalLog(this.#log, () => this.#clock.now(), config.verbose);
    const connections = this.#connections;
    this.#stats = {
      startedAt: this.#clock.now(),
      port: this.addr.port,
      connectionsReceived: 0,
      connectionsRejected: 0,
      commandsProcessed: 0,
      keyspaceHits: 0,
      keyspaceMisses: 0,
      authFailures: 0,
      queuedBytes: 0,
      connectedClients: () => connections.size,
      maxClients: config.maxConnections,
      maxRequestBytes: config.maxLineBytes,
      // A store that makes changes durable (kv serve --data) is Redis's AOF.
      persistent: this.#store.commit !== undefined,
    };
    const log = this.#log;
    this.#acceptFailures = new AcceptFailures(log);
    this.#guard = newGuard(options.password, this.#stats, this.#clock, log);
    this.#side = {
      store: this.#store,
      clock: this.#clock,
      stats: this.#stats,
      guard: this.#guard,
      watches: this.#watches,
      turns: { count: 0 },
      pool: new BufferPool(),
      pending: new PendingBudget(config.maxPendingBytes),
      answers: new PendingBudget(config.maxAnswerBytes),
      handshakeFailed: newHandshakeLog(log, () => this.#clock.now()),
    };
    const turns = this.#side.turns;
    this.#ticker = setInterval(() => turns.count++, TURN_TICK_MS);
    if (config.trace !== undefined) {
      this.#trace = new ServerTrace(config.trace);
      this.#trace.listen(this.addr);
    }
    if (datagrams !== undefined) {
      this.#udp = new DatagramServer(datagrams, { ...config, ...this.#side, log: this.#log });
      this.udpAddr = this.#udp.addr;
      if (this.#trace !== undefined) this.#trace.bind(this.udpAddr);
    }
    // The clock itself: a ManualClock's moves sweep at once (its onAdvance).
    if (this.#store.sweep !== undefined) this.#sweep = new ExpirySweep(this.#store, clock);
    const signal = options.signal;
    const onAbort = () => this.#beginShutdown();
    if (signal?.aborted) this.#beginShutdown();
    signal?.addEventListener("abort", onAbort, { once: true });
    this.finished = this.#run().finally(() => signal?.removeEventListener("abort", onAbort));
  }

  shutdown(): Promise<ServeResult> {
    this.#beginShutdown();
    return this.finished;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  async #run(): Promise<ServeResult> {
    await this.#acceptLoop();
    if (this.#connections.size > 0) {
      this.#allClosed = Promise.withResolvers();
      await this.#allClosed.promise;
    }
    await this.#refusals.finished();
    await this.#udp?.finished;
    clearTimeout(this.#graceTimer);
    this.#sweep?.stop();
    clearInterval(this.#ticker);
    if (this.#trace !== undefined) this.#trace.shutdown("done (every connection closed)");
    return { connectionsCut: this.#connectionsCut };
  }

  async #acceptLoop(): Promise<void> {
    const stop = this.#stop.signal;
    const listener = this.#listener;
    let backoffMs = 0;
    // The next accept is asked for before this connection is set up: the
    // call takes a waiting connection off the backlog at once, so a storm of
    // connects drains as fast as they can be set up, instead of one per turn
    // of the event loop (measured: BENCHMARKS.md, Connection churn).
    let next = listener.accept();
    try {
      while (!stop.aborted) {
        let conn: Deno.Conn;
        try {
          conn = await next;
          backoffMs = 0;
        } catch (error) {
          if (stop.aborted || error instanceof Deno.errors.BadResource) return;
          // A client that connects and resets at once surfaces here as
          // NotConnected (Deno 2.9); it is that client's loss, not ours.
          if (!isClientGone(error)) {
            backoffMs = Math.min(ACCEPT_BACKOFF_MS.max, backoffMs * 2 || ACCEPT_BACKOFF_MS.first);
            this.#acceptFailures.failed(error, this.#connections.size);
            await sleep(backoffMs, stop);
            if (stop.aborted) return;
          }
          next = listener.accept();
          continue;
        }
        if (stop.aborted) {
          // Accepted just as the shutdown began, too late to be stopped by it.
          closeQuietly(conn);
          return;
        }
        next = listener.accept();
        const id = this.#nextId++;
        if (this.#connections.size >= this.#config.maxConnections) this.#refuse(conn, id);
        else {
          this.#stats.connectionsReceived++;
          this.#admit(conn, id);
        }
        this.#acceptFailures.accepted(this.#connections.size);
      }
    } finally {
      // Settles once the listener is closed; nothing may be left pending.
      const last = await next.catch(() => undefined);
      if (last !== undefined) closeQuietly(last);
    }
  }

  /** A client past the limit: counted, logged (20 a minute), answered with an error line (refusals.ts). */
  #refuse(conn: Deno.Conn, id: number): void {
    this.#stats.connectionsRejected++;
    this.#refusalLog(id, this.#connections.size);
    this.#refusals.refuse(conn);
  }

  #admit(conn: Deno.Conn, id: number): void {
    const connection = new Connection(
      conn,
      id,
      this.#config,
      this.#side,
      this.#log,
    );
    this.#connections.add(connection);
    // Not awaited: run() never rejects (an unhandled rejection would end the
    // whole process, STYLE.md 5), and says when it has ended.
    connection.run(this.#forget);
  }

  readonly #forget = (connection: Connection): void => {
    this.#connections.delete(connection);
    if (this.#connections.size === 0) this.#allClosed?.resolve();
  };

  #beginShutdown(): void {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    closeQuietly(this.#listener);
    this.#udp?.close();
    if (this.#trace !== undefined) {
      this.#trace.shutdown(
        `open=${this.#connections.size} (listener${
          this.#udp ? " and UDP socket" : ""
        } closed: no new clients)`,
      );
    }
    for (const connection of this.#connections) connection.stop();
    if (this.#connections.size > 0 || this.#refusals.size > 0) {
      this.#graceTimer = setTimeout(() => {
        if (this.#trace !== undefined) {
          this.#trace.shutdown(`grace ran out: cutting open=${this.#connections.size}`);
        }
        for (const connection of this.#connections) {
          // One that stop() already closed is just slow to notice: not cut,
          // unless its TLS front still drains its last bytes (a client that
          // does not read them): that is cut now too, or it would hold the
          // exit for up to 5 s more.
          if (connection.cut()) this.#connectionsCut++;
        }
        this.#refusals.cut();
      }, Math.min(this.#config.shutdownGraceMs, MAX_TIMER_MS));
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
