/**
 * Tests for memory.ts, through the Store interface: strings (TextStore, also
 * against a Map, through growth and compaction), the byte API, the arena's
 * limits and a value's flags. Scans are in memory_scan_test.ts, expiry in
 * memory_expiry_test.ts. Pure: every test runs with `permissions: "none"`.
 */

import { assert, assertEquals, assertFalse, assertStrictEquals, assertThrows } from "@std/assert";
import { MemoryStore } from "./memory.ts";
import { ManualClock } from "./clock.ts";
import { LINE_TEXT, PAIR_OVERHEAD_BYTES, StoreFullError } from "./store.ts";
import { textStore } from "../testing/store_harness.ts";
import { mulberry32 } from "../testing/random.ts";

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

Deno.test({
  name: "MemoryStore agrees with a Map through growth, tombstones and compaction",
  permissions: "none",
  fn: () => {
    // The table grows and rehashes, deletes leave tombstones, values that
    // change length and expiries that come and go leave garbage in the
    // arena until it is compacted: after
    // every step the store must still answer exactly like a Map (listings
    // compared sorted: the store lists in hash order).
    const next = mulberry32(42);
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
  name:
    "MemoryStore.room() promises only room that sets find: pairs that add up to it never throw StoreFullError",
  permissions: "none",
  fn: () => {
    const random = mulberry32(7);
    for (let run = 0; run < 200; run++) {
      const store = textStore({ maxArenaBytes: 4096 });
      const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
      // Fill it to some point, replacing and deleting, so garbage and growth vary.
      for (let i = 0; i < 40; i++) {
        const key = keys[Math.floor(random() * keys.length)]!;
        try {
          if (random() < 0.2) store.delete(key);
          else store.set(key, "v".repeat(Math.floor(random() * 600)));
        } catch (error) {
          if (!(error instanceof StoreFullError)) throw error;
        }
      }
      let room = store.memory.room();
      while (true) {
        const key = keys[Math.floor(random() * keys.length)]!;
        const value = "w".repeat(Math.floor(random() * 400));
        const cost = key.length + value.length + PAIR_OVERHEAD_BYTES;
        if (cost > room) break;
        store.set(key, value); // Must not throw.
        room -= cost;
      }
    }
  },
});
