/**
 * Tests that the framers let go of a partial request's buffers at once, not
 * at the garbage collector's next run, which an idle server may not have:
 * when its connection ends (2,000 clients that each left a megabyte kept
 * the server's memory at 750 MB, bench/input_budget.py), when the request
 * grows out of one, and once a big request has run. A buffer borrowed from
 * the pool goes back to it; a big one of the framer's own is freed (its
 * views read as empty). Pure.
 *
 * @module
 */

import { assert, assertEquals, assertFalse } from "@std/assert";
import { Request } from "../command/request.ts";
import { BufferPool, POOLED_BYTES } from "./buffer_pool.ts";
import { LineSplitter } from "./line/lines.ts";
import { PendingBudget } from "./pending_budget.ts";
import { RespFramer } from "./resp/framer.ts";
import { SplitBuffer } from "./split_buffer.ts";

const encoder = new TextEncoder();
const test = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });

/** Whether `view`'s memory was freed (its buffer detached). */
function freed(view: Uint8Array): boolean {
  return (view.buffer as ArrayBuffer).detached;
}

function splitter(pool = new BufferPool(), budget = new PendingBudget(Infinity)): LineSplitter {
  return new LineSplitter(1 << 20, pool, budget);
}

test("LineSplitter.close() gives a partial line's borrowed buffer back, and frees a big one", () => {
  const pool = new BufferPool();
  const budget = new PendingBudget(Infinity);
  const borrowed = splitter(pool, budget);
  borrowed.feed(encoder.encode("a".repeat(10_000)));
  assertEquals(borrowed.next(), null);
  assertEquals(pool.lent, 1);
  borrowed.close();
  assertEquals([pool.lent, pool.idle, budget.heldBytes], [0, 1, 0]);

  const big = splitter(pool, budget);
  big.feed(encoder.encode("a".repeat(300_000)));
  assertEquals(big.next(), null);
  const held = big.pendingLine;
  assert(held.buffer.byteLength > POOLED_BYTES);
  big.close();
  assert(freed(held), "freed when the connection ended");
  assertEquals([pool.lent, budget.heldBytes], [0, 0]);
});

test("LineSplitter frees a big buffer a partial line outgrew", () => {
  const lines = splitter();
  lines.feed(encoder.encode("a".repeat(100_000)));
  assertEquals(lines.next(), null);
  const first = lines.pendingLine;
  lines.feed(encoder.encode("b".repeat(200_000)));
  assertEquals(lines.next(), null);
  assert(freed(first), "the outgrown buffer");
  const second = lines.pendingLine;
  assertEquals(second.length, 300_000);
  assertEquals([second[0], second[299_999]], [0x61, 0x62]);
  lines.feed(encoder.encode("\n"));
  assertEquals(lines.next(), "line");
  assertEquals(lines.end - lines.start, 300_000, "the line whole");
});

test("LineSplitter frees a big line handed over at the end of the stream once it has run", () => {
  for (const end of ["release", "close"] as const) {
    const budget = new PendingBudget(Infinity);
    const lines = splitter(new BufferPool(), budget);
    lines.feed(encoder.encode(`PING\n${"a".repeat(300_000)}`));
    assertEquals(lines.next(), "line");
    assertEquals(lines.next(), null);
    lines.endLine();
    assertEquals(lines.next(), "line");
    const line = lines.bytes;
    assertEquals(lines.end - lines.start, 300_000);
    assertFalse(freed(line), "whole while it runs");
    assertEquals(budget.heldBytes, line.length, "and counted while it runs");
    if (end === "release") lines.release();
    else lines.close();
    assert(freed(line), `freed by ${end}()`);
    assertEquals([lines.bytes.length, budget.heldBytes], [0, 0]);
  }
});

test("LineSplitter frees a big line's buffer at the next call, though a partial line follows it", () => {
  // release() does nothing while a partial line is held: the line's big
  // buffer must go before that, or an idle client keeps it, uncounted.
  const lines = splitter();
  lines.feed(encoder.encode("a".repeat(200_000)));
  assertEquals(lines.next(), null);
  lines.feed(encoder.encode(`\n${"b".repeat(200_000)}`));
  assertEquals(lines.next(), "line");
  const first = lines.bytes;
  assertFalse(freed(first), "whole while it runs");
  assertEquals(lines.next(), null); // The next line is held, partial.
  assert(freed(first), "freed by the next call");
  lines.release();
  assertEquals(lines.pendingBytes, 200_000);
  lines.feed(encoder.encode("\n"));
  assertEquals(lines.next(), "line");
  assertEquals(lines.end - lines.start, 200_000, "the next line whole");
  const second = lines.bytes;
  assertEquals([second[0], second[199_999]], [0x62, 0x62]);
  assertEquals(lines.next(), null);
  assert(freed(second), "freed by the next call");
});

