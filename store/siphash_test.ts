/**
 * Tests for siphash.ts: the same answers as a reference written from the
 * SipHash paper with 64-bit BigInts, for every length around the word
 * boundaries. Pure.
 */

import { assertEquals } from "@std/assert";
import { sipHash13, type SipKey } from "./siphash.ts";

const MASK = (1n << 64n) - 1n;

function rotl(x: bigint, n: bigint): bigint {
  return ((x << n) | (x >> (64n - n))) & MASK;
}

/** SipHash-c-d over bytes with a 128-bit key, straight from the paper. */
function reference(k0: bigint, k1: bigint, bytes: Uint8Array, c: number, d: number): bigint {
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & MASK;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & MASK;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & MASK;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & MASK;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  const words = Math.floor(bytes.length / 8);
  for (let w = 0; w <= words; w++) {
    let m = 0n;
    const end = w < words ? 8 : bytes.length - 8 * words;
    for (let i = 0; i < end; i++) m |= BigInt(bytes[8 * w + i]!) << BigInt(8 * i);
    if (w === words) m |= BigInt(bytes.length & 0xff) << 56n;
    v3 ^= m;
    for (let r = 0; r < c; r++) round();
    v0 ^= m;
  }
  v2 ^= 0xffn;
  for (let r = 0; r < d; r++) round();
  return (v0 ^ v1 ^ v2 ^ v3) & MASK;
}

Deno.test({
  name: "sipHash13() gives the reference's answers, for lengths 0 to 40 and random keys",
  permissions: "none",
  fn: () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    for (let trial = 0; trial < 20; trial++) {
      const words = [next(), next(), next(), next()] as const;
      const key: SipKey = words;
      const k0 = BigInt(words[0]) | (BigInt(words[1]) << 32n);
      const k1 = BigInt(words[2]) | (BigInt(words[3]) << 32n);
      for (let length = 0; length <= 40; length++) {
        const bytes = Uint8Array.from({ length: length + 6 }, () => next() & 0xff);
        const expected = Number(reference(k0, k1, bytes.subarray(3, 3 + length), 1, 3) >> 32n);
        assertEquals(sipHash13(key, bytes, 3, 3 + length), expected, `length ${length}`);
      }
    }
  },
});
