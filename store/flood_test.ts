/**
 * Hash flooding: keys crafted to collide cost no more than random keys.
 *
 * FNV-1a, the store's hash before, admits multicollisions: two short blocks
 * that lead one state to the same next state can be found by a birthday
 * search, and chaining k such pairs (Joux's construction) gives 2^k keys with
 * one full 32-bit hash. The test crafts 2,048 such keys (for the seed it
 * knows: an attacker of FNV knows as much, since its structure needs no
 * seed to be attacked) and checks that in the store, keyed with SipHash and a
 * secret, they spread like random keys. Pure.
 */

import { assert, assertEquals } from "@std/assert";
import { craftCollisions, fnv1a, FNV_OFFSET } from "../testing/flood.ts";
import { MemoryStore } from "./memory.ts";

const encoder = new TextEncoder();

function fill(keys: string[]): MemoryStore {
  const store = new MemoryStore();
  for (const key of keys) {
    const bytes = encoder.encode(key);
    store.set(bytes, 0, bytes.length, bytes, 0, 1);
  }
  return store;
}

Deno.test({
  name: "MemoryStore spreads keys crafted to collide under FNV-1a like random keys",
  permissions: "none",
  fn: () => {
    const start = FNV_OFFSET ^ 0x5eed;
    const crafted = craftCollisions(start, 11);
    assertEquals(crafted.length, 2048);
    assertEquals(new Set(crafted).size, 2048);
    const hashes = new Set(crafted.map((key) => fnv1a(start, key)));
    assertEquals(hashes.size, 1, "under FNV-1a they all share one hash: one slot, probes of 2,047");
    let seed = 99;
    const random = Array.from({ length: 2048 }, () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return `r${seed.toString(36)}`.padEnd(crafted[0]!.length, "x");
    });
    const craftedProbe = fill(crafted).longestProbe();
    const randomProbe = fill(random).longestProbe();
    // With a keyed hash, the longest probe of n keys at load <= 1/2 is a few
    // dozen slots at the very worst; a shared hash would make it n - 1.
    assert(craftedProbe < 64, `crafted keys: a probe of ${craftedProbe} slots`);
    assert(randomProbe < 64, `random keys: a probe of ${randomProbe} slots`);
  },
});

Deno.test({
  name: "MemoryStore lets no probe chain grow by inserting and deleting (tombstones)",
  permissions: "none",
  fn: () => {
    const store = new MemoryStore();
    const live = new Set<string>();
    let seed = 3;
    for (let step = 0; step < 200_000; step++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const key = encoder.encode(`k${seed % 5000}`);
      const text = `k${seed % 5000}`;
      if (live.has(text)) {
        store.delete(key, 0, key.length);
        live.delete(text);
      } else {
        store.set(key, 0, key.length, key, 0, key.length);
        live.add(text);
      }
    }
    assertEquals(store.size, live.size);
    // Tombstones count against the load: the table is rebuilt, dropping
    // them, before live keys and tombstones together pass half of it.
    assert(store.longestProbe() < 64, `a probe of ${store.longestProbe()} slots`);
  },
});
