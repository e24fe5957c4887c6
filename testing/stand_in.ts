/**
 * {@linkcode standInConnection}: the server's connection loop over a
 * stand-in socket the test writes, for orders of events that real sockets
 * cannot be made to keep (a read that completes as shutdown begins, a
 * reset on the second read), or over a real one whose reads and writes the
 * test records (the buffers a connection reads into and writes from).
 *
 * @module
 */

import { Watches } from "../command/watch.ts";
import type { Logger } from "../net/log.ts";
import type { Tracer } from "../net/trace.ts";
import { Connection } from "../server/connection.ts";
import { BufferPool } from "../wire/buffer_pool.ts";
import { unbounded } from "../wire/pending_budget.ts";
import { MemoryStore } from "../store/memory.ts";
import { testContext } from "./store_harness.ts";

/** What the test gives of the socket: its reads, and (default: each taken whole) its writes. */
export interface StandInSocket {
  read(buffer: Uint8Array): Promise<number | null>;
  write?(bytes: Uint8Array): Promise<number>;
}

/**
 * A connection (id 1) over `socket`, on a new memory store, with no limits
 * in the way (lines of up to `maxLineBytes`, 1 KiB unless given; no unframed
 * pause unless `unframedPauseMs`), borrowing from `pool` (a new one unless given).
 */
export function standInConnection(
  socket: StandInSocket,
  options: {
    trace?: Tracer;
    log?: Logger;
    pool?: BufferPool;
    maxLineBytes?: number;
    unframedPauseMs?: number;
  } = {},
): { connection: Connection; store: MemoryStore } {
  const addr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 1 };
  const conn = {
    localAddr: addr,
    remoteAddr: { ...addr, port: 2 },
    read: (buffer: Uint8Array) => socket.read(buffer),
    write: (bytes: Uint8Array) => socket.write?.(bytes) ?? Promise.resolve(bytes.length),
    closeWrite: () => Promise.resolve(),
    close() {},
  } as unknown as Deno.Conn;
  const config = {
    maxLineBytes: options.maxLineBytes ?? 1024,
    idleTimeoutMs: 0,
    unframedPauseMs: options.unframedPauseMs ?? 0,
    handshakeTimeoutMs: 0,
    shutdownGraceMs: 0,
    verbose: false,
    trace: options.trace,
  };
  const store = new MemoryStore();
  const { clock, stats, guard } = testContext(store);
  const side = {
    store,
    clock,
    stats,
    guard,
    watches: new Watches(store),
    turns: { count: 0 },
    pool: options.pool ?? new BufferPool(),
    pending: unbounded(),
    answers: unbounded(),
  };
  const connection = new Connection(conn, 1, config, side, options.log ?? (() => {}));
  return { connection, store };
}
