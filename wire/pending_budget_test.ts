/**
 * Tests for pending_budget.ts through the two framers that use it: what a
 * partial request takes from the budget goes back once it is done, dropped,
 * or its connection ends (a share never given back would refuse every long
 * request in the end), and a request that would pass it is refused. Pure.
 */

import { assert, assertEquals } from "@std/assert";
import { Request } from "../command/request.ts";
import { BufferPool } from "./buffer_pool.ts";
import { LineFramer } from "./line/framer.ts";
import { PendingBudget } from "./pending_budget.ts";
import { RespFramer } from "./resp/framer.ts";
import type { Framer } from "./framer.ts";

const encoder = new TextEncoder();

/** Feeds `text` in chunks of `size` (each copied, as a read buffer is reused), and counts the requests and failures. */
function feed(
  framer: Framer,
  text: string,
  size: number,
): { requests: number; failures: string[] } {
  const bytes = encoder.encode(text);
  const request = new Request();
  let requests = 0;
  const failures: string[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    framer.feed(bytes.slice(at, at + size));
    while (framer.next(request)) {
      if (request.failure !== undefined) failures.push(request.failure.kind);
      else requests++;
    }
  }
  return { requests, failures };
}

const SIZES = [1000, 4096, 5000, 65536, 100_000];

Deno.test({
  name: "a line framer gives back what a long partial line took, once the line is done or dropped",
  permissions: "none",
  fn: () => {
    for (const size of SIZES) {
      const budget = new PendingBudget(Infinity);
      const framer = new LineFramer(1 << 20, undefined, new BufferPool(), budget);
      const long = "a".repeat(300_000);
      const seen = feed(framer, `PUT, k, ${long}\nPUT, k, ${long}\nPING\n`, size);
      assertEquals(seen, { requests: 3, failures: [] }, `chunks of ${size}`);
      framer.release();
      assertEquals(budget.heldBytes, 0, `chunks of ${size}: all given back`);
      // Past the line limit: dropped, and its share given back.
      const tooLong = new LineFramer(100_000, undefined, new BufferPool(), budget);
      assertEquals(feed(tooLong, `${long}\n`, size).failures, ["lineTooLong"]);
      tooLong.release();
      assertEquals(budget.heldBytes, 0, `chunks of ${size}: a line too long gave back`);
      // Its connection ends in the middle of one.
      const cut = new LineFramer(1 << 20, undefined, new BufferPool(), budget);
      feed(cut, long, size);
      assert(size > long.length || budget.heldBytes > 0, `chunks of ${size}: held meanwhile`);
      cut.close();
      assertEquals(budget.heldBytes, 0, `chunks of ${size}: close gave back`);
    }
  },
});

Deno.test({
  name:
    "a line framer refuses a partial line that would pass the budget, and goes on after its \\n",
  permissions: "none",
  fn: () => {
    const budget = new PendingBudget(100_000);
    const framer = new LineFramer(1 << 20, undefined, new BufferPool(), budget);
    const seen = feed(framer, `${"a".repeat(200_000)}\nPING\n`, 8192);
    assertEquals(seen, { requests: 1, failures: ["pendingFull"] });
    framer.release();
    assertEquals(budget.heldBytes, 0);
  },
});

Deno.test({
  name:
    "a RESP framer gives back what a long partial request took, and refuses one past the budget",
  permissions: "none",
  fn: () => {
    const value = "v".repeat(300_000);
    const set = `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n${value}\r\n`;
    for (const size of SIZES) {
      const budget = new PendingBudget(Infinity);
      const framer = new RespFramer(1 << 20, undefined, new BufferPool(), budget);
      assertEquals(
        feed(framer, set + set, size),
        { requests: 2, failures: [] },
        `chunks of ${size}`,
      );
      framer.release();
      assertEquals(budget.heldBytes, 0, `chunks of ${size}: all given back`);
      const cut = new RespFramer(1 << 20, undefined, new BufferPool(), budget);
      feed(cut, set.slice(0, 200_000), size);
      cut.close();
      assertEquals(budget.heldBytes, 0, `chunks of ${size}: close gave back`);
      const small = new PendingBudget(100_000);
      const refused = new RespFramer(1 << 20, undefined, new BufferPool(), small);
      assertEquals(feed(refused, set, size).failures, ["protocol"], `chunks of ${size}`);
      assertEquals(small.heldBytes, 0, `chunks of ${size}: refused, nothing held`);
    }
  },
});
