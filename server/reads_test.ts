/**
 * Tests of a connection's read buffers (server/reads.ts): how they grow,
 * what goes back to the pool once the connection waits, and which few
 * connections keep a borrowed buffer while they wait. Pure: the reads are
 * told what they brought.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { BufferPool, POOLED_BYTES } from "../wire/buffer_pool.ts";
import { ReadBuffers } from "./reads.ts";

const test = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });

/** Reads `bytes` as they would come while more is waiting: each read fills its buffer. */
function readFull(reads: ReadBuffers, bytes: number): void {
  while (bytes > 0) {
    const buffer = reads.next;
    const n = Math.min(buffer.length, bytes);
    reads.read(buffer, n);
    bytes -= n;
  }
}

test("ReadBuffers grow from 1 KiB to 16 KiB of their own, then borrow 64 KiB from the pool", () => {
  const pool = new BufferPool();
  const reads = new ReadBuffers(pool);
  const sizes: number[] = [];
  for (let i = 0; i < 7; i++) {
    const buffer = reads.next;
    sizes.push(buffer.length);
    reads.read(buffer, buffer.length);
  }
  assertEquals(sizes, [1024, 2048, 4096, 8192, 16384, POOLED_BYTES, POOLED_BYTES]);
  assertEquals(pool.lent, 1);
});

test("ReadBuffers give back a borrowed buffer once a batch of up to 16 KiB is drained", () => {
  const pool = new BufferPool();
  const reads = new ReadBuffers(pool);
  readFull(reads, 40_000); // A burst: 31 KiB in its own reads, the rest borrowed.
  reads.drained();
  assertEquals([pool.lent, pool.holders], [1, 1], "a batch past 16 KiB: it holds on");
  reads.read(reads.next, 5); // A PING, in the borrowed buffer.
  reads.drained();
  assertEquals([pool.lent, pool.holders], [0, 0]);
  assertEquals(reads.next.length, 16384, "it waits with its own");
  reads.read(reads.next, 100);
  reads.drained();
  assertEquals([pool.lent, reads.next.length], [0, 16384], "a small batch borrows nothing");
});

test("ReadBuffers of a client that pipelines batches past 16 KiB keep the borrowed buffer, 32 at most", () => {
  const pool = new BufferPool();
  const connections = Array.from({ length: 33 }, () => new ReadBuffers(pool));
  for (const reads of connections) {
    readFull(reads, 40_000); // A batch of 40 KB (the last read drains the socket).
    reads.drained();
  }
  assertEquals([pool.holders, pool.lent], [32, 32]);
  assert(connections.slice(0, 32).every((reads) => reads.next.length === POOLED_BYTES));
  assertEquals(connections[32]!.next.length, 16384, "the 33rd waits with its own");
  const held = connections[0]!.next;
  connections[0]!.read(held, 23_000); // The next batch: one read.
  connections[0]!.drained();
  assert(connections[0]!.next === held, "the same buffer, no borrowing again");
  connections[0]!.end();
  assertEquals(pool.holders, 31, "an ended connection lets another hold on");
});
