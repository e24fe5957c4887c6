/**
 * Tests for histogram.ts: buckets within 0.4% of every value, and
 * percentiles. Pure.
 */

import { assert, assertEquals } from "@std/assert";
import { bucketMid, bucketOf, Histogram } from "./histogram.ts";

Deno.test({
  name: "bucketOf() keeps every value within 0.4% of its bucket's middle, and in order",
  permissions: "none",
  fn: () => {
    let last = -1;
    for (let ns = 0; ns < 2 ** 40; ns = Math.floor(ns * 1.01) + 1) {
      const bucket = bucketOf(ns);
      assert(bucket >= last, `bucket order broken at ${ns}`);
      last = bucket;
      const mid = bucketMid(bucket);
      assert(Math.abs(mid - ns) <= Math.max(0.5, ns * 0.004), `${ns} ns in a bucket around ${mid}`);
    }
    assertEquals(bucketOf(-5), 0, "a negative value (a clock step) counts as 0");
  },
});

Deno.test({
  name: "Histogram.percentile() reads quantiles off the buckets, never above the max",
  permissions: "none",
  fn: () => {
    const histogram = new Histogram();
    assertEquals(histogram.percentile(0.5), 0, "empty");
    for (let us = 1; us <= 1000; us++) histogram.record(us * 1000);
    const near = (q: number, ns: number) => {
      const got = histogram.percentile(q);
      assert(Math.abs(got - ns) <= ns * 0.005, `p${q * 100}: ${got}, expected about ${ns}`);
    };
    near(0.5, 500_000);
    near(0.99, 990_000);
    near(0.001, 1_000);
    assertEquals(histogram.percentile(1), 1_000_000);
    assertEquals(histogram.max, 1_000_000);
  },
});
