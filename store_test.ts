/**
 * Tests for store.ts: its string API (also against a Map, through growth and
 * compaction) and its byte API. Pure: every test runs with
 * `permissions: "none"`.
 */

import { assertEquals, assertFalse, assertStrictEquals, assertThrows } from "@std/assert";
import { Store } from "./store.ts";

Deno.test({
  name: "Store() starts empty",
  permissions: "none",
  fn: () => {
    const store = new Store();
    assertEquals(store.size, 0);
    assertEquals([...store.entries()], []);
    assertStrictEquals(store.get("k"), undefined);
    assertFalse(store.delete("k"));
  },
});

Deno.test({
  name: "Store.put() stores a value and overwrites an existing key",
  permissions: "none",
  fn: () => {
    const store = new Store();
    store.put("k", "v1");
    assertEquals(store.get("k"), "v1");
    store.put("k", "v2");
    assertEquals(store.get("k"), "v2");
    assertEquals(store.size, 1);
  },
});

Deno.test({
  name: "Store.get() tells an empty value from a missing key",
  permissions: "none",
  fn: () => {
    const store = new Store();
    store.put("empty", "");
    assertStrictEquals(store.get("empty"), "");
    assertStrictEquals(store.get("missing"), undefined);
  },
});

Deno.test({
  name: "Store.delete() removes a key and says whether it was there",
  permissions: "none",
  fn: () => {
    const store = new Store();
    store.put("a", "1");
    store.put("b", "2");
    assertEquals(store.delete("a"), true);
    assertEquals(store.delete("a"), false);
    assertStrictEquals(store.get("a"), undefined);
    assertEquals(store.get("b"), "2");
    assertEquals(store.size, 1);
  },
});

Deno.test({
  name: "Store.entries() yields every pair",
  permissions: "none",
  fn: () => {
    const store = new Store();
    const pairs: [string, string][] = [["a", "1"], ["b", "hello, world"], ["c", ""]];
    for (const [key, value] of pairs) store.put(key, value);
    store.put("gone", "x");
    store.delete("gone");
    assertEquals([...store.entries()].toSorted(), pairs);
  },
});

Deno.test({
  name: "Store.put() keeps any string as a distinct key",
  permissions: "none",
  fn: () => {
    const store = new Store();
    const keys = ["키", "😀", "a\0b", "a", "A", "__proto__", "constructor", "toString", "\ufeffa"];
    keys.forEach((key, i) => store.put(key, `v${i}`));
    assertEquals(store.size, keys.length);
    keys.forEach((key, i) => assertEquals(store.get(key), `v${i}`, key));
    assertStrictEquals(store.get("a\0"), undefined);
    assertStrictEquals(store.get("hasOwnProperty"), undefined);
  },
});

