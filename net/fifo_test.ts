import { assert, assertEquals } from "@std/assert";
import { Fifo } from "./fifo.ts";

const test = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });

test("Fifo: items come out in the order they went in, across the cuts that drop the taken ones", () => {
  const fifo = new Fifo<number>();
  assertEquals([fifo.length, fifo.first, fifo.shift()], [0, undefined, undefined]);
  let next = 0;
  let expected = 0;
  // Uneven rounds of pushes and shifts, so the queue is cut at many lengths.
  for (let round = 1; round <= 60; round++) {
    for (let i = 0; i < round * 97; i++) fifo.push(next++);
    for (let i = 0; i < round * 61; i++) {
      assertEquals(fifo.first, expected);
      assertEquals(fifo.shift(), expected++);
    }
    assertEquals(fifo.length, next - expected);
  }
  const rest = fifo.drain();
  assertEquals(rest, Array.from({ length: next - expected }, (_, i) => expected + i));
  assertEquals([fifo.length, fifo.first, fifo.shift()], [0, undefined, undefined]);
  fifo.push(7);
  assertEquals([fifo.length, fifo.shift(), fifo.length], [1, 7, 0]);
});

test("Fifo: 300,000 items pushed, then shifted, take linear time", () => {
  // An array's shift() took 36 s for these in AnswerQueue (V8 moves a large array's every element).
  const n = 300_000;
  const fifo = new Fifo<{ i: number }>();
  for (let i = 0; i < n; i++) fifo.push({ i });
  const started = performance.now();
  for (let i = 0; i < n; i++) assert(fifo.shift()!.i === i);
  const ms = performance.now() - started;
  assert(ms < 2000, `shifted ${n} items in ${Math.round(ms)} ms`);
});
