import { assert, assertEquals } from "@std/assert";
import { SYSTEM_CLOCK } from "./clock.ts";
import { Table } from "./table.ts";

const encoder = new TextEncoder();

/** Adds `key` (with its own bytes as value) under `hash`, as MemoryStore does. */
function add(table: Table, key: string, hash: number): void {
  const bytes = encoder.encode(key);
  table.reserve();
  table.insert(hash, table.arena.append(bytes, 0, bytes.length, bytes, 0, bytes.length, 0, 0));
}

function find(table: Table, key: string, hash: number): number {
  const bytes = encoder.encode(key);
  return table.find(bytes, 0, bytes.length, hash);
}

Deno.test("Table finds keys past collisions and tombstones, and grows and shrinks", () => {
  const table = new Table(1 << 20);
  // Ten keys with one hash: one run of slots.
  for (let i = 0; i < 10; i++) add(table, `k${i}`, 0x8000_0000);
  assertEquals(table.size, 10);
  const first = find(table, "k0", 0x8000_0000);
  table.remove(first);
  assertEquals(find(table, "k0", 0x8000_0000), -1);
  assert(find(table, "k9", 0x8000_0000) >= 0, "found past the tombstone");
  assertEquals(find(table, "k9", 0x1234), -1, "another hash is another key");
  // Growing keeps every key.
  for (let i = 0; i < 1000; i++) add(table, `g${i}`, (i * 2654435761) >>> 0);
  assert(table.capacity >= 2 * table.size);
  for (let i = 0; i < 1000; i++) assert(find(table, `g${i}`, (i * 2654435761) >>> 0) >= 0);
  // Deleting nearly all shrinks it.
  const before = table.capacity;
  for (let i = 0; i < 1000; i++) table.remove(find(table, `g${i}`, (i * 2654435761) >>> 0));
  table.shrinkIfSparse();
  assert(table.capacity < before, `${table.capacity} < ${before}`);
  assertEquals(find(table, "k5", 0x8000_0000) >= 0, true);
});

Deno.test("Table.scan visits every key once while the table grows between steps", () => {
  const table = new Table(1 << 20);
  const hashOf = (i: number) => Math.imul(i + 1, 0x9e3779b1) >>> 0;
  for (let i = 0; i < 100; i++) add(table, `s${i}`, hashOf(i));
  const seen = new Map<string, number>();
  const decoder = new TextDecoder();
  let cursor = 0;
  let added = 100;
  do {
    cursor = table.scan(cursor, 4, SYSTEM_CLOCK, (bytes, keyStart, keyEnd) => {
      const key = decoder.decode(bytes.subarray(keyStart, keyEnd));
      seen.set(key, (seen.get(key) ?? 0) + 1);
    });
    // Growth while the walk is young (it would never end if the table outgrew it for ever).
    if (added < 1000) {
      for (let j = 0; j < 20; j++, added++) {
        add(table, `s${added}`, hashOf(added));
      }
    }
  } while (cursor !== 0);
  for (let i = 0; i < 100; i++) assertEquals(seen.get(`s${i}`), 1, `s${i}`);
  for (const count of seen.values()) assertEquals(count, 1);
});

Deno.test("Table.clear empties it and gives the slots back", () => {
  const table = new Table(1 << 20);
  for (let i = 0; i < 500; i++) add(table, `c${i}`, (i * 40503) >>> 0);
  table.clear();
  assertEquals(table.size, 0);
  assertEquals(table.capacity, 16);
  assertEquals(find(table, "c1", 40503), -1);
  assertEquals(table.longestProbe(), 0);
});

Deno.test("Table doubles as it grows, from half full to a quarter full", () => {
  const table = new Table(1 << 24);
  let capacity = table.capacity;
  for (let i = 0; i < 20_000; i++) {
    add(table, `k${i}`, (i * 2654435761) >>> 0);
    if (table.capacity !== capacity) {
      // A rebuild sized for one key more than the table holds would quadruple it.
      assertEquals(table.capacity, 2 * capacity, `at ${table.size} keys`);
      assertEquals(table.size - 1, capacity / 2, "it grew when half full");
      capacity = table.capacity;
    }
  }
  assertEquals(table.capacity, 65_536);
});
