/**
 * Tests for memory.ts's expiry: keys gone at their time for every reader,
 * writes that clear or keep an expiry, the sweep that reclaims keys nobody
 * reads (while the table resizes too), times that are no time, and INFO's
 * estimate of the time left. Pure: every test runs with
 * `permissions: "none"`.
 */

import { assert, assertEquals, assertFalse, assertStrictEquals, assertThrows } from "@std/assert";
import { MemoryStore } from "./memory.ts";
import { ManualClock } from "./clock.ts";
import { NO_EXPIRY, NO_KEY } from "./store.ts";
import { TextStore } from "./text.ts";
import { Table } from "./table.ts";

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
    // Times are whole milliseconds, as Redis's: a fraction is refused (tests/resp_test.ts).
    assertThrows(() => clock.advance(0.5), RangeError, "expected whole milliseconds");
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
