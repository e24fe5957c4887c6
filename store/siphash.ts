/**
 * SipHash-1-2 over a key's bytes, with a secret 128-bit key: the keyed hash
 * the store's table uses, so that nobody without the key can compute keys
 * that collide (hash flooding). Redis keys its tables with the same variant
 * (one round per word, two to finish: its `siphash.c` says it runs at the
 * speed of the MurmurHash2 it replaced), where 2-4 is the paper's default.
 * The 128-bit key matters because the hashes are not secret from clients: a
 * SCAN cursor is a position in the table. JavaScript has no cheap 64-bit
 * integers, so each 64-bit word is two 32-bit halves, kept as V8's int32
 * (`| 0`, not `>>> 0`, whose values past 2^31 are no int32). The carry of
 * each 64-bit addition is a comparison turned into a number (`+(a < b)`),
 * not a branch (`a < b ? 1 : 0`): the branch follows the key's bits, so the
 * CPU mispredicts it half the time, which made the hash of a 44-byte key
 * cost 180 ns instead of 75 (8-byte keys: 52 against 33). Pure.
 *
 * @module
 */

/** A SipHash key: 128 bits, as four 32-bit words (k0 low, k0 high, k1 low, k1 high). */
export type SipKey = readonly [number, number, number, number];

/** A fresh random key (from the platform's secure random source). */
export function randomSipKey(): SipKey {
  const words = crypto.getRandomValues(new Uint32Array(4));
  return [words[0]!, words[1]!, words[2]!, words[3]!];
}

/**
 * SipHash-1-2 of `bytes[start, end)` under `key`: the high 32 bits of the
 * 64-bit result, as an unsigned integer (the table takes its home slot from
 * the top bits).
 */
