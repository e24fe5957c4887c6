/**
 * Tests for memory.ts's scan(), the walk SCAN and KEYS make: every pair
 * visited exactly once whatever the step, and each key held throughout a
 * walk returned once while the table grows, is rebuilt and shrinks under
 * it. Pure: every test runs with `permissions: "none"`.
 */

import { assert, assertEquals } from "@std/assert";
import { MemoryStore } from "./memory.ts";
import { textStore } from "../testing/store_harness.ts";
import { mulberry32 } from "../testing/random.ts";

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
    const next = mulberry32(7);
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
