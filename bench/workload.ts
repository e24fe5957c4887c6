/**
 * The bench's workload on the wire: how a request for key `N` is written,
 * what value the `version`-th PUT of a key holds, and how an answer is
 * checked against it. Pure functions over bytes, as shared/perf/loadgen.c
 * writes and checks them (`key:N`, values padded with `v` and ending in
 * `VERSION.KEY`).
 *
 * @module
 */

import { ERROR_PREFIX, NOT_EXIST, SUCCESS } from "../wire/line/reply.ts";
import { equalBytes } from "../net/bytes.ts";

/** A GET, in the ring of requests in flight. */
export const OP_GET = 0;
/** A PUT, in the ring of requests in flight. */
export const OP_PUT = 1;
/** Room for `PUT, key:N, ` and the `\n` around a value. */
export const REQUEST_OVERHEAD_BYTES = 32;

const LF = 0x0a;
const DOT = 0x2e;
const ZERO = 0x30;
// Values are padded with `v`, as loadgen.c pads them.
const PAD = 0x76;
// What the report quotes of a wrong answer.
const SAMPLE_CHARS = 80;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PUT_PREFIX = encoder.encode("PUT, key:");
const GET_PREFIX = encoder.encode("GET, key:");
/** `Success!`, as the answer to a PUT is checked. */
export const SUCCESS_BYTES: Uint8Array = encoder.encode(SUCCESS);
/** `Not exist!`, as a missing key's answer is recognised. */
export const NOT_EXIST_BYTES: Uint8Array = encoder.encode(NOT_EXIST);
/** `Error: `, as an error answer is recognised. */
export const ERROR_PREFIX_BYTES: Uint8Array = encoder.encode(ERROR_PREFIX);

/**
 * Writes one request line at `at` (room for `valueBytes` plus
 * {@linkcode REQUEST_OVERHEAD_BYTES} is there): `PUT, key:KEY, VALUE\n`
 * for the `version`-th value of the key, or `GET, key:KEY\n`. Returns
 * where it ends.
 */
export function writeRequest(
  out: Uint8Array,
  at: number,
  op: number,
  key: number,
  valueBytes: number,
  version: number,
): number {
  if (op === OP_PUT) {
    out.set(PUT_PREFIX, at);
    at = writeDigits(out, at + PUT_PREFIX.length, key);
    out[at++] = 0x2c; // ","
    out[at++] = 0x20; // " "
    writeValue(out, at, valueBytes, key, version);
    at += valueBytes;
  } else {
    out.set(GET_PREFIX, at);
    at = writeDigits(out, at + GET_PREFIX.length, key);
  }
  out[at++] = LF;
  return at;
}

/**
 * Writes the value of `key` at `version`: `v` padding, then `VERSION.KEY`,
 * `valueBytes` long in all; when that is too short, only its last bytes.
 */
export function writeValue(
  out: Uint8Array,
  at: number,
  valueBytes: number,
  key: number,
  version: number,
): void {
  let p = digitsBefore(out, at, at + valueBytes, key);
  if (p === at) return;
  out[--p] = DOT;
  p = digitsBefore(out, at, p, version);
  out.fill(PAD, at, p);
}

/**
 * Writes the decimal digits of `n` so that they end just before `end`, but
 * none before `at`; returns where they start.
 */
function digitsBefore(out: Uint8Array, at: number, end: number, n: number): number {
  let p = end;
  do {
    if (p === at) return p;
    const digit = n % 10;
    out[--p] = ZERO + digit;
    n = (n - digit) / 10;
  } while (n > 0);
  return p;
}

/**
 * Whether `buffer[start, end)` is the value {@linkcode writeValue} writes:
 * it writes the expected value and compares, so the two cannot drift apart.
 */
export function valueMatches(
  buffer: Uint8Array,
  start: number,
  end: number,
  valueBytes: number,
  key: number,
  version: number,
): boolean {
  if (end - start !== valueBytes) return false;
  if (expected.length < valueBytes) expected = new Uint8Array(valueBytes);
  writeValue(expected, 0, valueBytes, key, version);
  for (let i = 0; i < valueBytes; i++) if (buffer[start + i] !== expected[i]) return false;
  return true;
}

// valueMatches()'s scratch space, grown to the largest value checked.
let expected = new Uint8Array(64);

/** The value the `version`-th PUT of `key` holds, as text. */
export function expectedValue(valueBytes: number, key: number, version: number): string {
  const bytes = new Uint8Array(valueBytes);
  writeValue(bytes, 0, valueBytes, key, version);
  return decoder.decode(bytes);
}

/** Writes `n` in decimal at `at`; returns where it ends. */
export function writeDigits(out: Uint8Array, at: number, n: number): number {
  let digits = 1;
  for (let power = 10; power <= n; power *= 10) digits++;
  const end = at + digits;
  let p = end;
  do {
    const digit = n % 10;
    out[--p] = ZERO + digit;
    n = (n - digit) / 10;
  } while (n > 0);
  return end;
}

/** Whether `bytes` starts with `prefix`. */
export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && equalBytes(bytes, 0, prefix.length, prefix);
}

/** Quotes an answer for the report, cut to a sample. */
export function quote(text: string): string {
  return JSON.stringify(text.length > SAMPLE_CHARS ? `${text.slice(0, SAMPLE_CHARS)}...` : text);
}

/** Decodes an answer's bytes for the report. */
export function decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
