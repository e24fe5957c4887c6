import { assert, assertEquals } from "@std/assert";
import { SYSTEM_CLOCK } from "./clock.ts";
import { Table } from "./table.ts";

const encoder = new TextEncoder();
const test = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });

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

test("Table finds keys past collisions and tombstones, and grows and shrinks", () => {
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

test("Table.scan visits every key once while the table grows between steps", () => {
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

test("Table.clear empties it and gives the slots back", () => {
  const table = new Table(1 << 20);
  for (let i = 0; i < 500; i++) add(table, `c${i}`, (i * 40503) >>> 0);
  table.clear();
  assertEquals(table.size, 0);
  assertEquals(table.capacity, 16);
  assertEquals(find(table, "c1", 40503), -1);
  assertEquals(table.longestProbe(), 0);
});

test("Table doubles as it grows, from half full to a quarter full", () => {
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

// --- Resizing a step at a time. ---------------------------------------------

const hashOfN = (i: number) => Math.imul(i + 1, 0x9e3779b1) >>> 0;
// More keys than a table that moves everything at once holds (2^16 slots, half full).
const BIG = 40_000;

/** The value `key` holds in `table`, or undefined. */
function valueOf(table: Table, key: string, hash: number): string | undefined {
  const slot = find(table, key, hash);
  if (slot < 0) return undefined;
  const arena = table.arena;
  const record = table.record(slot);
  const word = arena.header(record);
  const keyStart = arena.keyStart(record, word);
  const valueStart = keyStart + (word & 0xffff);
  return new TextDecoder().decode(
    arena.bytes.subarray(valueStart, valueStart + arena.valueLength(record)),
  );
}

/** Sets `key` to `value`, as MemoryStore does: in its slot if it is there, else a new one. */
function put(table: Table, key: string, hash: number, value: string): void {
  const k = encoder.encode(key);
  const v = encoder.encode(value);
  const slot = table.find(k, 0, k.length, hash);
  if (slot < 0) table.reserve();
  const record = table.arena.append(k, 0, k.length, v, 0, v.length, 0, 0);
  if (slot < 0) table.insert(hash, record);
  else table.replace(slot, record);
}

/** Every key a full scan visits, with how many times. */
function scanAll(table: Table): Map<string, number> {
  const seen = new Map<string, number>();
  const decoder = new TextDecoder();
  let cursor = 0;
  do {
    cursor = table.scan(cursor, 1000, SYSTEM_CLOCK, (bytes, keyStart, keyEnd) => {
      const key = decoder.decode(bytes.subarray(keyStart, keyEnd));
      seen.set(key, (seen.get(key) ?? 0) + 1);
    });
  } while (cursor !== 0);
  return seen;
}

test("Table resizes a large table a step at a time, and agrees with a Map throughout", () => {
  const table = new Table(1 << 27);
  const model = new Map<string, string>();
  let seed = 12345;
  const random = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const check = (key: string) => {
    assertEquals(valueOf(table, key, hashOfN(Number(key.slice(1)))), model.get(key), key);
  };
  let resizeSteps = 0;
  let resizes = 0;
  let wasResizing = false;
  // Deletes the key if the table has it, as the model says it must.
  const remove = (key: string, n: number) => {
    const slot = find(table, key, hashOfN(n));
    assertEquals(slot >= 0, model.has(key), key);
    if (slot >= 0) {
      table.remove(slot);
      table.shrinkIfSparse();
      model.delete(key);
    }
  };
  const step = () => {
    if (table.resizing) {
      resizeSteps++;
      if (!wasResizing) resizes++;
    }
    wasResizing = table.resizing;
    assertEquals(table.size, model.size);
  };
  const RANGE = 5 * BIG;
  // Grow well past a step-by-step resize: mostly writes, some deletes and reads.
  for (let round = 0; round < 300_000; round++) {
    const n = random(RANGE);
    const key = `k${n}`;
    const roll = random(10);
    if (roll < 7) {
      put(table, key, hashOfN(n), `v${round}`);
      model.set(key, `v${round}`);
    } else if (roll < 8) {
      remove(key, n);
    } else {
      check(key);
    }
    step();
  }
  // Then delete nearly everything, through a step-by-step shrink, still writing and reading a little.
  for (let n = 0; n < RANGE; n++) {
    remove(`k${n}`, n);
    if (n % 5 === 0) {
      const m = random(n + 1);
      put(table, `k${m}`, hashOfN(m), `w${n}`);
      model.set(`k${m}`, `w${n}`);
    }
    if (n % 7 === 0) check(`k${random(RANGE)}`);
    step();
  }
  assert(resizes >= 2, `${resizes} step-by-step resizes`);
  assert(resizeSteps > 100, `${resizeSteps} operations during them`);
  for (const key of model.keys()) check(key);
  const seen = scanAll(table);
  assertEquals(seen.size, model.size);
  for (const count of seen.values()) assertEquals(count, 1);
});

test("Table: the insert that starts a large resize moves a few hundred slots, not all", () => {
  const table = new Table(1 << 26);
  let i = 0;
  while (!table.resizing && i < 1_000_000) add(table, `k${i}`, hashOfN(i++));
  assert(table.resizing, "a step-by-step resize began");
  // 2^17 old slots, of which one insert moved at most a step's worth (and a run).
  assertEquals(table.slotCount - table.capacity, 1 << 17);
  for (let j = 0; j < i; j++) assert(find(table, `k${j}`, hashOfN(j)) >= 0, `k${j}`);
  let inserts = 0;
  while (table.resizing) {
    add(table, `n${inserts}`, hashOfN(1_000_000 + inserts));
    inserts++;
    assert(inserts < 200_000, "the move ends");
    // Every key, at some of the points where a step of the move stopped.
    if (inserts % 16 === 0) {
      for (let j = 0; j < i; j++) assert(find(table, `k${j}`, hashOfN(j)) >= 0, `k${j}`);
    }
  }
  assert(inserts >= 300, `the move took ${inserts} inserts`);
  assertEquals(table.slotCount, table.capacity);
  for (let j = 0; j < i; j++) assert(find(table, `k${j}`, hashOfN(j)) >= 0, `k${j}`);
});

test("Table.moveFor ends a resize with no writes", () => {
  const table = new Table(1 << 26);
  let i = 0;
  while (!table.resizing && i < 1_000_000) add(table, `k${i}`, hashOfN(i++));
  assert(table.resizing, "a step-by-step resize began");
  table.moveFor(60_000);
  assert(!table.resizing);
  assertEquals(scanAll(table).size, i);
});

test("Table.scan visits every key once across a step-by-step resize", () => {
  const table = new Table(1 << 26);
  let i = 0;
  // Just short of the resize: the walk starts on the old table.
  while (table.size + 1 <= table.capacity * 0.5 || table.capacity < 1 << 17) {
    add(table, `k${i}`, hashOfN(i++));
  }
  const present = i;
  const seen = new Map<string, number>();
  const decoder = new TextDecoder();
  let cursor = 0;
  let resized = false;
  do {
    cursor = table.scan(cursor, 64, SYSTEM_CLOCK, (bytes, keyStart, keyEnd) => {
      const key = decoder.decode(bytes.subarray(keyStart, keyEnd));
      seen.set(key, (seen.get(key) ?? 0) + 1);
    });
    for (let j = 0; j < 8; j++) add(table, `k${i}`, hashOfN(i++));
    resized ||= table.resizing;
  } while (cursor !== 0);
  assert(resized, "the walk went on while the table resized");
  for (let j = 0; j < present; j++) assertEquals(seen.get(`k${j}`), 1, `k${j}`);
  for (const count of seen.values()) assertEquals(count, 1);
});

test("Table: arena compaction while a resize runs moves the records of both slot tables", () => {
  const table = new Table(1 << 26);
  let i = 0;
  while (!table.resizing && i < 1_000_000) put(table, `k${i}`, hashOfN(i), `first-${i++}`);
  assert(table.resizing, "a step-by-step resize began");
  // Rewrites (no new keys: the resize stays where it is) with ever longer
  // values, until more than half the arena is garbage and it compacts.
  const arena = table.arena;
  let compacted = false;
  let round = 0;
  for (; round < 12 && !compacted; round++) {
    for (let j = 0; j < i; j++) {
      const top = arena.top;
      put(table, `k${j}`, hashOfN(j), `${"x".repeat(round)}-${j}`);
      compacted ||= arena.top < top;
    }
  }
  assert(compacted, "the arena compacted");
  assert(table.resizing, "while the table resized");
  for (let j = 0; j < i; j++) {
    assertEquals(valueOf(table, `k${j}`, hashOfN(j)), `${"x".repeat(round - 1)}-${j}`);
  }
});

test("Table: keys left after deletes in hash order (SCAN + DEL, the sweep) are not packed into one long run", () => {
  const table = new Table(1 << 26);
  const count = 60_000;
  for (let i = 0; i < count; i++) add(table, `k${i}`, hashOfN(i));
  const before = table.capacity;
  // Delete in the order a SCAN walks (hash order), as `redis-cli --scan | xargs redis-cli del` does,
  // until the table wants to shrink and has had every chance to.
  const decoder = new TextDecoder();
  const byHash = new Map<string, number>();
  for (let i = 0; i < count; i++) byHash.set(`k${i}`, hashOfN(i));
  let cursor = 0;
  do {
    const seen: string[] = [];
    cursor = table.scan(cursor, 100, SYSTEM_CLOCK, (bytes, keyStart, keyEnd) => {
      seen.push(decoder.decode(bytes.subarray(keyStart, keyEnd)));
    });
    for (const key of seen) {
      if (table.size <= count / 20) break;
      table.remove(find(table, key, byHash.get(key)!));
      table.shrinkIfSparse();
      byHash.delete(key);
    }
  } while (cursor !== 0 && table.size > count / 20);
  table.moveFor(60_000);
  assert(!table.resizing);
  assert(table.longestProbe() < 256, `longest probe ${table.longestProbe()} slots`);
  assert(table.capacity <= before);
  for (const [key, hash] of byHash) assert(find(table, key, hash) >= 0, key);
});
