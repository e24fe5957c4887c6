/**
 * {@linkcode floatText}: random INCRBYFLOAT operands for differential tests,
 * biased toward the edges of its arithmetic: integers near 2^53 and 2^64,
 * fractions of powers of two (which double arithmetic holds exactly) and
 * ones it does not, many fractional digits, values at the 17th decimal's
 * rounding, exponents, negative zero, hex floats, huge and tiny magnitudes,
 * and text that is no float.
 *
 * @module
 */

/** A generator of numbers in [0, 1), such as {@linkcode mulberry32}'s. */
export type Random = () => number;

const JUNK = [
  "",
  " 1",
  "1 ",
  "1e",
  "1e+",
  "e5",
  ".",
  ".e1",
  "+",
  "-",
  "+-1",
  "1..2",
  "1.2.3",
  "abc",
  "0x",
  "0x.p1",
  "nan",
  "-nan",
  "1\0",
  "\u00a01",
  "inf",
  "-inf",
  "Infinity",
  "-INFINITY",
  "1e99999",
  "1e-99999",
  "0e99999",
  "-0e-99999",
  "１",
];

const FIXED = [
  "0",
  "-0",
  "+0",
  "0.0",
  "-0.0",
  "-.0",
  "0.",
  "00",
  "1.5",
  "-1.5",
  "0.5",
  ".5",
  "5.",
  "0.1",
  "0.2",
  "0.3",
  "1e3",
  "1E3",
  "1e+3",
  "1e-3",
  "3.0e-2",
  "0x10",
  "0x1.8p3",
  "0X.8P-1",
  "9007199254740992",
  "9007199254740993",
  "18446744073709551616",
  "1e308",
  "1.7976931348623157e308",
  "1e309",
  "-1e309",
  "4.9e-324",
  "1e-4940",
  "1.18973149535723176502e+4932",
  "0.000003814697265625", // 2^-18
  "0.00000762939453125", // 2^-17
  "0.99999999999999999",
  "0.999999999999999995",
  "0.000000000000000005",
  "0.000000000000000015",
  "0.000000000000000025",
];

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function int(random: Random, below: number): number {
  return Math.floor(random() * below);
}

function digits(random: Random, count: number): string {
  let text = "";
  for (let i = 0; i < count; i++) text += String(int(random, 10));
  return text;
}

/** A random BigInt below 2^bits. */
function bigBelow(random: Random, bits: number): bigint {
  let n = 0n;
  for (let i = 0; i < bits; i += 16) n = (n << 16n) | BigInt(int(random, 0x10000));
  return n & ((1n << BigInt(bits)) - 1n);
}

function signed(random: Random, text: string): string {
  const r = random();
  return r < 0.3 ? `-${text}` : r < 0.35 ? `+${text}` : text;
}

/** `digits` with a point `places` from the right (padded with zeros), maybe leading zeros cut. */
function withPoint(text: string, places: number): string {
  if (places === 0) return text;
  const padded = text.padStart(places + 1, "0");
  return `${padded.slice(0, -places)}.${padded.slice(-places)}`;
}

/** One random operand. */
export function floatText(random: Random): string {
  const kind = int(random, 16);
  switch (kind) {
    case 0:
      return pick(random, JUNK);
    case 1:
      return signed(random, pick(random, FIXED));
    case 2: // a small integer
      return signed(random, String(int(random, 100000)));
    case 3: { // an integer near 2^53 or 2^64, or of any size below 2^70
      const near = pick(random, [2n ** 53n, 2n ** 64n, 2n ** 63n, 10n ** 15n, 10n ** 16n]);
      const n = random() < 0.7 ? near + BigInt(int(random, 2001) - 1000) : bigBelow(random, 70);
      return signed(random, String(n < 0n ? -n : n));
    }
    case 4:
    case 5: { // m / 2^j exactly, j up to 25: the decimal digits of m * 5^j
      const j = int(random, 26);
      const m = random() < 0.5
        ? BigInt(int(random, 1 << 20))
        : bigBelow(random, 1 + int(random, 60));
      return signed(random, withPoint(String(m * 5n ** BigInt(j)), j));
    }
    case 6: // few decimals
      return signed(random, withPoint(digits(random, 1 + int(random, 8)), int(random, 5)));
    case 7: // many digits, many of them decimals
      return signed(random, withPoint(digits(random, 1 + int(random, 30)), int(random, 30)));
    case 8: { // at the 17th decimal's rounding: a 5 (or 4, 6) in the 18th place
      const whole = String(int(random, 1000));
      const tail = pick(random, ["5", "4", "6", "50", "5000001", "49999"]);
      return signed(random, `${whole}.${digits(random, 17)}${tail}`);
    }
    case 9: { // an exponent
      const mantissa = withPoint(digits(random, 1 + int(random, 6)), int(random, 3));
      const exponent = random() < 0.8 ? int(random, 50) - 25 : int(random, 700) - 350;
      const e = random() < 0.5 ? "e" : "E";
      const sign = exponent >= 0 && random() < 0.3 ? "+" : "";
      return signed(random, `${mantissa}${e}${sign}${exponent}`);
    }
    case 10: { // huge or tiny: past a double's range now and then (their digits are slow to print)
      const far = random() < 0.1;
      const exponent = (random() < 0.5 ? 1 : -1) *
        (far ? 4900 + int(random, 40) : 15 + int(random, 30));
      return signed(random, `${1 + int(random, 9)}.${digits(random, 3)}e${exponent}`);
    }
    case 11: { // a hex float
      const hex = bigBelow(random, 1 + int(random, 64)).toString(16);
      const point = int(random, hex.length + 1);
      const body = point === hex.length ? hex : `${hex.slice(0, point)}.${hex.slice(point)}`;
      const p = random() < 0.5 ? "" : `p${int(random, 200) - 100}`;
      return signed(random, `0x${body.startsWith(".") && body.length === 1 ? "0" : body}${p}`);
    }
    case 12: // leading and trailing zeros
      return signed(
        random,
        `${"0".repeat(int(random, 4))}${int(random, 1000)}.${int(random, 100)}${
          "0".repeat(int(random, 25))
        }`,
      );
    case 13: // a double's shortest text, of a random double of a moderate size
      return signed(random, String((random() - 0.5) * 10 ** (int(random, 30) - 10)));
    default: // an integer times a power of two's fraction, small
      return signed(random, String(int(random, 1 << 16) / 2 ** int(random, 20)));
  }
}
