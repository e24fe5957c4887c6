/**
 * Keys that collide under FNV-1a, the store's hash before SipHash: the
 * multicollisions of issue 12, which hold whatever the seed. For the flood
 * test and benchmark (store/flood_test.ts, store/flood_bench.ts).
 *
 * @module
 */

const encoder = new TextEncoder();
const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/** FNV-1a's offset basis (its state before any byte). */
export const FNV_OFFSET = 0x811c9dc5;
/** FNV-1a's prime. */
export const FNV_PRIME = 0x01000193;

/** FNV-1a over `text`'s bytes from `state` (the store's old hash, seeded by the start state). */
export function fnv1a(state: number, text: string): number {
  let hash = state;
  for (const byte of encoder.encode(text)) hash = Math.imul(hash ^ byte, FNV_PRIME);
  return hash >>> 0;
}

/** 2^levels keys of valid UTF-8 letters and digits that share one FNV-1a hash from `start`. */
export function craftCollisions(start: number, levels: number): string[] {
  let seed = 1;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const block = () => Array.from({ length: 4 }, () => ALPHABET[Math.floor(random() * 62)]).join("");
  let state = start;
  let keys = [""];
  for (let level = 0; level < levels; level++) {
    const seen = new Map<number, string>();
    for (;;) {
      const candidate = block();
      const next = fnv1a(state, candidate);
      const other = seen.get(next);
      if (other !== undefined && other !== candidate) {
        keys = keys.flatMap((key) => [key + other, key + candidate]);
        state = next;
        break;
      }
      seen.set(next, candidate);
    }
  }
  return keys;
}
