/**
 * {@linkcode Histogram}: latencies in nanoseconds, in log-linear buckets, for
 * the bench's percentiles.
 *
 * @module
 */

// Log-linear buckets: exact below SUB_BUCKETS ns, then SUB_BUCKETS buckets
// per power of two, so a bucket's midpoint is within 0.4% of any value in it.
const SUB_BITS = 7;
const SUB_BUCKETS = 2 ** SUB_BITS;

/** A latency histogram in nanoseconds, with the exact maximum beside it. */
export class Histogram {
  #counts = new Float64Array((64 - SUB_BITS) * SUB_BUCKETS);
  #total = 0;
  #max = 0;

  /** The largest value recorded, exactly. */
  get max(): number {
    return this.#max;
  }

  /** Records one latency. */
  record(ns: number): void {
    if (ns > this.#max) this.#max = ns;
    this.#total++;
    this.#counts[bucketOf(ns)]!++;
  }

  /** The value at quantile `q` (0 to 1): its bucket's midpoint, at most the max. */
  percentile(q: number): number {
    if (this.#total === 0) return 0;
    const target = Math.max(1, Math.ceil(q * this.#total));
    let seen = 0;
    for (let index = 0; index < this.#counts.length; index++) {
      seen += this.#counts[index]!;
      if (seen >= target) return Math.min(bucketMid(index), this.#max);
    }
    return this.#max;
  }
}

/** The bucket of a value in nanoseconds. */
export function bucketOf(ns: number): number {
  if (ns < SUB_BUCKETS) return ns < 0 ? 0 : ns;
  if (ns < 2 ** 31) {
    const shift = 31 - Math.clz32(ns) - SUB_BITS;
    return ((shift + 1) << SUB_BITS) + (ns >>> shift) - SUB_BUCKETS;
  }
  const shift = Math.floor(Math.log2(ns)) - SUB_BITS;
  return (shift + 1) * SUB_BUCKETS + Math.floor(ns / 2 ** shift) - SUB_BUCKETS;
}

/** The middle of a bucket's range, the value a percentile reports for it. */
export function bucketMid(index: number): number {
  if (index < SUB_BUCKETS) return index;
  const shift = (index >> SUB_BITS) - 1;
  const low = ((index & (SUB_BUCKETS - 1)) + SUB_BUCKETS) * 2 ** shift;
  return low + (2 ** shift - 1) / 2;
}
