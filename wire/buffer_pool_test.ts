/**
 * Tests of the buffer pool (wire/buffer_pool.ts) and of what borrows from
 * it: the answer buffer, the line splitter and the RESP framer borrow past
 * 4 KiB and give back on release(), never while they still hold bytes; a
 * request lets go of the room many arguments grew. Pure.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { Request } from "../command/request.ts";
import { resp } from "../testing/resp.ts";
import { AnswerBuffer } from "./answer_buffer.ts";
import { BufferPool, OWN_BYTES, POOLED_BYTES } from "./buffer_pool.ts";
import { LineSplitter } from "./line/lines.ts";
import { RespFramer } from "./resp/framer.ts";

const encoder = new TextEncoder();
const test = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });

test("BufferPool lends buffers again, keeps 32 for later and frees the rest at once", () => {
  const pool = new BufferPool();
  const first = pool.take();
  assertEquals(first.length, POOLED_BYTES);
  pool.give(first);
  assert(pool.take() === first, "lent again, not allocated");
  const more = Array.from({ length: 39 }, () => pool.take());
  assertEquals(pool.lent, 40);
  for (const buffer of [first, ...more]) pool.give(buffer);
  assertEquals([pool.lent, pool.idle], [0, 32]);
  assertEquals(more.at(-1)!.byteLength, 0, "one past the 32 kept was freed, not left to the GC");
});

test("AnswerBuffer borrows past 4 KiB, keeps it while answers flow, and release() gives it back", () => {
  const pool = new BufferPool();
  const out = new AnswerBuffer(POOLED_BYTES, pool);
  out.addLine(encoder.encode("PONG\n"));
  assertEquals(out.bytes().buffer.byteLength, OWN_BYTES);
  out.addBytes(new Uint8Array(10_000).fill(0x61), 0, 10_000);
  assertEquals([pool.lent, out.bytes().buffer.byteLength], [1, POOLED_BYTES]);
  assertEquals(out.bytes()[0], 0x50, "what came before was copied");
  out.clear(); // Written: a connection under load goes on with the same buffer.
  assertEquals(pool.lent, 1);
  out.addByte(0x31);
  out.release(); // Answers not written yet stay.
  assertEquals([pool.lent, out.length], [1, 1]);
  out.clear();
  out.release();
  assertEquals([pool.lent, pool.idle], [0, 1]);
  out.addLine(encoder.encode("PONG\n"));
  assertEquals(out.bytes().buffer.byteLength, OWN_BYTES, "back in its own 4 KiB");
  out.addBytes(new Uint8Array(100_000), 0, 100_000); // Past the pool's size: a buffer of its own.
  assertEquals([pool.lent, pool.idle], [0, 1]);
  out.clear();
  assertEquals(out.bytes().buffer.byteLength, OWN_BYTES, "the big one dropped");
});

test("LineSplitter borrows for a long line split across chunks and gives it back on release()", () => {
  const pool = new BufferPool();
  const lines = new LineSplitter(1024 * 1024, pool);
  const line = "x".repeat(50_000);
  lines.feed(encoder.encode(`PING\n${line.slice(0, 20_000)}`));
  assertEquals(lines.next(), "line");
  assertEquals(lines.next(), null);
  assertEquals(pool.lent, 1);
  lines.release(); // The line is not done: it stays.
  lines.feed(encoder.encode(`${line.slice(20_000)}\nGET, a`));
  assertEquals(lines.next(), "line");
  assertEquals(lines.end - lines.start, 50_000);
  assertEquals(lines.next(), null);
  lines.release(); // "GET, a" is held: nothing is given back.
  assertEquals(pool.lent, 1);
  lines.feed(encoder.encode("\n"));
  assertEquals(lines.next(), "line");
  assertEquals(new TextDecoder().decode(lines.bytes.subarray(lines.start, lines.end)), "GET, a");
  assertEquals(lines.next(), null);
  lines.release();
  assertEquals([pool.lent, pool.idle], [0, 1]);
  assertEquals(lines.bytes.length, 0, "no view of the last chunk is kept");
  lines.feed(encoder.encode("GET, b"));
  assertEquals(lines.next(), null);
  assert(lines.pendingLine.buffer.byteLength <= OWN_BYTES, "a short partial line in its own");
});

test("RespFramer borrows for a request split across reads and gives it back on release()", () => {
  const pool = new BufferPool();
  const framer = new RespFramer(1024 * 1024, undefined, pool);
  const request = new Request();
  const set = encoder.encode(resp("SET", "k", "v".repeat(30_000)));
  framer.feed(set.slice(0, 10_000));
  assertEquals(framer.next(request), false);
  framer.release(); // Held: it stays.
  framer.feed(set.slice(10_000, 20_000));
  assertEquals(framer.next(request), false);
  assertEquals(pool.lent, 1);
  framer.feed(set.slice(20_000));
  assertEquals(framer.next(request), true);
  assertEquals(request.ends[1]! - request.starts[1]!, 30_000);
  assertEquals(framer.next(request), false);
  framer.release();
  assertEquals([pool.lent, pool.idle], [0, 1]);
});

test("Request.release() lets go of the bytes and of the room past 1,024 arguments", () => {
  const request = new Request();
  for (let i = 0; i < 5000; i++) request.addArg(i, i + 1);
  request.release();
  assertEquals([request.bytes.length, request.starts.length, request.ends.length], [0, 4, 4]);
  for (let i = 0; i < 100; i++) request.addArg(i, i + 1);
  const starts = request.starts;
  request.release();
  assert(request.starts === starts, "a few arguments' room is kept");
});
