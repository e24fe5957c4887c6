/**
 * Microbenchmarks of a connection's loop (`deno task bench`), with no
 * socket: a stand-in conn hands out 10,000 pipelined GETs and PUTs as fast
 * as the loop reads them, and swallows the answers. It measures what
 * `server/connection.ts` adds to the line protocol's work, and what
 * `--trace` costs: off, it must cost nothing (compare with a run on a
 * commit before tracing); on, every socket event becomes an event object;
 * and what `--data` costs (its log on a fake disk, so the JavaScript side
 * only). Without `--data` that must cost nothing either.
 * Time per request is the figure / 10,000.
 *
 * @module
 */

import type { TraceEvent } from "../net/trace.ts";
import { SYSTEM_CLOCK } from "../store/clock.ts";
import { openLogWith } from "../store/log/open.ts";
import { MemoryStore } from "../store/memory.ts";
import type { Store } from "../store/store.ts";
import { TextStore } from "../store/text.ts";
import { FakeFs, testContext } from "../testing/mod.ts";
import { Watches } from "../command/watch.ts";
import { Sfc32 } from "../bench/random.ts";
import { Connection } from "./connection.ts";
import { BufferPool } from "../wire/buffer_pool.ts";
import { unbounded } from "../wire/pending_budget.ts";

const REQUESTS = 10_000;
const KEYS = 10_000;
const encoder = new TextEncoder();
/** GETs and PUTs in turn, of the keys `keyOf(i)` gives, as one stream of lines. */
function requests(keyOf: (i: number) => number): Uint8Array {
  return encoder.encode(
    Array.from(
      { length: REQUESTS },
      (_, i) =>
        i % 2 === 0 ? `GET, key:${keyOf(i)}\n` : `PUT, key:${keyOf(i)}, ${"v".repeat(16)}\n`,
    ).join(""),
  );
}
// Keys in order: each request's record follows the last one's in the arena.
const inOrder = requests((i) => i % KEYS);
// Keys drawn at random, as loadgen draws them: each request's slot and
// record are somewhere else in memory, as under real load.
const random = new Sfc32(1, 0);
const atRandom = requests(() => random.next() % KEYS);
const LINE_WRITE = { lineText: true };
const store = new MemoryStore();
const text = new TextStore(store);
// Preloaded as a PUT would store them (line text), as loadgen's preload does.
for (let i = 0; i < KEYS; i++) text.set(`key:${i}`, "v".repeat(16), LINE_WRITE);
const { stats, guard } = testContext(store);
const addr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 12000 };

// Every answer byte feeds this module-level sum, so nothing can be optimised away.
let sink = 0;

/**
 * A conn that reads `stream` in pieces as large as the buffer offered (at
 * most `batch` bytes), then the end.
 */
function streamConn(stream: Uint8Array, batch: number): Deno.Conn {
  let at = 0;
  const conn = {
    localAddr: addr,
    remoteAddr: addr,
    read(buffer: Uint8Array): Promise<number | null> {
      if (at === stream.length) return Promise.resolve(null);
      const n = Math.min(buffer.length, stream.length - at, batch);
      buffer.set(stream.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
    write(bytes: Uint8Array): Promise<number> {
      sink += bytes.length;
      return Promise.resolve(bytes.length);
    },
    close() {},
  };
  return conn as unknown as Deno.Conn;
}

function serveStream(
  trace?: (event: TraceEvent) => void,
  on: Store = store,
  stream = inOrder,
  batch = Infinity,
): Promise<void> {
  const config = {
    maxLineBytes: 1_048_576,
    idleTimeoutMs: 0,
    unframedPauseMs: 0,
    handshakeTimeoutMs: 0,
    shutdownGraceMs: 0,
    verbose: false,
  };
  const connection = new Connection(
    streamConn(stream, batch),
    1,
    trace === undefined ? config : { ...config, trace },
    {
      store: on,
      clock: SYSTEM_CLOCK,
      stats,
      guard,
      watches: new Watches(on),
      turns: { count: 0 },
      pool: new BufferPool(),
      pending: unbounded(),
      answers: unbounded(),
    },
    () => {},
  );
  return new Promise((resolve) => connection.run(() => resolve()));
}

Deno.bench({
  name: "connection: 10,000 pipelined GET/PUT through the loop, --trace off",
  group: "connection",
  baseline: true,
  fn: async () => {
    await serveStream();
  },
});

Deno.bench({
  name: "connection: the same with keys drawn at random (as loadgen does)",
  group: "connection",
  fn: async () => {
    await serveStream(undefined, store, atRandom);
  },
});

// Reads of 560 bytes, each all there was (16 requests, as under (ii)): the
// connection gives back what it borrowed after every one, which must cost
// nothing when it borrowed nothing.
Deno.bench({
  name: "connection: the same in reads of 16 requests, each drained (as under (ii))",
  group: "connection",
  fn: async () => {
    await serveStream(undefined, store, inOrder, 560);
  },
});

Deno.bench({
  name: "connection: the same with --trace on (events made, then dropped)",
  group: "connection",
  fn: async () => {
    await serveStream((event) => {
      sink += event.detail.length;
    });
  },
});

// The same store kept in a log (kv serve --data, everysec) on an in-memory
// file system: what logging adds to the loop, with one write per batch.
const logged = await openLogWith("/bench/kv.log", {
  fsync: "everysec",
  compactMinBytes: 2 ** 40,
  newStore: () => new MemoryStore(),
}, { fs: new FakeFs() });
for (let i = 0; i < KEYS; i++) new TextStore(logged).set(`key:${i}`, "v".repeat(16), LINE_WRITE);
await logged.commit();

Deno.bench({
  name: "connection: the same on a log store (--data, --fsync everysec, a fake disk)",
  group: "connection",
  fn: async () => {
    await serveStream(undefined, logged);
  },
});

addEventListener("unload", () => {
  if (sink < 0) throw new Error("unreachable");
});
