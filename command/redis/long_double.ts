/**
 * The arithmetic of Redis's INCRBYFLOAT, done exactly as Redis 7 on x86-64
 * does it in C's `long double` (80-bit x87: a 64-bit significand), with
 * BigInt: {@linkcode parseLongDouble} reads a string as `strtold` does under
 * Redis's rules (`string2ld`), {@linkcode addLongDouble} adds two values
 * rounding once, and {@linkcode formatLongDouble} prints one as Redis stores
 * the result (`"%.17Lf"`, trailing zeros cut). A JavaScript double would
 * answer `0.1 + 0.2` with `0.30000000000000004`; Redis answers `0.3`. Pure.
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

// The bit length of `n` (not negative), from its hex digits: a quarter of
// the work of counting binary ones.
function bitLength(n: bigint): number {
  if (n === 0n) return 0;
  const hex = n.toString(16);
  return 4 * hex.length - Math.clz32(parseInt(hex[0]!, 16)) + 28;
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

/** Why INCRBYFLOAT fails: a stored value or an increment that is no float. */
export const NOT_A_FLOAT = 0;
/** Why INCRBYFLOAT fails: an infinite operand, or a sum that overflows. */
export const NOT_FINITE = 1;

/**
 * INCRBYFLOAT's whole answer: the text Redis stores for `value` (absent:
 * `0`) plus `increment`, or why it fails. The same as
 * {@linkcode parseLongDouble}, {@linkcode addLongDouble} and
 * {@linkcode formatLongDouble} in turn, byte for byte, but where both
 * operands and the sum are exactly doubles (integers, and fractions such as
 * `1.5` whose denominators are powers of two) in double arithmetic, with no
 * BigInt.
 */
export function incrByFloat(
  value: string | undefined,
  increment: string,
): string | typeof NOT_A_FLOAT | typeof NOT_FINITE {
  const a = value === undefined ? 0 : parseExact(value);
  const b = a === undefined ? undefined : parseExact(increment);
  if (b !== undefined) {
    const sum = a! + b;
    // Knuth's TwoSum: the error of the rounded sum, exactly; 0 if the sum is
    // exact (and NaN if it overflowed).
    const bPart = sum - a!;
    const error = (a! - (sum - bPart)) + (b - bPart);
    if (error === 0) {
      const text = formatExact(sum);
      if (text !== undefined) return text;
    }
  }
  return incrByFloatExactly(value, increment);
}

// The BigInt path: every operand and sum.
function incrByFloatExactly(
  value: string | undefined,
  increment: string,
): string | typeof NOT_A_FLOAT | typeof NOT_FINITE {
  const a = value === undefined ? ZERO : parseLongDouble(value);
  if (a === undefined) return NOT_A_FLOAT;
  const b = parseIncrement(increment);
  if (b === undefined) return NOT_A_FLOAT;
  if (a === "infinite" || b === "infinite") return NOT_FINITE;
  const sum = addLongDouble(a, b);
  return sum === undefined ? NOT_FINITE : formatLongDouble(sum);
}

// A counter is mostly bumped by the same increment: its last reading.
let lastIncrement = "";
let lastIncrementValue: Parsed;

function parseIncrement(text: string): Parsed {
  if (text !== lastIncrement) {
    lastIncrementValue = parseLongDouble(text);
    lastIncrement = text;
  }
  return lastIncrementValue;
}

const TWO_53 = 2 ** 53;
// 5^k and 2^k for k up to 22, each built by multiplication (exact: 5^22 is
// below 2^53), not by `**`, whose rounding is V8's.
const POWERS_OF_5: number[] = [1];
const POWERS_OF_2: number[] = [1];
for (let k = 1; k <= 22; k++) {
  POWERS_OF_5.push(POWERS_OF_5[k - 1]! * 5);
  POWERS_OF_2.push(POWERS_OF_2[k - 1]! * 2);
}

