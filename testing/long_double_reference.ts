/**
 * The BigInt arithmetic of INCRBYFLOAT as command/redis/long_double.ts had it
 * before its fast paths, kept unchanged as the reference its differential
 * test (long_double_test.ts) compares the faster code against, answer for
 * answer. Pure.
 *
 * @module
 */

/** A finite long double: `(negative ? -1 : 1) * significand * 2^exponent`. */
export interface LongDouble {
  readonly negative: boolean;
  /** Below 2^64; at least 2^63 unless the value is subnormal or zero. */
  readonly significand: bigint;
  readonly exponent: number;
}

/** What a string reads as: a finite value, an infinity (an error for INCRBYFLOAT), or not a float. */
export type Parsed = LongDouble | "infinite" | undefined;

const SIGNIFICAND_BITS = 64;
// The exponent of a significand's lowest bit: the smallest (subnormals) and
// the largest a finite value has.
const MIN_EXPONENT = -16445;
const MAX_EXPONENT = 16383 - 63;
// Redis's MAX_LONG_DOUBLE_CHARS: a longer string is no float.
const MAX_CHARS = 5 * 1024;
const ZERO: LongDouble = { negative: false, significand: 0n, exponent: 0 };

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/**
 * `p / q` (both positive) rounded to the nearest long double, ties to even:
 * `undefined` past the largest one (an overflow).
 */
function round(negative: boolean, p: bigint, q: bigint): LongDouble | undefined {
  // floor(log2(p / q)), from the bit lengths and one comparison.
  let log = bitLength(p) - bitLength(q);
  const scaledQ = log >= 0 ? q << BigInt(log) : q;
  const scaledP = log >= 0 ? p : p << BigInt(-log);
  if (scaledP < scaledQ) log--;
  let exponent = Math.max(log - (SIGNIFICAND_BITS - 1), MIN_EXPONENT);
  if (exponent > MAX_EXPONENT) return undefined;
  const num = exponent >= 0 ? p : p << BigInt(-exponent);
  const den = exponent >= 0 ? q << BigInt(exponent) : q;
  let significand = num / den;
  const twice = 2n * (num % den);
  if (twice > den || (twice === den && (significand & 1n) === 1n)) significand++;
  if (significand === 1n << BigInt(SIGNIFICAND_BITS)) {
    significand >>= 1n;
    exponent++;
    if (exponent > MAX_EXPONENT) return undefined;
  }
  return { negative, significand, exponent };
}

/** `mantissa * base^power` as a long double, or undefined (overflow) or "zero" (underflow). */
function fromScaled(
  negative: boolean,
  mantissa: bigint,
  base: 2n | 10n,
  power: bigint,
): LongDouble | undefined | "zero" {
  if (mantissa === 0n) return { ...ZERO, negative };
  // Far past the range either way: no need to build the huge power.
  const digits = BigInt(mantissa.toString(base === 10n ? 10 : 2).length);
  const top = power + digits; // The value is below base^top and at least base^(top-1).
  const [high, low] = base === 10n ? [4940n, -4960n] : [16390n, -16460n];
  if (top > high) return undefined;
  if (top < low) return "zero";
  const value = power >= 0n
    ? round(negative, mantissa * base ** power, 1n)
    : round(negative, mantissa, base ** -power);
  if (value !== undefined && value.significand === 0n) return "zero";
  return value;
}

const DECIMAL = /^([+-]?)(?:(\d+)\.?(\d*)|\.(\d+))(?:[eE]([+-]?\d+))?$/;
const HEX = /^([+-]?)0[xX](?:([0-9a-fA-F]+)\.?([0-9a-fA-F]*)|\.([0-9a-fA-F]+))(?:[pP]([+-]?\d+))?$/;
const INFINITY = /^[+-]?(?:inf|infinity)$/i;

/**
 * Reads `text` as Redis's `string2ld` does (glibc's `strtold`, rounding to
 * nearest): decimal or hex (`0x1.8p3`), an optional sign, `inf` and
 * `infinity`; not NaN, not a leading space, nothing after the number, not
 * 5 KiB or more, not a value that overflows or that underflows to zero.
 */
export function parseLongDouble(text: string): Parsed {
  if (text.length === 0 || text.length >= MAX_CHARS) return undefined;
  if (INFINITY.test(text)) return "infinite";
  let negative: boolean;
  let mantissa: bigint;
  let power: bigint;
  let base: 2n | 10n;
  const decimal = DECIMAL.exec(text);
  if (decimal !== null) {
    const [, sign, whole = "", fraction = "", onlyFraction, exp = "0"] = decimal;
    const fractionDigits = onlyFraction ?? fraction;
    negative = sign === "-";
    mantissa = BigInt((onlyFraction === undefined ? whole : "") + fractionDigits || "0");
    power = BigInt(exp) - BigInt(fractionDigits.length);
    base = 10n;
  } else {
    const hex = HEX.exec(text);
    if (hex === null) return undefined;
    const [, sign, whole = "", fraction = "", onlyFraction, exp = "0"] = hex;
    const fractionDigits = onlyFraction ?? fraction;
    negative = sign === "-";
    mantissa = BigInt(`0x${(onlyFraction === undefined ? whole : "") + fractionDigits || "0"}`);
    power = BigInt(exp) - 4n * BigInt(fractionDigits.length);
    base = 2n;
  }
  const value = fromScaled(negative, mantissa, base, power);
  return value === "zero" ? undefined : value;
}

/** `a + b`, rounded once, as the x87 adds them; undefined if it overflows. */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble | undefined {
  if (a.significand === 0n && b.significand === 0n) {
    return { ...ZERO, negative: a.negative && b.negative };
  }
  const low = Math.min(a.exponent, b.exponent);
  const signed = (x: LongDouble) =>
    (x.negative ? -x.significand : x.significand) << BigInt(x.exponent - low);
  const sum = signed(a) + signed(b);
  if (sum === 0n) return ZERO;
  const negative = sum < 0n;
  const size = negative ? -sum : sum;
  return low >= 0
    ? round(negative, size << BigInt(low), 1n)
    : round(negative, size, 1n << BigInt(-low));
}

/**
 * `value` as Redis stores an INCRBYFLOAT result: `"%.17Lf"` (17 digits
 * after the point, the exact value rounded half to even, as glibc prints
 * it), trailing zeros and a bare point cut, and `-0` as `0`.
 */
export function formatLongDouble(value: LongDouble): string {
  const { significand, exponent } = value;
  const scale = 10n ** 17n;
  let digits: bigint;
  if (exponent >= 0) {
    digits = (significand << BigInt(exponent)) * scale;
  } else {
    const num = significand * scale;
    const den = 1n << BigInt(-exponent);
    digits = num / den;
    const twice = 2n * (num % den);
    if (twice > den || (twice === den && (digits & 1n) === 1n)) digits++;
  }
  let text = digits.toString().padStart(18, "0");
  text = `${text.slice(0, -17)}.${text.slice(-17)}`.replace(/\.?0+$/, "");
  if (text === "0") return "0";
  return value.negative ? `-${text}` : text;
}
