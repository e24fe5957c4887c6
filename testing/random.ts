/**
 * {@linkcode mulberry32}: a tiny seeded PRNG for tests, so that a failure
 * found by random input can be replayed from its seed.
 *
 * @module
 */

/** A generator of numbers in [0, 1) from `seed` (mulberry32): the same seed, the same numbers. */
export function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
