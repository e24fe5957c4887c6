/**
 * Microbenchmarks of the log's cost per change (`deno task bench`): 1,000
 * PUTs of 16-byte values over 10k keys, on the memory store alone and on
 * a log store over it (on an in-memory file system, so the figure is the
 * JavaScript side: the undo note, the record with its two CRC-32Cs, one
 * write per batch), and the cost of loading records back.
 *
 * @module
 */

import { MemoryStore } from "./memory.ts";
import { openLogWith } from "./log/open.ts";
import { FakeFs } from "../testing/fake_fs.ts";
import type { Store } from "./store.ts";

const BATCH = 1_000;
const KEYS = 10_000;
const encoder = new TextEncoder();
const keys = Array.from({ length: KEYS }, (_, i) => encoder.encode(`key:${i}`));
const values = Array.from({ length: 16 }, (_, i) => encoder.encode(`value-${i}`.padEnd(16, "v")));
const LINE = { lineText: true };

function fill(store: Store): void {
  for (let i = 0; i < KEYS; i++) {
    const value = values[i % values.length]!;
    store.set(keys[i]!, 0, keys[i]!.length, value, 0, value.length, LINE);
  }
}

let round = 0;
function puts(store: Store): void {
  round++;
  for (let i = 0; i < BATCH; i++) {
    const key = keys[(i * 7_919 + round) % KEYS]!;
    const value = values[(i + round) % values.length]!;
    store.set(key, 0, key.length, value, 0, value.length, LINE);
  }
}

const memory = new MemoryStore();
fill(memory);
const fs = new FakeFs();
const log = await openLogWith("/bench/kv.log", { fsync: "no", compactMinBytes: 2 ** 40 }, { fs });
fill(log);
await log.commit();

Deno.bench({
  name: "1,000 PUTs on the memory store",
  group: "put",
  baseline: true,
  fn() {
    puts(memory);
  },
});

Deno.bench({
  name: "1,000 PUTs on a log store over it, and their commit (one write)",
  group: "put",
  async fn() {
    puts(log);
    await log.commit();
  },
});

// Loading: a log of 10k sets, replayed into a fresh store.
const loadFs = new FakeFs();
const source = await openLogWith("/bench/load.log", { fsync: "no" }, { fs: loadFs });
fill(source);
await source.close();

Deno.bench({
  name: "openLog(): load 10,000 records",
  group: "load",
  async fn() {
    const loaded = await openLogWith("/bench/load.log", { fsync: "no" }, { fs: loadFs });
    await loaded.close();
  },
});
