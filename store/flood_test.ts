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
import { MemoryStore } from "./memory.ts";

const encoder = new TextEncoder();
const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over `text`'s bytes from `state` (the store's old hash, seeded by the start state). */
function fnv1a(state: number, text: string): number {
  let hash = state;
  for (const byte of encoder.encode(text)) hash = Math.imul(hash ^ byte, FNV_PRIME);
  return hash >>> 0;
}

/** 2^levels keys of valid UTF-8 letters and digits that share one FNV-1a hash from `start`. */
function craftCollisions(start: number, levels: number): string[] {
  let seed = 1;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const block = () => Array.from({ length: 4 }, () => ALPHABET[Math.floor(random() * 62)]).join("");
  let state = start;
  let keys = [""];
  for (let level = 0; level < levels; level++) {
    const seen = new Map<number, string>();
    for (;;) {
      const candidate = block();
      const next = fnv1a(state, candidate);
      const other = seen.get(next);
      if (other !== undefined && other !== candidate) {
        keys = keys.flatMap((key) => [key + other, key + candidate]);
        state = next;
        break;
      }
      seen.set(next, candidate);
    }
  }
  return keys;
}

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
