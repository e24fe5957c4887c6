/**
 * Tests for split_buffer.ts: the one rule both framers follow for a request
 * split across reads. Up to 4 KiB a small buffer is kept and costs the
 * budget nothing; up to 64 KiB one is borrowed from the pool and 64 KiB
 * charged; past that one of its own is charged at its size. What was
 * charged goes back once, whichever of drop(), release() or close() lets
 * go of it. Pure.
 *
 * @module
 */

import { assert, assertEquals, assertStrictEquals } from "@std/assert";
import { BufferPool, OWN_BYTES, POOLED_BYTES } from "./buffer_pool.ts";
import { PendingBudget } from "./pending_budget.ts";
import { SplitBuffer } from "./split_buffer.ts";

const test = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });

function setup(limitBytes = Infinity): {
  pool: BufferPool;
  budget: PendingBudget;
  split: SplitBuffer;
} {
  const pool = new BufferPool();
  const budget = new PendingBudget(limitBytes);
  return { pool, budget, split: new SplitBuffer(pool, budget) };
}

test("SplitBuffer.grow() up to 4 KiB makes a small buffer of that size, kept, charging nothing", () => {
  const { pool, budget, split } = setup();
  const first = split.grow(new Uint8Array(0), new Uint8Array([1, 2, 3]), 256)!;
  assertEquals([first.length, [...first.subarray(0, 3)]], [256, [1, 2, 3]]);
  const second = split.grow(first, first.subarray(0, 3), OWN_BYTES)!;
  assertEquals([second.length, [...second.subarray(0, 3)]], [OWN_BYTES, [1, 2, 3]]);
  assertEquals([pool.lent, budget.heldBytes], [0, 0]);
  assertStrictEquals(split.release(second), second, "the small buffer stays in use");
  assertStrictEquals(split.drop(second), second, "dropping keeps the small one too");
});

test("SplitBuffer.grow() past 4 KiB borrows 64 KiB and charges it; drop() gives both back", () => {
  const { pool, budget, split } = setup();
  const small = split.grow(new Uint8Array(0), new Uint8Array(0), OWN_BYTES)!;
  small.fill(7);
  const borrowed = split.grow(small, small, 2 * OWN_BYTES)!;
  assertEquals([borrowed.length, borrowed[OWN_BYTES - 1], borrowed[OWN_BYTES]], [
    POOLED_BYTES,
    7,
    // A pooled buffer holds whatever its last borrower left: here, new zeros.
    0,
  ]);
  assertEquals([pool.lent, budget.heldBytes], [1, POOLED_BYTES]);
  assertStrictEquals(split.drop(borrowed), small, "back to the small buffer");
  assertEquals([pool.lent, pool.idle, budget.heldBytes], [0, 1, 0]);
});

test("SplitBuffer.grow() past 64 KiB allocates, charges the difference, and returns the borrowed one", () => {
  const { pool, budget, split } = setup();
  const borrowed = split.grow(new Uint8Array(0), new Uint8Array([9]), OWN_BYTES + 1)!;
  const big = split.grow(borrowed, borrowed.subarray(0, 1), 3 * POOLED_BYTES)!;
  assertEquals([big.length, big[0]], [3 * POOLED_BYTES, 9]);
  assertEquals([pool.lent, pool.idle, budget.heldBytes], [0, 1, 3 * POOLED_BYTES]);
  const bigger = split.grow(big, big.subarray(0, 1), 5 * POOLED_BYTES)!;
  assertEquals([bigger[0], budget.heldBytes], [9, 5 * POOLED_BYTES]);
  split.release(bigger);
  assertEquals([pool.lent, pool.idle, budget.heldBytes], [0, 1, 0], "a big one is not pooled");
});

test("SplitBuffer.grow() past what the budget has left changes nothing, unless forced", () => {
  const { pool, budget, split } = setup(POOLED_BYTES + 1000);
  const borrowed = split.grow(new Uint8Array(0), new Uint8Array([5]), OWN_BYTES + 1)!;
  assertEquals(split.grow(borrowed, borrowed.subarray(0, 1), 2 * POOLED_BYTES), undefined);
  assertEquals([pool.lent, budget.heldBytes], [1, POOLED_BYTES], "still the borrowed one");
  const forced = split.grow(borrowed, borrowed.subarray(0, 1), 2 * POOLED_BYTES, true)!;
  assertEquals([forced.length, forced[0]], [2 * POOLED_BYTES, 5]);
  assertEquals([pool.lent, budget.heldBytes], [0, 2 * POOLED_BYTES], "past the limit, counted");
  assert(!budget.take(1), "the budget is full for everyone else meanwhile");
  split.drop(forced);
  assertEquals(budget.heldBytes, 0);
});

test("SplitBuffer.close() gives the charge back once, and a later drop() gives nothing twice", () => {
  const { budget, split } = setup();
  const others = budget.take(1000);
  const big = split.grow(new Uint8Array(0), new Uint8Array(0), 2 * POOLED_BYTES)!;
  split.close(big);
  assertEquals(budget.heldBytes, 1000);
  split.close(split.drop(big));
  assertEquals([others, budget.heldBytes], [true, 1000], "only this buffer's share went back");
  assertEquals(split.limitBytes, Infinity);
});
