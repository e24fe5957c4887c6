/**
 * Tests for memory.ts, through the Store interface: strings (TextStore, also
 * against a Map, through growth and compaction), the byte API, and scans.
 * Pure: every test runs with `permissions: "none"`.
 */

import { assert, assertEquals, assertFalse, assertStrictEquals, assertThrows } from "@std/assert";
import { MemoryStore } from "./memory.ts";
import { ManualClock } from "./clock.ts";
import { LINE_TEXT, NO_EXPIRY, NO_KEY } from "./store.ts";
import { TextStore } from "./text.ts";
import { Table } from "./table.ts";
import { textStore } from "../testing/store_harness.ts";

Deno.test({
  name: "MemoryStore() starts empty",
  permissions: "none",
  fn: () => {
    const store = textStore();
    assertEquals(store.size, 0);
    assertEquals(store.entries(), []);
    assertStrictEquals(store.get("k"), undefined);
    assertFalse(store.delete("k"));
  },
});

Deno.test({
  name: "TextStore.put() over a MemoryStore stores a value and overwrites an existing key",
  permissions: "none",
  fn: () => {
    const store = textStore();
    store.set("k", "v1");
    assertEquals(store.get("k"), "v1");
    store.set("k", "v2");
    assertEquals(store.get("k"), "v2");
    assertEquals(store.size, 1);
  },
});

Deno.test({
  name: "MemoryStore.get() tells an empty value from a missing key",
  permissions: "none",
  fn: () => {
    const store = textStore();
    store.set("empty", "");
    assertStrictEquals(store.get("empty"), "");
    assertStrictEquals(store.get("missing"), undefined);
  },
});

Deno.test({
  name: "MemoryStore.delete() removes a key and says whether it was there",
  permissions: "none",
  fn: () => {
    const store = textStore();
    store.set("a", "1");
    store.set("b", "2");
    assertEquals(store.delete("a"), true);
    assertEquals(store.delete("a"), false);
    assertStrictEquals(store.get("a"), undefined);
    assertEquals(store.get("b"), "2");
    assertEquals(store.size, 1);
  },
});

Deno.test({
  name: "TextStore.entries() yields every pair of a MemoryStore",
  permissions: "none",
  fn: () => {
    const store = textStore();
    const pairs: [string, string][] = [["a", "1"], ["b", "hello, world"], ["c", ""]];
    for (const [key, value] of pairs) store.set(key, value);
    store.set("gone", "x");
    store.delete("gone");
    assertEquals(store.entries().toSorted(), pairs);
  },
});

