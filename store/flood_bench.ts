/**
 * Microbenchmarks of the store's hash (`deno task bench`): keys crafted to
 * collide under FNV-1a against random keys of the same length, put into a
 * MemoryStore (keyed with SipHash-1-2); and the cost of hashing itself,
 * FNV-1a against SipHash-1-2, for a 16-byte key.
 *
 * @module
 */

import { craftCollisions, FNV_OFFSET, FNV_PRIME } from "../testing/flood.ts";
import { MemoryStore } from "./memory.ts";
import { randomSipKey, sipHash12 } from "./siphash.ts";

const encoder = new TextEncoder();

const crafted = craftCollisions(FNV_OFFSET ^ 0x5eed, 11).map((key) => encoder.encode(key));
let seed = 99;
const random = crafted.map(() => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return encoder.encode(`r${seed.toString(36)}`.padEnd(crafted[0]!.length, "x"));
});
let sink = 0;

function fill(keys: Uint8Array[]): void {
  const store = new MemoryStore();
  for (const key of keys) store.set(key, 0, key.length, key, 0, 1);
  sink += store.size;
}

Deno.bench({
  name: "set 2,048 random keys",
  group: "flood",
  baseline: true,
  fn: () => fill(random),
});
Deno.bench({
  name: "set 2,048 keys crafted to collide under FNV-1a",
  group: "flood",
  fn: () => fill(crafted),
});

const key16 = encoder.encode("key:123456789abc");
const hashKey = randomSipKey();
Deno.bench({
  name: "FNV-1a of a 16-byte key (the hash before)",
  group: "hash",
  baseline: true,
  fn() {
    let hash = FNV_OFFSET;
    for (let i = 0; i < key16.length; i++) hash = Math.imul(hash ^ key16[i]!, FNV_PRIME);
    sink += hash >>> 0;
  },
});
Deno.bench({
  name: "SipHash-1-2 of a 16-byte key (the hash now)",
  group: "hash",
  fn: () => void (sink += sipHash12(hashKey, key16, 0, key16.length)),
});

globalThis.addEventListener("unload", () => {
  if (sink < 0) throw new Error("unreachable");
});