export function sipHash12(key: SipKey, bytes: Uint8Array, start: number, end: number): number {
  // v0 = k0 ^ "somepseu", v1 = k1 ^ "dorandom", v2 = k0 ^ "lygenera", v3 = k1 ^ "tedbytes"
  let v0l = key[0] ^ 0x70736575;
  let v0h = key[1] ^ 0x736f6d65;
  let v1l = key[2] ^ 0x6e646f6d;
  let v1h = key[3] ^ 0x646f7261;
  let v2l = key[0] ^ 0x6e657261;
  let v2h = key[1] ^ 0x6c796765;
  let v3l = key[2] ^ 0x79746573;
  let v3h = key[3] ^ 0x74656462;
  let lo = 0;
  let tl = 0;
  let th = 0;
  // The SipRound is written out three times: a loop around it, or a
  // function, costs a fifth more.
  const whole = start + ((end - start) & ~7);
  let at = start;
  // Each 8-byte word, little-endian: one round (c = 1).
  for (; at < whole; at += 8) {
    const ml = bytes[at]! | bytes[at + 1]! << 8 | bytes[at + 2]! << 16 | bytes[at + 3]! << 24;
    const mh = bytes[at + 4]! | bytes[at + 5]! << 8 | bytes[at + 6]! << 16 | bytes[at + 7]! << 24;
    v3l ^= ml;
    v3h ^= mh;
    // SipRound: v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32;
    lo = (v0l + v1l) | 0;
    v0h = (v0h + v1h + +((lo >>> 0) < (v0l >>> 0))) | 0;
    v0l = lo;
    tl = (v1l << 13) | (v1h >>> 19);
    th = (v1h << 13) | (v1l >>> 19);
    v1l = tl ^ v0l;
    v1h = th ^ v0h;
    tl = v0l;
    v0l = v0h;
    v0h = tl;
    // v2 += v3; v3 <<<= 16; v3 ^= v2;
    lo = (v2l + v3l) | 0;
    v2h = (v2h + v3h + +((lo >>> 0) < (v2l >>> 0))) | 0;
    v2l = lo;
    tl = (v3l << 16) | (v3h >>> 16);
    th = (v3h << 16) | (v3l >>> 16);
    v3l = tl ^ v2l;
    v3h = th ^ v2h;
    // v0 += v3; v3 <<<= 21; v3 ^= v0;
    lo = (v0l + v3l) | 0;
    v0h = (v0h + v3h + +((lo >>> 0) < (v0l >>> 0))) | 0;
    v0l = lo;
    tl = (v3l << 21) | (v3h >>> 11);
    th = (v3h << 21) | (v3l >>> 11);
    v3l = tl ^ v0l;
    v3h = th ^ v0h;
    // v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32;
    lo = (v2l + v1l) | 0;
    v2h = (v2h + v1h + +((lo >>> 0) < (v2l >>> 0))) | 0;
    v2l = lo;
    tl = (v1l << 17) | (v1h >>> 15);
    th = (v1h << 17) | (v1l >>> 15);
    v1l = tl ^ v2l;
    v1h = th ^ v2h;
    tl = v2l;
    v2l = v2h;
    v2h = tl;
    v0l ^= ml;
    v0h ^= mh;
  }
  // The last word: the remaining bytes, and the length in its top byte.
  let ml = 0;
  let mh = ((end - start) & 0xff) << 24;
  for (let i = 0; i < end - at; i++) {
    if (i < 4) ml |= bytes[at + i]! << (8 * i);
    else mh |= bytes[at + i]! << (8 * (i - 4));
  }
  v3l ^= ml;
  v3h ^= mh;
  // SipRound: v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32;
  lo = (v0l + v1l) | 0;
  v0h = (v0h + v1h + +((lo >>> 0) < (v0l >>> 0))) | 0;
  v0l = lo;
  tl = (v1l << 13) | (v1h >>> 19);
  th = (v1h << 13) | (v1l >>> 19);
  v1l = tl ^ v0l;
  v1h = th ^ v0h;
  tl = v0l;
  v0l = v0h;
  v0h = tl;
  // v2 += v3; v3 <<<= 16; v3 ^= v2;
  lo = (v2l + v3l) | 0;
  v2h = (v2h + v3h + +((lo >>> 0) < (v2l >>> 0))) | 0;
  v2l = lo;
  tl = (v3l << 16) | (v3h >>> 16);
  th = (v3h << 16) | (v3l >>> 16);
  v3l = tl ^ v2l;
  v3h = th ^ v2h;
  // v0 += v3; v3 <<<= 21; v3 ^= v0;
  lo = (v0l + v3l) | 0;
  v0h = (v0h + v3h + +((lo >>> 0) < (v0l >>> 0))) | 0;
  v0l = lo;
  tl = (v3l << 21) | (v3h >>> 11);
  th = (v3h << 21) | (v3l >>> 11);
  v3l = tl ^ v0l;
  v3h = th ^ v0h;
  // v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32;
  lo = (v2l + v1l) | 0;
  v2h = (v2h + v1h + +((lo >>> 0) < (v2l >>> 0))) | 0;
  v2l = lo;
  tl = (v1l << 17) | (v1h >>> 15);
  th = (v1h << 17) | (v1l >>> 15);
  v1l = tl ^ v2l;
  v1h = th ^ v2h;
  tl = v2l;
  v2l = v2h;
  v2h = tl;
  v0l ^= ml;
  v0h ^= mh;
  // Finalization: two rounds (d = 2).
  v2l ^= 0xff;
  for (let r = 0; r < 2; r++) {
    // SipRound: v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32;
    lo = (v0l + v1l) | 0;
    v0h = (v0h + v1h + +((lo >>> 0) < (v0l >>> 0))) | 0;
    v0l = lo;
    tl = (v1l << 13) | (v1h >>> 19);
    th = (v1h << 13) | (v1l >>> 19);
    v1l = tl ^ v0l;
    v1h = th ^ v0h;
    tl = v0l;
    v0l = v0h;
    v0h = tl;
    // v2 += v3; v3 <<<= 16; v3 ^= v2;
    lo = (v2l + v3l) | 0;
    v2h = (v2h + v3h + +((lo >>> 0) < (v2l >>> 0))) | 0;
    v2l = lo;
    tl = (v3l << 16) | (v3h >>> 16);
    th = (v3h << 16) | (v3l >>> 16);
    v3l = tl ^ v2l;
    v3h = th ^ v2h;
    // v0 += v3; v3 <<<= 21; v3 ^= v0;
    lo = (v0l + v3l) | 0;
    v0h = (v0h + v3h + +((lo >>> 0) < (v0l >>> 0))) | 0;
    v0l = lo;
    tl = (v3l << 21) | (v3h >>> 11);
    th = (v3h << 21) | (v3l >>> 11);
    v3l = tl ^ v0l;
    v3h = th ^ v0h;
    // v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32;
    lo = (v2l + v1l) | 0;
    v2h = (v2h + v1h + +((lo >>> 0) < (v2l >>> 0))) | 0;
    v2l = lo;
    tl = (v1l << 17) | (v1h >>> 15);
    th = (v1h << 17) | (v1l >>> 15);
    v1l = tl ^ v2l;
    v1h = th ^ v2h;
    tl = v2l;
    v2l = v2h;
    v2h = tl;
  }
  return (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
}