Deno.test({
  name: "TextStore.put() over a MemoryStore keeps any string as a distinct key",
  permissions: "none",
  fn: () => {
    const store = textStore();
    const keys = ["키", "😀", "a\0b", "a", "A", "__proto__", "constructor", "toString", "\ufeffa"];
    keys.forEach((key, i) => store.set(key, `v${i}`));
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
  name: "MemoryStore agrees with a Map through growth, tombstones and compaction",
  permissions: "none",
  fn: () => {
    // The table grows and rehashes, deletes leave tombstones, values that
    // change length and expiries that come and go leave garbage in the
    // arena until it is compacted: after
    // every step the store must still answer exactly like a Map (listings
    // compared sorted: the store lists in hash order).
    const next = random(42);
    const store = textStore();
    const model = new Map<string, string>();
    const expiring = new Set<string>();
    const encoder = new TextEncoder();
    // What the live records take: a header, 8 bytes more with an expiry, the
    // key and value, padded to 4 (a leak or a double count shows here).
    const recordBytes = (key: string) =>
      (8 + (expiring.has(key) ? 8 : 0) + encoder.encode(key).length +
        encoder.encode(model.get(key)!).length + 3) & ~3;
    let live = 0;
    const forget = (key: string) => {
      if (model.has(key)) live -= recordBytes(key);
    };
    const count = (key: string) => {
      if (model.has(key)) live += recordBytes(key);
    };
    for (let step = 0; step < 60_000; step++) {
      const key = `k${Math.floor(next() * 3_000)}`;
      const roll = next();
      if (roll < 0.6) {
        const value = "v".repeat(Math.floor(next() * (next() < 0.05 ? 5_000 : 24)));
        forget(key);
        model.set(key, value);
        expiring.delete(key);
        count(key);
        store.set(key, value);
      } else if (roll < 0.8) {
        forget(key);
        assertEquals(store.delete(key), model.delete(key), `step ${step}: DELETE ${key}`);
        expiring.delete(key);
      } else if (roll < 0.85) {
        // An expiry far off, or none: the record changes layout and moves,
        // which may compact the arena under it.
        const bytes = encoder.encode(key);
        const expireAt = next() < 0.5 ? 0 : Date.now() + 3_600_000;
        assertEquals(store.memory.expire(bytes, 0, bytes.length, expireAt), model.has(key));
        forget(key);
        if (model.has(key) && expireAt > 0) expiring.add(key);
        else expiring.delete(key);
        count(key);
      } else {
        assertStrictEquals(store.get(key), model.get(key), `step ${step}: GET ${key}`);
      }
      if (step % 5_000 === 0) {
        assertEquals(store.entries().toSorted(), [...model].toSorted(), `step ${step}`);
      }
      assertEquals(store.memory.info().datasetBytes, live, `step ${step}: live bytes`);
      assertEquals(store.memory.info().expiringKeys, expiring.size, `step ${step}: expiring keys`);
    }
    assertEquals(store.size, model.size);
    assertEquals(store.entries().toSorted(), [...model].toSorted());
    for (const [key, value] of model) assertStrictEquals(store.get(key), value);
  },
});

Deno.test({
  name: "MemoryStore byte API reads keys and values in place and copies values out",
  permissions: "none",
  fn: () => {
    const encoder = new TextEncoder();
    const line = encoder.encode("PUT, 키, 값 hello");
    const store = textStore();
    // The key and the value lie inside a larger buffer, as in a read chunk.
    store.store.set(line, 5, 8, line, 10, line.length);
    line.fill(0); // The store copied them: the buffer can be reused at once.
    assertEquals(store.get("키"), "값 hello");

    const copies: string[] = [];
    const sink = {
      addBytes(bytes: Uint8Array, start: number, end: number) {
        copies.push(new TextDecoder().decode(bytes.subarray(start, end)));
      },
    };
    const key = encoder.encode("xx키yy");
    assertEquals(store.store.get(key, 2, 5, sink), true);
    assertEquals(store.store.get(key, 0, 5, sink), false);
    assertEquals(copies, ["값 hello"]);
    assertEquals(store.store.delete(key, 2, 5), true);
    assertEquals(store.size, 0);
  },
});

Deno.test({
  name: "MemoryStore packs each pair into its bytes plus an 8-byte header",
  permissions: "none",
  fn: () => {
    const store = textStore();
    let expected = 0;
    for (let i = 0; i < 200_000; i++) {
      const key = `key:${i}`;
      store.set(key, "0123456789abcdef");
      expected += (8 + key.length + 16 + 3) & ~3; // Padded to 4 bytes.
    }
    assertEquals(store.size, 200_000);
    assertEquals(store.get("key:199999"), "0123456789abcdef");
    assertEquals(store.memory.info().datasetBytes, expected);
    // Overwrites of the same length happen in place: no garbage.
    for (let i = 0; i < 200_000; i++) store.set(`key:${i}`, "fedcba9876543210");
    assertEquals(store.memory.info().datasetBytes, expected);
    assertEquals(store.get("key:0"), "fedcba9876543210");
  },
});

Deno.test({
  name: "MemoryStore: a record that moves while the arena compacts under it is counted once",
  permissions: "none",
  fn: () => {
    // The arena starts at 1 KiB. 612 bytes of garbage, then a 312-byte
    // record: the next record does not fit, and half the arena is garbage,
    // so the arena compacts in the middle of the change, moving the record
    // the change is about.
    const clock = new ManualClock(1_000);
    const store = textStore({ clock });
    const encoder = new TextEncoder();
    const k = encoder.encode("k");
    for (const change of ["expire", "set"] as const) {
      store.memory.clear();
      store.set("g", "g".repeat(600)); // 8 + 1 + 600, padded: 612
      store.delete("g");
      store.set("k", "v".repeat(300)); // 8 + 1 + 300, padded: 312
      if (change === "expire") {
        // Gaining an expiry moves the record: 8 + 8 + 1 + 300, padded: 320.
        assert(store.memory.expire(k, 0, 1, 5_000));
        assertEquals(store.memory.info().datasetBytes, 320);
        assertEquals(store.memory.expiry(k, 0, 1), 5_000);
      } else {
        store.set("k", "w".repeat(310)); // 8 + 1 + 310, padded: 320
        assertEquals(store.memory.info().datasetBytes, 320);
      }
      assertEquals(store.memory.info().expiringKeys, change === "expire" ? 1 : 0);
      assertEquals(store.entries(), [[
        "k",
        (change === "expire" ? "v" : "w").repeat(change === "expire" ? 300 : 310),
      ]]);
      // And on from there: the table and the arena still agree.
      store.set("k", "x");
      assertEquals([store.get("k"), store.memory.info().datasetBytes], ["x", 12]);
    }
  },
});

Deno.test({
  name: "MemoryStore.set() throws StoreFullError when full, and leaves the store as it was",
  permissions: "none",
  fn: () => {
    const store = textStore({ maxArenaBytes: 4096 });
    store.set("a", "1".repeat(1000));
    store.set("b", "2".repeat(2000));
    const before = store.entries();
    // A new key, and a new value for an old key, that cannot fit.
    assertThrows(() => store.set("c", "3".repeat(2000)), RangeError, "full");
    assertThrows(() => store.set("a", "4".repeat(3000)), RangeError, "full");
    assertEquals(store.entries(), before);
    assertEquals(store.size, 2);
    assertStrictEquals(store.get("a"), "1".repeat(1000));
    assertStrictEquals(store.get("c"), undefined);
    // Room freed by a delete is found again by compaction, up to the cap.
    store.delete("b");
    store.set("c", "3".repeat(2000));
    assertEquals(store.get("c"), "3".repeat(2000));
    assertEquals(store.size, 2);
  },
});

Deno.test({
  name: "textStore() rejects a maxArenaBytes it cannot use",
  permissions: "none",
  fn: () => {
    for (const bytes of [0, 1023, 4097, 2 ** 31, NaN, 1.5]) {
      assertThrows(
        () => new MemoryStore({ maxArenaBytes: bytes }),
        RangeError,
        undefined,
        String(bytes),
      );
    }
  },
});

Deno.test({
  name: "MemoryStore at its cap compacts only to win back an eighth of the arena",
  permissions: "none",
  fn: () => {
    // Compacting a full arena for a few bytes would copy the whole store on
    // every PUT; at the cap, a little garbage is not worth it.
    const store = textStore({ maxArenaBytes: 4096 });
    for (let i = 0; i < 64; i++) store.set(`k${String(i).padStart(2, "0")}`, "v".repeat(52));
    assertEquals(store.memory.info().datasetBytes, 4096); // 8 + 3 + 52 = 63, padded to 64, times 64.
    assertEquals(store.delete("k00"), true); // 64 bytes of garbage: under an eighth.
    assertThrows(() => store.set("new", "v".repeat(52)), RangeError);
    assertEquals(store.get("new"), undefined);
    for (let i = 1; i < 8; i++) store.delete(`k${String(i).padStart(2, "0")}`); // 512 bytes now.
    store.set("new", "v".repeat(52));
    assertEquals(store.get("new"), "v".repeat(52));
    assertEquals(store.size, 57);
  },
});

/** Walks `store` with scan() steps of `count` slots, calling `between` after each step. */
function walk(
  store: MemoryStore,
  count: number,
  between: (step: number) => void = () => {},
): string[] {
  const decoder = new TextDecoder();
  const seen: string[] = [];
  let cursor = 0;
  let step = 0;
  do {
    cursor = store.scan(cursor, count, (bytes, keyStart, keyEnd) => {
      seen.push(decoder.decode(bytes.subarray(keyStart, keyEnd)));
    });
    between(step++);
  } while (cursor !== 0);
  return seen;
}

Deno.test({
  name: "MemoryStore.scan() visits every pair exactly once, whatever the step",
  permissions: "none",
  fn: async (t) => {
    const store = textStore();
    const keys = Array.from({ length: 5000 }, (_, i) => `key:${i}`);
    for (const key of keys) store.set(key, "v");
    for (let i = 0; i < 5000; i += 3) store.delete(`key:${i}`); // tombstones on the way
    const live = keys.filter((_, i) => i % 3 !== 0).toSorted();
    for (const count of [1, 2, 7, 64, 1000, 1_000_000]) {
      await t.step(`${count} slots a step`, () => {
        assertEquals(walk(store.memory, count).toSorted(), live);
      });
    }
    await t.step("an empty store ends at once", () => {
      assertEquals(walk(new MemoryStore(), 1), []);
    });
  },
});

Deno.test({
  name: "MemoryStore.scan() keeps its promise while the table grows and keys come and go",
  permissions: "none",
  fn: () => {
    // Keys present for the whole walk are visited exactly once; keys added
    // or removed during it at most once. Inserts between steps double the
    // table several times over, and rebuild it dropping tombstones.
    const store = textStore();
    const stable = Array.from({ length: 300 }, (_, i) => `stable:${i}`);
    const doomed = Array.from({ length: 300 }, (_, i) => `doomed:${i}`);
    for (const key of [...stable, ...doomed]) store.set(key, "v");
    let added = 0;
    const seen = walk(store.memory, 4, (step) => {
      if (step >= doomed.length) return;
      for (let i = 0; i < 40; i++) store.set(`new:${added++}`, "w");
      store.delete(doomed[step]!);
    });
    const counts = new Map<string, number>();
    for (const key of seen) counts.set(key, (counts.get(key) ?? 0) + 1);
    for (const key of stable) assertEquals(counts.get(key), 1, key);
    for (const [key, count] of counts) assertEquals(count, 1, `${key} visited ${count} times`);
    assert(added > 10_000, `the table grew: ${added} keys added`);
  },
});

Deno.test({
  name: "MemoryStore expires keys by its clock: get, scan, expiry() and expire()",
  permissions: "none",
  fn: async (t) => {
    const clock = new ManualClock(1_000_000);
    const memory = new MemoryStore({ clock });
    const store = new TextStore(memory);
    await t.step("a key with an expiry is there until its time, then gone everywhere", () => {
      store.set("soon", "v", { expireAtMs: 1_000_500 });
      store.set("never", "w");
      assertEquals(store.get("soon"), "v");
      assertEquals(store.expiry("soon"), 1_000_500);
      assertEquals(store.expiry("never"), NO_EXPIRY);
      assertEquals(store.expiry("nobody"), NO_KEY);
      clock.advance(499);
      assertEquals(store.get("soon"), "v");
      clock.advance(1);
      assertStrictEquals(store.get("soon"), undefined);
      assertEquals(store.entries(), [["never", "w"]]);
      assertEquals(store.expiry("soon"), NO_KEY);
      assertFalse(store.delete("soon"));
    });
    await t.step("a write clears the expiry, unless it keeps it", () => {
      store.set("k", "1", { expireAtMs: clock.now() + 100 });
      store.set("k", "2");
      assertEquals(store.expiry("k"), NO_EXPIRY);
      store.set("k", "3", { expireAtMs: clock.now() + 100 });
      store.set("k", "four", { keepTtl: true }); // another length: the record moves
      assertEquals(store.expiry("k"), clock.now() + 100);
      store.set("k", "five", { keepTtl: true }); // the same length: in place
      assertEquals([store.get("k"), store.expiry("k")], ["five", clock.now() + 100]);
    });
    await t.step("expire() sets, moves and clears an expiry; a past time deletes", () => {
      store.set("e", "value");
      assert(store.expire("e", clock.now() + 50)); // gains the expiry words: moves
      assertEquals(store.expiry("e"), clock.now() + 50);
      assert(store.expire("e", clock.now() + 70)); // in place
      assertEquals(store.expiry("e"), clock.now() + 70);
      assert(store.expire("e", 0)); // persists: moves back
      assertEquals([store.get("e"), store.expiry("e")], ["value", NO_EXPIRY]);
      assertFalse(store.expire("nobody", clock.now() + 10));
      assert(store.expire("e", clock.now()));
      assertStrictEquals(store.get("e"), undefined);
    });
    await t.step("a write with an expiry already past leaves no key", () => {
      store.set("old", "x");
      store.set("old", "y", { expireAtMs: clock.now() - 1 });
      assertStrictEquals(store.get("old"), undefined);
      store.set("new", "y", { expireAtMs: clock.now() });
      assertStrictEquals(store.get("new"), undefined);
    });
  },
});

Deno.test({
  name: "MemoryStore.sweep() reclaims expired keys nobody reads, within its budget",
  permissions: "none",
  fn: () => {
    const clock = new ManualClock(0);
    const memory = new MemoryStore({ clock });
    const store = new TextStore(memory);
    for (let i = 0; i < 10_000; i++) {
      store.set(`k${i}`, "v", i % 2 === 0 ? { expireAtMs: 1000 } : undefined);
    }
    assertEquals([memory.size, memory.info().expiringKeys], [10_000, 5_000]);
    assertEquals(memory.sweep(10), 0, "nothing has expired yet");
    const live = memory.info().datasetBytes;
    clock.advance(1000);
    let removed = 0;
    for (let round = 0; round < 100 && memory.info().expiringKeys > 0; round++) {
      removed += memory.sweep(5);
    }
    assertEquals(removed, 5_000);
    const { expiringKeys, expiredKeys } = memory.info();
    assertEquals([memory.size, expiringKeys, expiredKeys], [5_000, 0, 5_000]);
    assert(memory.info().datasetBytes < live, "their bytes are no longer live");
    assertEquals(memory.sweep(10), 0, "no key with an expiry: nothing to do");
  },
});

Deno.test({
  name: "MemoryStore keeps a value's line-text flag",
  permissions: "none",
  fn: () => {
    const memory = new MemoryStore();
    const encoder = new TextEncoder();
    const key = encoder.encode("k");
    const seen: number[] = [];
    const sink = {
      addBytes: (_b: Uint8Array, _s: number, _e: number, flags = 0) => void seen.push(flags),
    };
    memory.set(key, 0, 1, key, 0, 1, { lineText: true });
    memory.get(key, 0, 1, sink);
    memory.set(key, 0, 1, key, 0, 1);
    memory.get(key, 0, 1, sink);
    memory.scan(0, 100, (_b, _ks, _ke, _vs, _ve, flags) => seen.push(flags));
    assertEquals(seen, [LINE_TEXT, 0, 0]);
  },
});

Deno.test({
  name: "MemoryStore shrinks a table that deletes have emptied: SCAN then walks only what is left",
  permissions: "none",
  fn: () => {
    const store = textStore();
    for (let i = 0; i < 10_000; i++) store.set(`k${i}`, "v");
    for (let i = 4; i < 10_000; i++) store.delete(`k${i}`);
    // Four keys left of 10,000: the table is at most 64 slots again, so what
    // one SCAN covers (COUNT 10: 200 home slots) is the whole walk.
    const seen: string[] = [];
    const decoder = new TextDecoder();
    const cursor = store.memory.scan(0, 200, (bytes, keyStart, keyEnd) => {
      seen.push(decoder.decode(bytes.subarray(keyStart, keyEnd)));
    });
    assertEquals(cursor, 0);
    assertEquals(seen.toSorted(), ["k0", "k1", "k2", "k3"]);
    assertEquals(store.entries().toSorted(), [["k0", "v"], ["k1", "v"], ["k2", "v"], ["k3", "v"]]);
  },
});

Deno.test({
  name:
    "MemoryStore: a SCAN walk returns each key held throughout exactly once while the table grows and shrinks under it",
  permissions: "none",
  fn: () => {
    const next = random(7);
    const store = textStore();
    const decoder = new TextDecoder();
    for (let round = 0; round < 5; round++) {
      // Keys that stay for the whole walk, and others that come and go in waves.
      const kept = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const key = `kept:${round}:${i}`;
        kept.add(key);
        store.set(key, "v");
      }
      const seen = new Map<string, number>();
      const waves: string[] = [];
      let cursor = 0;
      let steps = 0;
      do {
        cursor = store.memory.scan(cursor, 64, (bytes, keyStart, keyEnd) => {
          const key = decoder.decode(bytes.subarray(keyStart, keyEnd));
          seen.set(key, (seen.get(key) ?? 0) + 1);
        });
        // Between steps: a wave of inserts that grows the table, or of
        // deletes that shrinks it.
        if (steps % 2 === 0) {
          const wave = Math.floor(next() * 2_000);
          for (let i = 0; i < wave; i++) waves.push(`wave:${round}:${steps}:${i}`);
          for (const key of waves) store.set(key, "w");
        } else {
          for (const key of waves.splice(0)) store.delete(key);
        }
        steps++;
      } while (cursor !== 0);
      for (const key of kept) assertEquals(seen.get(key), 1, `round ${round}: ${key}`);
      for (const key of kept) store.delete(key);
    }
  },
});