/**
 * `text` as a double, where {@linkcode parseLongDouble} reads it as exactly
 * that value: a plain decimal of fewer than 2^53 in its digits taken
 * together, times 10^power where the product is a double (5^-power divides
 * the digits, or the digits times 5^power are below 2^53). Anything else
 * (hex, infinities, errors, a value no double holds) is undefined, for the
 * BigInt path to read.
 */
export function parseExact(text: string): number | undefined {
  const length = text.length;
  if (length === 0 || length > 40) return undefined;
  let i = 0;
  let c = text.charCodeAt(0);
  const negative = c === 45; // -
  if (negative || c === 43) i = 1; // +
  let mantissa = 0;
  let digits = 0;
  let fractionDigits = 0;
  let point = false;
  for (; i < length; i++) {
    c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // Rounding is monotonic: the rounded result reaches 2^53 exactly when
      // the true one does, and below that it is exact.
      mantissa = mantissa * 10 + (c - 48);
      if (mantissa >= TWO_53) return undefined;
      digits++;
      if (point) fractionDigits++;
    } else if (c === 46 && !point) { // .
      point = true;
    } else {
      break;
    }
  }
  if (digits === 0) return undefined;
  let exponent = 0;
  if (i < length) {
    if (c !== 101 && c !== 69) return undefined; // e E
    c = text.charCodeAt(++i);
    const negativeExponent = c === 45;
    if (negativeExponent || c === 43) i++;
    if (i === length || length - i > 4) return undefined;
    for (; i < length; i++) {
      c = text.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
      exponent = exponent * 10 + (c - 48);
    }
    if (negativeExponent) exponent = -exponent;
  }
  const power = exponent - fractionDigits;
  let magnitude: number;
  if (mantissa === 0) {
    magnitude = 0;
  } else if (power >= 0) {
    if (power > 22) return undefined;
    const scaled = mantissa * POWERS_OF_5[power]!;
    if (scaled >= TWO_53) return undefined;
    magnitude = scaled * POWERS_OF_2[power]!;
  } else {
    if (power < -22) return undefined;
    const five = POWERS_OF_5[-power]!;
    if (mantissa % five !== 0) return undefined; // not a fraction of a power of 2
    magnitude = mantissa / five / POWERS_OF_2[-power]!;
  }
  return negative ? -magnitude : magnitude;
}

/**
 * {@linkcode formatLongDouble} of the double `value`, where it needs no
 * rounding: an integer, or a fraction in 2^-17ths (at most 17 decimals).
 * Otherwise undefined.
 */
export function formatExact(value: number): string | undefined {
  if (Number.isSafeInteger(value)) return String(value); // -0 too, as "0"
  if (Number.isInteger(value)) return BigInt(value).toString();
  const magnitude = Math.abs(value);
  const whole = Math.trunc(magnitude); // below 2^52: value is no integer
  // Exact: the fraction has value's exponent or a lower one.
  let numerator = magnitude - whole;
  // The fraction is numerator / 2^bits, numerator odd (doubling is exact).
  let bits = 0;
  while (!Number.isInteger(numerator)) {
    if (++bits > 17) return undefined;
    numerator *= 2;
  }
  const sign = value < 0 ? "-" : "";
  if (bits <= 15) {
    // Its decimals: numerator * 5^bits over 10^bits, below 10^15 < 2^53,
    // ending in 5 (odd times a power of 5): no zeros to cut.
    return `${sign}${whole}.${String(numerator * POWERS_OF_5[bits]!).padStart(bits, "0")}`;
  }
  const fraction = numerator * POWERS_OF_2[17 - bits]!; // in 2^-17ths
  // The 17 decimals are fraction * 5^17, below 10^17: in two parts, as
  // 5^17 = 7629394 * 10^5 + 53125, each product below 2^53.
  let high = fraction * 7629394;
  let low = fraction * 53125;
  const carry = Math.floor(low / 100000);
  high += carry;
  low -= carry * 100000;
  let decimals = String(high).padStart(12, "0") + String(low).padStart(5, "0");
  let end = 17;
  while (decimals.charCodeAt(end - 1) === 48) end--;
  decimals = decimals.slice(0, end);
  return `${sign}${whole}.${decimals}`;
}
