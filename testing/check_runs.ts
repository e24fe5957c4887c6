/**
 * What the `kv check` tests read from a run: the rules that failed, and
 * every outcome that is not a pass, with why (for an assertion's message).
 *
 * @module
 */

import type { CheckRun } from "../check/runner.ts";

/** The ids of the rules that failed, in order. */
export function failures(run: CheckRun): string[] {
  return run.results.filter((result) => result.status === "fail").map((result) => result.rule.id);
}

/** Every rule's outcome that is not a pass, with why: for a readable assertion message. */
export function notPassed(run: CheckRun): string {
  return run.results.filter((result) => result.status !== "pass").map((result) =>
    `${result.status} ${result.rule.id}: ${result.failure?.reason.en ?? result.skipped?.en}`
  ).join("\n");
}