Deno.test({
  name:
    "MemoryStore refuses an expiry that is no time (NaN, Infinity, negative, past 2^53), changing nothing",
  permissions: "none",
  fn() {
    const clock = new ManualClock(1_000_000);
    const store = new TextStore(new MemoryStore({ clock }));
    store.set("k", "v");
    for (const bad of [NaN, Infinity, -5, 2 ** 64 + 2 ** 20, -0.5]) {
      assertThrows(
        () => store.set("k", "new", { expireAtMs: bad }),
        RangeError,
        "Cannot expire at",
      );
      assertThrows(() => store.set("other", "new", { expireAtMs: bad }), RangeError);
      assertThrows(() => store.expire("k", bad), RangeError, "Cannot expire at");
    }
    assertEquals(store.get("k"), "v");
    assertEquals(store.get("other"), undefined);
    assertEquals(store.expiry("k"), NO_EXPIRY);
    assertThrows(() => clock.advance(Infinity), RangeError);
    // A clock moved by a fraction gives a fractional time: still a time.
    clock.advance(0.5);
    store.set("half", "v", { expireAtMs: clock.now() + 1000 });
    assertEquals(store.get("half"), "v");
    // What is valid still works: 0 is never, a past time deletes.
    store.set("k", "v2", { expireAtMs: 0 });
    assertEquals(store.expiry("k"), NO_EXPIRY);
    assertStrictEquals(store.expire("k", 1), true);
    assertEquals(store.get("k"), undefined);
  },
});

