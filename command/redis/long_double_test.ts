/**
 * INCRBYFLOAT's arithmetic against what Redis 7.0 (x86-64, Debian's
 * redis-server) answers: each case is the stored value, the increment and
 * Redis's reply. Pure.
 */

import { assert, assertEquals } from "@std/assert";
import {
  addLongDouble,
  formatExact,
  formatLongDouble,
  incrByFloat,
  type LongDouble,
  NOT_A_FLOAT,
  NOT_FINITE,
  parseExact,
  parseLongDouble,
} from "./long_double.ts";
import { floatText } from "../../testing/float_inputs.ts";
import { mulberry32 } from "../../testing/random.ts";

/**
 * The BigInt path's whole answer, as {@linkcode incrByFloat} gives it: the
 * reference its fast paths must agree with (the BigInt functions are checked
 * against Redis's answers below, and in e2e/redis_e2e.ts).
 */
function referenceIncrByFloat(value: string | undefined, increment: string): string | 0 | 1 {
  const a = parseLongDouble(value ?? "0");
  const b = parseLongDouble(increment);
  if (a === undefined || b === undefined) return NOT_A_FLOAT;
  if (a === "infinite" || b === "infinite") return NOT_FINITE;
  const sum = addLongDouble(a, b);
  return sum === undefined ? NOT_FINITE : formatLongDouble(sum);
}

/**
 * What INCRBYFLOAT answers for a stored `value` and an `increment`, as text:
 * {@linkcode incrByFloat}'s answer, checked against the BigInt path's.
 */
function answer(value: string, increment: string): string {
  const got = incrByFloat(value, increment);
  assertEquals(got, referenceIncrByFloat(value, increment), `${value} + ${increment}`);
  return got === NOT_A_FLOAT
    ? "ERR value is not a valid float"
    : got === NOT_FINITE
    ? "ERR increment would produce NaN or Infinity"
    : got;
}

Deno.test({
  name: "INCRBYFLOAT adds in 80-bit long double and prints %.17Lf, as Redis on x86-64",
  permissions: "none",
  fn() {
    const cases: [string, string, string][] = [
      ["0.1", "0.2", "0.3"], // a double would give 0.30000000000000004
      ["10.50", "0.1", "10.6"],
      ["10.6", "-5.0e3", "-4989.39999999999999991"],
      ["5.0e3", "2.0e2", "5200"],
      ["3", "1.5", "4.5"],
      ["0", "0.3333333333333333333", "0.33333333333333333"],
      ["1", "-1", "0"],
      ["-0", "-0", "0"],
      ["0", "-1e-20", "0"], // -0.00000000000000000 prints as 0
      ["0", "0.000003814697265625", "0.00000381469726562"], // 2^-18: a tie, to even
      ["0", "0x1.8p3", "12"],
      ["0", ".5", "0.5"],
      ["0", "5.", "5"],
      ["0", "1e3", "1000"],
      ["0", "+1", "1"],
      ["0", "00012", "12"],
      ["1e25", "0", "10000000000000000000000000"],
      ["1e30", "1e30", "2000000000000000000049392123904"], // the digits of the long double nearest 2e30
      ["123456789012345678901234567890", "0.5", "123456789012345678899921813504"],
      ["1e-17", "4e-18", "0.00000000000000001"],
      ["0x1p-16445", "0", "0"], // the smallest subnormal
      ["1.18973149535723176502e+4932", "1e4932", "ERR increment would produce NaN or Infinity"],
      ["1", "inf", "ERR increment would produce NaN or Infinity"],
      ["inf", "1", "ERR increment would produce NaN or Infinity"],
      ["-Infinity", "1", "ERR increment would produce NaN or Infinity"],
      ["1", "nan", "ERR value is not a valid float"],
      ["1", "1e99999", "ERR value is not a valid float"], // overflows
      ["1", "1e-99999", "ERR value is not a valid float"], // underflows to zero
      ["1", "0e99999", "1"],
      ["1", "", "ERR value is not a valid float"],
      ["1", " 1", "ERR value is not a valid float"],
      ["1", "1 ", "ERR value is not a valid float"],
      ["1", "1e", "ERR value is not a valid float"],
      ["1", ".", "ERR value is not a valid float"],
      ["1", "0x", "ERR value is not a valid float"],
      ["1", "1\0", "ERR value is not a valid float"],
      ["1", "1".repeat(5120), "ERR value is not a valid float"],
      ["abc", "1", "ERR value is not a valid float"],
    ];
    for (const [value, increment, expected] of cases) {
      assertEquals(answer(value, increment), expected, `${value} + ${increment}`);
    }
  },
});

