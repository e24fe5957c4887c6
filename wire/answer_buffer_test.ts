/**
 * Unit tests of the answer buffer (wire/answer_buffer.ts): what is added
 * comes out in order, a big answer's memory is given back by clear(), and
 * an answer past 64 MiB grows in place instead of by copying.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { AnswerBuffer } from "./answer_buffer.ts";

const MIB = 1024 * 1024;
const test = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });

test("AnswerBuffer keeps what is added, in order, and clear() gives a big answer's memory back", () => {
  const out = new AnswerBuffer(4096);
  out.addLine(new TextEncoder().encode("Success!\n"));
  out.addDecimal(1234);
  out.addByte(0x0a);
  out.addText("값\n");
  out.addBytes(new Uint8Array(5000).fill(0x61), 100, 140);
  assertEquals(new TextDecoder().decode(out.bytes()), `Success!\n1234\n값\n${"a".repeat(40)}`);
  out.addBytes(new Uint8Array(10_000), 0, 10_000);
  out.clear();
  assertEquals(out.length, 0);
  out.addByte(0x31);
  assert(out.bytes().buffer.byteLength <= 4096, "the big buffer was let go");
});

test("AnswerBuffer writes text (ASCII by hand, the rest as UTF-8) and integers of every sign and size", () => {
  const out = new AnswerBuffer(16);
  const texts = ["OK", "", "ERR 값 is 😀 here", "é", "a\u0000b", "\ud800 lone"];
  const integers = [
    0,
    -0,
    7,
    -7,
    1234567890,
    -(2 ** 53 - 1),
    2 ** 53,
    1.5,
    NaN,
    -(2n ** 63n),
    2n ** 63n - 1n,
  ];
  let expected = "";
  for (const text of texts) {
    out.addText(text);
    out.addByte(0x7c);
    expected += `${text.replace("\ud800", "\ufffd")}|`;
  }
  for (const n of integers) {
    out.addInteger(n);
    out.addByte(0x7c);
    expected += `${String(n)}|`;
  }
  assertEquals(new TextDecoder().decode(out.bytes()), expected);
});

test("AnswerBuffer past 64 MiB grows in place: what it holds is not copied again", () => {
  const out = new AnswerBuffer();
  const chunk = new Uint8Array(MIB).fill(0x62);
  for (let i = 0; i < 40; i++) out.addBytes(chunk, 0, chunk.length); // 64 MiB, in a buffer that can grow.
  const buffer = out.bytes().buffer;
  for (let i = 0; i < 60; i++) out.addBytes(chunk, 0, chunk.length); // 128 MiB, in place.
  assert(out.bytes().buffer === buffer, "grown in place");
  assertEquals(out.length, 100 * MIB);
  const bytes = out.bytes();
  assert(bytes[0] === 0x62 && bytes[50 * MIB] === 0x62 && bytes[100 * MIB - 1] === 0x62);
  out.clear();
  assertEquals(buffer.byteLength, 0, "clear() gave its pages back at once");
});