Deno.test({
  name: "MemoryStore.info().avgTtlMs: Redis's running estimate of the time left, from each sweep",
  permissions: "none",
  fn: () => {
    const clock = new ManualClock(1_000_000);
    const memory = new MemoryStore({ clock });
    const store = new TextStore(memory);
    store.set("plain", "v");
    assertEquals(memory.info().avgTtlMs, 0, "no key with an expiry");
    for (let i = 0; i < 20; i++) store.set(`k${i}`, "v", { expireAtMs: clock.now() + 1_000_000 });
    assertEquals(memory.info().avgTtlMs, 0, "no sweep has seen them yet");
    memory.sweep(50);
    assertEquals(memory.info().avgTtlMs, 1_000_000, "the first sample is the estimate");
    clock.advance(500_000);
    memory.sweep(50);
    assertEquals(memory.info().avgTtlMs, 990_000, "then 2% of each new one");
    for (let i = 0; i < 20; i++) store.delete(`k${i}`);
    assertEquals(memory.info().avgTtlMs, 0, "none left");
  },
});

Deno.test("MemoryStore.sweep() walks every slot while the table resizes, old slots too", () => {
  const clock = new ManualClock(1_000_000);
  const store = new MemoryStore({ clock });
  const encoder = new TextEncoder();
  // Enough keys with a TTL for a step-by-step resize; the table is found through reserve().
  let table: Table | undefined;
  const reserve = Table.prototype.reserve;
  const moveFor = Table.prototype.moveFor;
  try {
    Table.prototype.reserve = function (this: Table) {
      table = this;
      return reserve.call(this);
    };
    let n = 0;
    while (!table?.resizing) {
      const key = encoder.encode(`key:${n++}`);
      store.set(key, 0, key.length, key, 0, key.length, { expireAtMs: 2_000_000 });
    }
    clock.advance(1_000_001); // Every key has expired.
    // The move held still: only the walk of slot numbers (new, then old) can find them.
    Table.prototype.moveFor = () => {};
    assertEquals(store.sweep(60_000), n);
    assertEquals(store.size, 0);
  } finally {
    Table.prototype.reserve = reserve;
    Table.prototype.moveFor = moveFor;
  }
});
