/** Tests for random.ts: sfc32 streams are repeatable and independent. Pure. */

import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { Sfc32 } from "./random.ts";

Deno.test({
  name: "Sfc32 repeats a stream for the same seed and stream, and spreads its numbers",
  permissions: "none",
  fn: () => {
    const take = (rng: Sfc32) => Array.from({ length: 1000 }, () => rng.next());
    assertEquals(take(new Sfc32(1, 0)), take(new Sfc32(1, 0)));
    assertNotEquals(take(new Sfc32(1, 0)), take(new Sfc32(2, 0)), "another seed");
    assertNotEquals(take(new Sfc32(1, 0)), take(new Sfc32(1, 1)), "another stream");
    const numbers = take(new Sfc32(7, 3));
    assert(numbers.every((n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32));
    const buckets = new Array(10).fill(0);
    for (const n of numbers) buckets[Math.floor(n / 2 ** 32 * 10)]++;
    assert(buckets.every((count) => count > 60 && count < 140), `uneven: ${buckets}`);
  },
});
