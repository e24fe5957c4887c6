/**
 * The limits `RespFramer` (framer.ts) applies to a request's header lines,
 * arrays and strings (Redis 7's, and kv's own `--max-line-bytes`), and the
 * texts of the errors that name them. Pure.
 *
 * @module
 */

// Redis's limits for the header lines: a `*N` or `$N` line, or an inline
// request, with no end in this many bytes is an error.
export const MAX_HEADER_BYTES = 64 * 1024;
// kv refuses arrays of more elements than this (Redis 7: 2^31 - 1).
export const MAX_ELEMENTS = 1024 * 1024;
// Before AUTH, Redis 7 refuses an array of more elements, or a string of more
// bytes, than these, so that a client that has not authenticated cannot make
// the server hold much (README, Security).
export const UNAUTHENTICATED_ELEMENTS = 10;
export const UNAUTHENTICATED_BULK_BYTES = 16 * 1024;
// Redis's own limits, which it checks first: past them the error is "invalid".
export const REDIS_MAX_ELEMENTS = 2 ** 31 - 1;
export const REDIS_MAX_BULK_BYTES = 512 * 1024 * 1024;

/** The error of a request past the limit (Redis's own has no limit this small to name). */
export function tooLargeText(maxRequestBytes: number): string {
  return `request too large${limitNote(maxRequestBytes)}`;
}

/** Which of kv's limits a request passed, and how to raise it. */
export function limitNote(maxRequestBytes: number): string {
  return ` (limit ${maxRequestBytes} bytes a request: --max-line-bytes)`;
}

const INT64_MAX_DIGITS = new TextEncoder().encode("9223372036854775807");

/** Whether the decimal digits `bytes[start, end)` (no leading zero), negated if `negative`, fit in 64 bits. */
export function fitsInt64(
  bytes: Uint8Array,
  start: number,
  end: number,
  negative: boolean,
): boolean {
  const length = end - start;
  if (length !== INT64_MAX_DIGITS.length) return length < INT64_MAX_DIGITS.length;
  for (let k = 0; k < length; k++) {
    // The most negative number's last digit is one more: ...808.
    const limit = INT64_MAX_DIGITS[k]! + (negative && k === length - 1 ? 1 : 0);
    if (bytes[start + k]! !== limit) return bytes[start + k]! < limit;
  }
  return true;
}