test("SplitBuffer frees a big buffer it outgrows or drops, and gives a borrowed one back", () => {
  const pool = new BufferPool();
  const budget = new PendingBudget(Infinity);
  const split = new SplitBuffer(pool, budget);
  const held = encoder.encode("*3\r\n$3\r\nSET\r\n");
  const borrowed = split.grow(new Uint8Array(0), held, 10_000)!;
  assertEquals(pool.lent, 1);
  const big = split.grow(borrowed, borrowed.subarray(0, held.length), 100_000)!;
  assertEquals([pool.lent, pool.idle], [0, 1]);
  assertFalse(freed(borrowed), "back in the pool, not freed");
  const bigger = split.grow(big, big.subarray(0, held.length), 300_000)!;
  assert(freed(big), "the outgrown big buffer");
  assertEquals(bigger.subarray(0, held.length), held);
  split.drop(bigger); // The connection ended.
  assert(freed(bigger), "freed when the connection ended");
  assertEquals([pool.lent, budget.heldBytes], [0, 0]);
});

test("RespFramer.close() frees a big partial request's buffer, and gives a borrowed one back", () => {
  const value = "v".repeat(300_000);
  const set = encoder.encode(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n${value}\r\n`);
  for (const cut of [10_000, 200_000]) {
    const pool = new BufferPool();
    const budget = new PendingBudget(Infinity);
    const framer = new RespFramer(1 << 20, undefined, pool, budget);
    const request = new Request();
    for (let at = 0; at < cut; at += 5000) {
      framer.feed(set.slice(at, Math.min(at + 5000, cut)));
      assertFalse(framer.next(request));
    }
    // The request waits in the framer's buffer, its arguments so far in place.
    const held = request.bytes;
    assertEquals(held.buffer.byteLength > POOLED_BYTES, cut > POOLED_BYTES);
    framer.close();
    assertEquals([pool.lent, budget.heldBytes], [0, 0], `cut at ${cut}`);
    assertEquals(freed(held), cut > POOLED_BYTES, `cut at ${cut}`);
  }
});

test("RespFramer: a request refused after a big one shows no bytes, not the freed ones", () => {
  const value = "v".repeat(300_000);
  const set = encoder.encode(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n${value}\r\n`);
  const framer = new RespFramer(1 << 20, undefined, new BufferPool(), new PendingBudget(Infinity));
  const request = new Request();
  let got = 0;
  for (let at = 0; at < set.length; at += 65_536) {
    framer.feed(set.slice(at, at + 65_536));
    while (framer.next(request)) got++;
  }
  assertEquals(got, 1);
  framer.feed(encoder.encode("*x\r\n")); // Broken: no count.
  assert(framer.next(request));
  assertEquals(request.failure?.kind, "protocol");
  // What the request log shows of it (server/request_log.ts).
  assertEquals(request.bytes.subarray(request.rawStart, request.rawEnd).length, 0);
});

test("RespFramer frees a big request's buffer once it has run, though the next one has begun", () => {
  // A client that pipelines stops between two requests: the start of the
  // next one kept the megabyte before it, and its share of the budget, for
  // as long as the client idled (500 such clients: 537 MB held, 229 of
  // them refused, bench/input_budget.py --tail). The line framer lets go of
  // its big buffer there too.
  const value = "v".repeat(300_000);
  const set = encoder.encode(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n${value}\r\n`);
  const tails: [string, string, number][] = [
    // The next request's start; its rest; what the budget counts meanwhile.
    ["*2\r\n$3\r\nGET\r\n$1", "\r\nk\r\n", 0], // Parsed up to a header: resumed, moved.
    ["*2\r\n$3\r\nGET\r\n$1\r\nk", "\r\n", 0], // Parsed up to the data.
    [
      `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10000\r\n${"w".repeat(6_000)}`,
      `${"w".repeat(4_000)}\r\n`,
      POOLED_BYTES,
    ],
    ["PI", "NG\r\n", 0], // Inline.
  ];
  for (const [start, rest, counted] of tails) {
    const pool = new BufferPool();
    const budget = new PendingBudget(Infinity);
    const framer = new RespFramer(1 << 20, undefined, pool, budget);
    const request = new Request();
    const bytes = new Uint8Array([...set, ...encoder.encode(start)]);
    let got = 0;
    let big: Uint8Array = new Uint8Array(0);
    for (let at = 0; at < bytes.length; at += 65_536) {
      framer.feed(bytes.slice(at, at + 65_536));
      while (framer.next(request)) {
        got++;
        big = request.bytes;
        assertEquals(request.count, 2);
        assertEquals(request.ends[1]! - request.starts[1]!, value.length, "the SET whole");
      }
    }
    assertEquals(got, 1);
    assert(freed(big), `${JSON.stringify(start)}: the SET's buffer freed`);
    assertEquals(framer.pendingBytes, start.length);
    assertEquals(budget.heldBytes, counted, `${JSON.stringify(start)}: counted`);
    assertEquals(pool.lent, counted === 0 ? 0 : 1);
    framer.feed(encoder.encode(rest));
    assert(framer.next(request), `${JSON.stringify(start)}: the next request`);
    const args = Array.from(
      { length: request.count },
      (_, i) =>
        new TextDecoder().decode(request.bytes.subarray(request.starts[i], request.ends[i])),
    );
    assertEquals(
      request.command?.name,
      start === "PI" ? "PING" : start.includes("GET") ? "GET" : "SET",
    );
    if (start.includes("GET")) assertEquals(args, ["k"]);
    if (counted !== 0) assertEquals(args, ["k", "w".repeat(10_000)]);
    assertFalse(framer.next(request));
    framer.close();
    assertEquals([pool.lent, budget.heldBytes], [0, 0]);
  }
});
