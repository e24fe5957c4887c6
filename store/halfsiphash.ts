/**
 * HalfSipHash-1-3 over a key's bytes, with a secret 64-bit key: the keyed
 * hash the store's table uses, so that nobody without the key can compute
 * keys that collide (hash flooding). It is SipHash's 32-bit sibling, by the
 * same authors, and what Linux's `hsiphash()` uses to key hash tables on
 * 32-bit machines: JavaScript's fast integers are 32-bit, so it costs about a
 * third of SipHash-1-3 here (BENCHMARKS.md, Hash flooding). Its key is 64
 * bits, enough for a table whose hashes never leave the process; the order of
 * LIST and SCAN shows a few bits of them, and finding the key from those would
 * take about 2^64 trials against a key that changes at every start. Pure.
 *
 * @module
 */

/** A HalfSipHash key: 64 bits, as two 32-bit words (k0, k1). */
export type HalfSipKey = readonly [number, number];

/** A fresh random key (from the platform's secure random source). */
export function randomHalfSipKey(): HalfSipKey {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return [words[0]!, words[1]!];
}

/**
 * HalfSipHash-1-3 of `bytes[start, end)` under `key`, the 32-bit result as an
 * unsigned integer (the table takes its home slot from the top bits).
 */
export function halfSipHash13(
  key: HalfSipKey,
  bytes: Uint8Array,
  start: number,
  end: number,
): number {
  let v0 = key[0] | 0;
  let v1 = key[1] | 0;
  let v2 = (key[0] ^ 0x6c796765) | 0;
  let v3 = (key[1] ^ 0x74656462) | 0;
  // The SipRound on 32-bit words (rotations 5, 16, 8, 7, 13, 16) is written
  // out three times: a function call or a loop around it costs a fifth more.
  const whole = start + ((end - start) & ~3);
  let at = start;
  // Each 4-byte word, little-endian: one round (c = 1).
  for (; at < whole; at += 4) {
    const m = bytes[at]! | bytes[at + 1]! << 8 | bytes[at + 2]! << 16 | bytes[at + 3]! << 24;
    v3 ^= m;
    v0 = (v0 + v1) | 0;
    v1 = (v1 << 5) | (v1 >>> 27);
    v1 ^= v0;
    v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0;
    v3 = (v3 << 8) | (v3 >>> 24);
    v3 ^= v2;
    v0 = (v0 + v3) | 0;
    v3 = (v3 << 7) | (v3 >>> 25);
    v3 ^= v0;
    v2 = (v2 + v1) | 0;
    v1 = (v1 << 13) | (v1 >>> 19);
    v1 ^= v2;
    v2 = (v2 << 16) | (v2 >>> 16);
    v0 ^= m;
  }
  // The last word: the remaining bytes, and the length in its top byte.
  let m = (end - start) << 24;
  const rest = end - at;
  if (rest > 2) m |= bytes[at + 2]! << 16;
  if (rest > 1) m |= bytes[at + 1]! << 8;
  if (rest > 0) m |= bytes[at]!;
  v3 ^= m;
  v0 = (v0 + v1) | 0;
  v1 = (v1 << 5) | (v1 >>> 27);
  v1 ^= v0;
  v0 = (v0 << 16) | (v0 >>> 16);
  v2 = (v2 + v3) | 0;
  v3 = (v3 << 8) | (v3 >>> 24);
  v3 ^= v2;
  v0 = (v0 + v3) | 0;
  v3 = (v3 << 7) | (v3 >>> 25);
  v3 ^= v0;
  v2 = (v2 + v1) | 0;
  v1 = (v1 << 13) | (v1 >>> 19);
  v1 ^= v2;
  v2 = (v2 << 16) | (v2 >>> 16);
  v0 ^= m;
  // Finalization: three rounds (d = 3).
  v2 ^= 0xff;
  for (let r = 0; r < 3; r++) {
    v0 = (v0 + v1) | 0;
    v1 = (v1 << 5) | (v1 >>> 27);
    v1 ^= v0;
    v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0;
    v3 = (v3 << 8) | (v3 >>> 24);
    v3 ^= v2;
    v0 = (v0 + v3) | 0;
    v3 = (v3 << 7) | (v3 >>> 25);
    v3 ^= v0;
    v2 = (v2 + v1) | 0;
    v1 = (v1 << 13) | (v1 >>> 19);
    v1 ^= v2;
    v2 = (v2 << 16) | (v2 >>> 16);
  }
  return (v1 ^ v3) >>> 0;
}
