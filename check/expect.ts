/**
 * What both ways of checking an answer share (`expect_framed.ts`, the
 * contract's lines; `expect_textbook.ts`, the assignment's pause): the skip
 * a step throws when the store makes its rule moot, the bound on the pairs
 * a LIST step remembers, and the tests that name the likely mistake behind
 * a wrong answer (a field not stripped, a request lower()ed, a deleted pair
 * still listed).
 *
 * @module
 */

import type { Expect, Text } from "./rule.ts";

/** Thrown by a step that cannot apply (an empty LIST of a store that holds pairs): the rule is skipped. */
export class StepSkip extends Error {
  readonly reason: Text;

  constructor(reason: Text) {
    super(reason.en);
    this.reason = reason;
  }
}

/** How many of its own pairs a LIST step remembers, to see one listed twice. */
export const MAX_TRACKED_PAIRS = 10_000;

/**
 * How many lines with no comma in a row a LIST's answer may have before it
 * is taken for no LIST at all: none is a pair. A value with a \n in it
 * breaks one line of a textbook server's in two, the second without a
 * comma, but a pair's line comes between them (and one request of
 * `recv(1024)` holds a value of far fewer lines).
 */
export const MAX_NON_PAIR_LINES = 1_000;

/**
 * Tells, as a LIST's answer comes, whether it can still be one: not once it
 * has more than {@linkcode MAX_NON_PAIR_LINES} whole lines in a row that
 * cannot be a pair's (no comma; blank lines and `Not exist!` aside), or a line longer
 * than `maxLineBytes` (a pair was stored by a request line within it): a
 * server that sends without end. {@linkcode ListScan.wrong} looks only at
 * the bytes that came since its last call, which must begin where the last
 * call's did.
 */
export class ListScan {
  readonly #maxLineBytes: number;
  #lineStart = 0;
  #scanned = 0; // A long line is scanned once.
  #comma = false; // In the bytes of the line so far.
  #count = 0; // Lines without a comma since the last pair's.
  /** Why {@linkcode ListScan.wrong} said so: lines with no comma, or one too long. */
  why: "not-pairs" | "long-line" | undefined;

  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** Whether `bytes` can no longer be the start of a LIST's answer. */
  readonly wrong = (bytes: Uint8Array): boolean => {
    for (let i = this.#scanned; i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (byte === 0x2c) this.#comma = true;
      if (byte !== 0x0a) continue;
      // A pair's line ends the run of lines without a comma.
      if (this.#comma) this.#count = 0;
      else if (!blankOrNotExist(bytes.subarray(this.#lineStart, i))) this.#count++;
      this.#lineStart = i + 1;
      this.#comma = false;
      if (this.#count > MAX_NON_PAIR_LINES) {
        this.why = "not-pairs";
        return true;
      }
    }
    this.#scanned = bytes.length;
    if (bytes.length - this.#lineStart > this.#maxLineBytes) this.why = "long-line";
    return this.why !== undefined;
  };
}

const NOT_EXIST = new TextEncoder().encode("Not exist!");

function blankOrNotExist(line: Uint8Array): boolean {
  let end = line.length;
  while (end > 0 && (line[end - 1] === 0x0d || line[end - 1] === 0x20 || line[end - 1] === 0x09)) {
    end--;
  }
  let start = 0;
  while (start < end && (line[start] === 0x20 || line[start] === 0x09)) start++;
  if (start === end) return true;
  if (end - start !== NOT_EXIST.length) return false;
  return NOT_EXIST.every((byte, i) => line[start + i] === byte);
}

/** The key of a LIST line `key, value`; `""` for a line that is not a pair (no key is empty). */
export function keyOf(line: string): string {
  const comma = line.indexOf(", ");
  return comma < 0 ? "" : line.slice(0, comma);
}

/** The lines of `shown` that list a key of `missing` lines with another value. */
export function sameKeyLines(missing: readonly string[], shown: Iterable<string>): string[] {
  const keys = new Set(missing.map(keyOf));
  return [...shown].filter((line) => keys.has(keyOf(line)) && !missing.includes(line));
}

/** The keys whose pairs a LIST step must not show (`{k}` replaced). */
export function deletedKeys(expect: Expect, prefix: string): string[] {
  return "list" in expect && expect.deleted !== undefined
    ? expect.deleted.map((key) => key.replaceAll("{k}", prefix))
    : [];
}

/** Whether `got` is `want` with spaces or tabs around it: a server that did not strip the value. */
export function isSpaced(got: string, want: string): boolean {
  const bare = (text: string) => text.replace(/^[ \t]+|[ \t]+$/g, "");
  return got !== want && want !== "" && bare(got) === bare(want);
}

/** Whether `got` is `want` with some letters in another case: a server that lower()ed the request. */
export function isRecased(got: string, want: string): boolean {
  // The protocol's own words in another case (SUCCESS!) are the server's
  // wording, not a request it lower()ed: only data (keys, values) counts.
  return got !== want && got.toLowerCase() === want.toLowerCase() && !PROTOCOL_WORDS.has(want);
}

// The answers the protocol fixes, whose case says nothing about the request's.
const PROTOCOL_WORDS = new Set(["Success!", "Not exist!", "PONG", "Bye!"]);
