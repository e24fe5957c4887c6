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
