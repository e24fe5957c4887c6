/**
 * INCRBYFLOAT's arithmetic against what Redis 7.0 (x86-64, Debian's
 * redis-server) answers: each case is the stored value, the increment and
 * Redis's reply. Pure.
 */

import { assertEquals } from "@std/assert";
import { addLongDouble, formatLongDouble, parseLongDouble } from "./long_double.ts";

/** What INCRBYFLOAT answers for a stored `value` and an `increment`, as text. */
function incrByFloat(value: string, increment: string): string {
  const a = parseLongDouble(value);
  const b = parseLongDouble(increment);
  if (a === undefined || b === undefined) return "ERR value is not a valid float";
  const sum = a === "infinite" || b === "infinite" ? undefined : addLongDouble(a, b);
  return sum === undefined ? "ERR increment would produce NaN or Infinity" : formatLongDouble(sum);
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
      assertEquals(incrByFloat(value, increment), expected, `${value} + ${increment}`);
    }
  },
});

Deno.test({
  name: "INCRBYFLOAT reaches past a double's range, to long double's 1.19e4932",
  permissions: "none",
  fn() {
    // Redis: 401 digits, those of the long double nearest 10^400.
    const sum = incrByFloat("1e400", "0");
    assertEquals(sum.length, 401);
    assertEquals(sum.slice(0, 40), "1000000000000000000028188068394758651458");
    assertEquals(incrByFloat("1.18973149535723176502e+4932", "0").length, 4933);
  },
});
