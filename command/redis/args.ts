/**
 * Reading a Redis command's arguments the way Redis 7 does: option words in
 * any case, integers by its strict rules (`string2ll`: no spaces, no `+`, no
 * leading zeros, 64-bit), and the error replies it gives for each.
 *
 * @module
 */

import type { Failure } from "../reply.ts";
import type { Request } from "../request.ts";

/** Redis's errors that more than one command gives. */
export const ERR = {
  syntax: { kind: "redis", text: "ERR syntax error" },
  notInteger: { kind: "redis", text: "ERR value is not an integer or out of range" },
  overflow: { kind: "redis", text: "ERR increment or decrement would overflow" },
} as const satisfies Record<string, Failure>;

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

/** Whether argument `i` is `word` (lower case), in any ASCII case. */
export function argIs(request: Request, i: number, word: string): boolean {
  const start = request.starts[i]!;
  if (request.ends[i]! - start !== word.length) return false;
  const bytes = request.bytes;
  for (let k = 0; k < word.length; k++) {
    const byte = bytes[start + k]!;
    // Only A-Z fold: `| 0x20` alone would also take "\r" for "-".
    const folded = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
    if (folded !== word.charCodeAt(k)) return false;
  }
  return true;
}

/** Whether argument `i` is exactly `word`, in its case (a user name: Redis's are case-sensitive). */
export function argEquals(request: Request, i: number, word: string): boolean {
  const start = request.starts[i]!;
  if (request.ends[i]! - start !== word.length) return false;
  for (let k = 0; k < word.length; k++) {
    if (request.bytes[start + k] !== word.charCodeAt(k)) return false;
  }
  return true;
}

/** Argument `i`'s bytes, as a view (valid while the request is). */
export function argBytes(request: Request, i: number): Uint8Array {
  return request.bytes.subarray(request.starts[i], request.ends[i]);
}

/**
 * Parses bytes as Redis's `string2ll` does; `undefined` if they are not a
 * 64-bit integer in its strict form.
 */
export function parseInt64(bytes: Uint8Array, start: number, end: number): bigint | undefined {
  const length = end - start;
  if (length === 0 || length >= 21) return undefined;
  if (length === 1 && bytes[start] === 0x30) return 0n;
  let i = start;
  const negative = bytes[i] === 0x2d;
  if (negative) i++;
  if (i === end || bytes[i]! < 0x31 || bytes[i]! > 0x39) return undefined;
  let value = 0n;
  let small = 0;
  for (; i < end; i++) {
    const digit = bytes[i]! - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    small = small * 10 + digit;
  }
  // Up to 15 digits fit a double exactly; longer ones are read as a bigint.
  if (end - start - (negative ? 1 : 0) <= 15) value = BigInt(small);
  else value = BigInt(new TextDecoder().decode(bytes.subarray(negative ? start + 1 : start, end)));
  if (negative) value = -value;
  return value < MIN_INT64 || value > MAX_INT64 ? undefined : value;
}

/** Argument `i` as a 64-bit integer, or `undefined`. */
export function argInt(request: Request, i: number): bigint | undefined {
  return parseInt64(request.bytes, request.starts[i]!, request.ends[i]!);
}

/** The smallest 64-bit integer. */
export const INT64_MIN: bigint = MIN_INT64;
/** The largest 64-bit integer. */
export const INT64_MAX: bigint = MAX_INT64;

const MAX_UINT64 = 2n ** 64n - 1n;

/**
 * Parses bytes as Redis reads SCAN's cursor, with C's `strtoul` (base 10):
 * the text ends at its first NUL byte; it may not start with a space; an
 * optional `+` or `-`, then digits only (none at all only if the text is
 * empty: `0`); `-n` wraps around to 2^64 - n; past 2^64 - 1 is an error.
 * `undefined` if Redis answers `ERR invalid cursor`.
 */
export function parseCursor(bytes: Uint8Array, start: number, end: number): bigint | undefined {
  const nul = bytes.subarray(start, end).indexOf(0);
  if (nul !== -1) end = start + nul;
  if (start === end) return 0n;
  let i = start;
  const negative = bytes[i] === 0x2d;
  if (negative || bytes[i] === 0x2b) i++;
  if (i === end) return undefined;
  let value = 0n;
  for (; i < end; i++) {
    const digit = bytes[i]! - 0x30;
    if (digit < 0 || digit > 9) return undefined; // A space, first or anywhere, too.
    value = value * 10n + BigInt(digit);
    if (value > MAX_UINT64) return undefined;
  }
  return negative && value !== 0n ? MAX_UINT64 + 1n - value : value;
}
