/**
 * Every {@linkcode Store} in the repository held to the same contract
 * (testing/store_contract.ts): the in-memory store, the log store over it
 * (on a fake disk, for each fsync mode), and the test harness's watching
 * wrapper. A new backend adds one line here.
 *
 * @module
 */

import { FakeFs, ObservedStore } from "../testing/mod.ts";
import { storeContract } from "../testing/store_contract.ts";
import type { LogStore } from "./log.ts";
import { openLogWith } from "./log/open.ts";
import { MemoryStore } from "./memory.ts";

storeContract("MemoryStore", (clock) => new MemoryStore({ clock }));

for (const fsync of ["always", "everysec", "no"] as const) {
  storeContract(
    `LogStore (--fsync ${fsync}, on a fake disk)`,
    (clock) => openLogWith("/data/kv.log", { fsync, clock }, { fs: new FakeFs() }),
    (store) => (store as LogStore).close(),
  );
}

storeContract(
  "ObservedStore over a MemoryStore",
  (clock) => new ObservedStore(new MemoryStore({ clock })),
);