/** A small seeded PRNG (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test({
  name: "Store agrees with a Map through growth, tombstones and compaction",
  permissions: "none",
  fn: () => {
    // The table grows and rehashes, deletes leave tombstones, values that
    // change length leave garbage in the arena until it is compacted: after
    // every step the store must still answer exactly like a Map. The Map is
    // kept in the store's listing order: a PUT that changes a value's length
    // moves the pair last.
    const next = random(42);
    const store = new Store();
    const model = new Map<string, string>();
    for (let step = 0; step < 60_000; step++) {
      const key = `k${Math.floor(next() * 3_000)}`;
      const roll = next();
      if (roll < 0.6) {
        const value = "v".repeat(Math.floor(next() * (next() < 0.05 ? 5_000 : 24)));
        if (model.get(key)?.length !== value.length) model.delete(key);
        model.set(key, value);
        store.put(key, value);
      } else if (roll < 0.85) {
        assertEquals(store.delete(key), model.delete(key), `step ${step}: DELETE ${key}`);
      } else {
        assertStrictEquals(store.get(key), model.get(key), `step ${step}: GET ${key}`);
      }
      if (step % 5_000 === 0) assertEquals([...store.entries()], [...model], `step ${step}`);
    }
    assertEquals(store.size, model.size);
    assertEquals([...store.entries()], [...model]);
    for (const [key, value] of model) assertStrictEquals(store.get(key), value);
  },
});

Deno.test({
  name: "Store byte API reads keys and values in place and copies values out",
  permissions: "none",
  fn: () => {
    const encoder = new TextEncoder();
    const line = encoder.encode("PUT, 키, 값 hello");
    const store = new Store();
    // The key and the value lie inside a larger buffer, as in a read chunk.
    store.putBytes(line, 5, 8, line, 10, line.length);
    line.fill(0); // The store copied them: the buffer can be reused at once.
    assertEquals(store.get("키"), "값 hello");

    const copies: string[] = [];
    const sink = {
      addBytes(bytes: Uint8Array, start: number, end: number) {
        copies.push(new TextDecoder().decode(bytes.subarray(start, end)));
      },
    };
    const key = encoder.encode("xx키yy");
    assertEquals(store.getBytes(key, 2, 5, sink), true);
    assertEquals(store.getBytes(key, 0, 5, sink), false);
    assertEquals(copies, ["값 hello"]);
    assertEquals(store.deleteBytes(key, 2, 5), true);
    assertEquals(store.size, 0);
  },
});

Deno.test({
  name: "Store packs each pair into its bytes plus an 8-byte header",
  permissions: "none",
  fn: () => {
    const store = new Store();
    let expected = 0;
    for (let i = 0; i < 200_000; i++) {
      const key = `key:${i}`;
      store.put(key, "0123456789abcdef");
      expected += (8 + key.length + 16 + 3) & ~3; // Padded to 4 bytes.
    }
    assertEquals(store.size, 200_000);
    assertEquals(store.get("key:199999"), "0123456789abcdef");
    assertEquals(store.liveBytes, expected);
    // Overwrites of the same length happen in place: no garbage.
    for (let i = 0; i < 200_000; i++) store.put(`key:${i}`, "fedcba9876543210");
    assertEquals(store.liveBytes, expected);
    assertEquals(store.get("key:0"), "fedcba9876543210");
  },
});

Deno.test({
  name: "Store.putBytes() throws RangeError when full, and leaves the store as it was",
  permissions: "none",
  fn: () => {
    const store = new Store({ maxArenaBytes: 4096 });
    store.put("a", "1".repeat(1000));
    store.put("b", "2".repeat(2000));
    const before = [...store.entries()];
    // A new key, and a new value for an old key, that cannot fit.
    assertThrows(() => store.put("c", "3".repeat(2000)), RangeError, "full");
    assertThrows(() => store.put("a", "4".repeat(3000)), RangeError, "full");
    assertEquals([...store.entries()], before);
    assertEquals(store.size, 2);
    assertStrictEquals(store.get("a"), "1".repeat(1000));
    assertStrictEquals(store.get("c"), undefined);
    // Room freed by a delete is found again by compaction, up to the cap.
    store.delete("b");
    store.put("c", "3".repeat(2000));
    assertEquals(store.get("c"), "3".repeat(2000));
    assertEquals(store.size, 2);
  },
});

Deno.test({
  name: "new Store() rejects a maxArenaBytes it cannot use",
  permissions: "none",
  fn: () => {
    for (const bytes of [0, 1023, 4097, 2 ** 31, NaN, 1.5]) {
      assertThrows(() => new Store({ maxArenaBytes: bytes }), RangeError, undefined, String(bytes));
    }
  },
});

Deno.test({
  name: "Store at its cap compacts only to win back an eighth of the arena",
  permissions: "none",
  fn: () => {
    // Compacting a full arena for a few bytes would copy the whole store on
    // every PUT; at the cap, a little garbage is not worth it.
    const store = new Store({ maxArenaBytes: 4096 });
    for (let i = 0; i < 64; i++) store.put(`k${String(i).padStart(2, "0")}`, "v".repeat(52));
    assertEquals(store.liveBytes, 4096); // 8 + 3 + 52 = 63, padded to 64, times 64.
    assertEquals(store.delete("k00"), true); // 64 bytes of garbage: under an eighth.
    assertThrows(() => store.put("new", "v".repeat(52)), RangeError);
    assertEquals(store.get("new"), undefined);
    for (let i = 1; i < 8; i++) store.delete(`k${String(i).padStart(2, "0")}`); // 512 bytes now.
    store.put("new", "v".repeat(52));
    assertEquals(store.get("new"), "v".repeat(52));
    assertEquals(store.size, 57);
  },
});