Deno.test({
  name: "INCRBYFLOAT reaches past a double's range, to long double's 1.19e4932",
  permissions: "none",
  fn() {
    // Redis: 401 digits, those of the long double nearest 10^400.
    const sum = answer("1e400", "0");
    assertEquals(sum.length, 401);
    assertEquals(sum.slice(0, 40), "1000000000000000000028188068394758651458");
    assertEquals(answer("1.18973149535723176502e+4932", "0").length, 4933);
  },
});

/** A finite double as the long double of the same value. */
function fromDouble(x: number): LongDouble {
  if (x === 0) return { negative: Object.is(x, -0), significand: 0n, exponent: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  let significand = biased === 0 ? fraction : fraction | (1n << 52n);
  let exponent = biased === 0 ? -1074 : biased - 1075;
  while (significand < 1n << 63n) {
    significand <<= 1n;
    exponent--;
  }
  return { negative: x < 0, significand, exponent };
}

const SEED = 20261215;

Deno.test({
  name:
    "INCRBYFLOAT's fast paths answer as the BigInt reference does, over random operands at the edges",
  permissions: "none",
  fn() {
    const random = mulberry32(SEED);
    let fastParses = 0;
    let fastSums = 0;
    const texts: string[] = [];
    for (let i = 0; i < 60_000; i++) texts.push(floatText(random));
    for (const text of texts) {
      // The double reading, where there is one, against the BigInt one.
      const expected = parseLongDouble(text);
      const exact = parseExact(text);
      if (exact !== undefined) {
        fastParses++;
        assertEquals(fromDouble(exact), expected, JSON.stringify(text));
      }
    }
    // Pairs, and counters bumped again and again by one increment.
    for (let i = 0; i < 150_000; i++) {
      const value = random() < 0.05 ? undefined : texts[Math.floor(random() * texts.length)]!;
      const increment = random() < 0.1 && value !== undefined
        ? (random() < 0.5 ? value : `-${value}`)
        : texts[Math.floor(random() * texts.length)]!;
      const got = incrByFloat(value, increment);
      assertEquals(got, referenceIncrByFloat(value, increment), `${value} + ${increment}`);
      if (parseExact(value ?? "0") !== undefined && parseExact(increment) !== undefined) fastSums++;
    }
    for (let chain = 0; chain < 2_000; chain++) {
      let value: string | undefined = random() < 0.2 ? undefined : floatText(random);
      const increment = floatText(random);
      for (let i = 0; i < 20; i++) {
        const got = incrByFloat(value, increment);
        assertEquals(got, referenceIncrByFloat(value, increment), `${value} + ${increment}`);
        if (typeof got !== "string") break;
        value = got;
      }
    }
    // The fast paths are taken often enough for the comparison to mean something.
    assert(fastParses > texts.length / 4, `${fastParses} fast readings`);
    assert(fastSums > 15_000, `${fastSums} sums of fast readings`);
  },
});

Deno.test({
  name: "formatExact prints a double as formatLongDouble does, or leaves it to the BigInt path",
  permissions: "none",
  fn() {
    const random = mulberry32(SEED + 1);
    let formatted = 0;
    for (let i = 0; i < 200_000; i++) {
      const kind = Math.floor(random() * 4);
      const scale = 2 ** Math.floor(random() * 24);
      const x = kind === 0
        ? Math.floor(random() * 2 ** 53) / scale // a fraction of a power of 2, up to 2^53
        : kind === 1
        ? Math.floor(random() * 2 ** 20) / scale
        : kind === 2
        ? (random() - 0.5) * 2 ** (Math.floor(random() * 140) - 70) // any double
        : (2 ** 53 + Math.floor(random() * 2000) - 1000) * 2 ** Math.floor(random() * 20); // large integers
      const value = random() < 0.5 ? -x : x;
      const text = formatExact(value);
      if (text === undefined) continue;
      formatted++;
      assertEquals(text, formatLongDouble(fromDouble(value)), String(value));
    }
    assert(formatted > 100_000, `${formatted} formatted`);
    for (
      const value of [0, -0, 0.5, -0.5, 2 ** -17, 1 - 2 ** -17, 2 ** 52 + 0.5, 2 ** 53, -(2 ** 64)]
    ) {
      assertEquals(
        formatExact(value),
        formatLongDouble(fromDouble(value)),
        String(value),
      );
    }
  },
});
