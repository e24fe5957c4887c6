/**
 * How long the runs of a `Table`'s slots (table.ts) are, or would
 * be: the longest probe, a diagnostic, and the smallest size a shrink can
 * take without packing the keys left into one long run. Both are passes
 * over a whole slot array (`[entry, hash]` per slot, a live entry above 0,
 * a key's home slot at `hash >>> shift`), made on a resize or for a
 * diagnostic, never on a key's lookup.
 *
 * @module
 */

/** How many slots past its home the farthest key of `slots` sits. */
export function probeLength(slots: Int32Array, shift: number): number {
  const length = slots.length >>> 1;
  const mask = length - 1;
  let longest = 0;
  for (let i = 0; i < length; i++) {
    if (slots[2 * i]! <= 0) continue;
    const distance = (i - (slots[2 * i + 1]! >>> shift)) & mask;
    if (distance > longest) longest = distance;
  }
  return longest;
}

/**
 * The smallest table of at least `minLength` slots, and smaller than the
 * one of `slots`, where no 64 slots are home to more than 32 of the keys:
 * the capacity if there is none. Keys deleted in hash order (SCAN and DEL,
 * the expiry sweep) leave the rest bunched in part of the hash space, and
 * homes follow the hash's top bits: a table sized for their count alone
 * would pack them into one run of tens of thousands of slots (a million
 * keys, 88% deleted by SCAN + DEL: every later lookup 18x slower, and the
 * deletes stalled for seconds while the move probed that run). One pass
 * over the slots, counting homes per 64 slots of the largest table it
 * could be.
 */
export function shrinkLength(slots: Int32Array, minLength: number): number {
  const capacity = slots.length >>> 1;
  let length = capacity >>> 1;
  // Small tables: a run is short whatever happens.
  if (length < 4096) return minLength;
  const windowShift = 32 - Math.log2(length) + 6;
  let counts = new Int32Array(length >>> 6);
  for (let i = 0; i < slots.length; i += 2) {
    if (slots[i]! > 0) counts[(slots[i + 1]! >>> 0) >>> windowShift]!++;
  }
  // Halving the table adds up pairs of windows: it only gets denser.
  let best = capacity;
  for (;;) {
    let most = 0;
    for (let w = 0; w < counts.length; w++) if (counts[w]! > most) most = counts[w]!;
    if (most > 32) break;
    best = length;
    if (length / 2 < minLength || counts.length < 2) break;
    const halved = new Int32Array(counts.length >>> 1);
    for (let w = 0; w < halved.length; w++) halved[w] = counts[2 * w]! + counts[2 * w + 1]!;
    counts = halved;
    length /= 2;
  }
  return best;
}
