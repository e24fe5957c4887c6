/**
 * Every rule of the checker, in one list, and how a run picks its rules.
 * The same list is what kv's own tests run against kv's server
 * (`check/check_test.ts`), so the server, its tests and the checker cannot
 * drift apart.
 *
 * @module
 */

import type { Level, Rule } from "./rule.ts";
import { ASSIGNMENT_RULES } from "./rules/assignment.ts";
import { CONTRACT_RULES } from "./rules/contract.ts";
import { FULL_RULES } from "./rules/full.ts";

/** Every rule, of every level. */
export const RULES: readonly Rule[] = [...ASSIGNMENT_RULES, ...CONTRACT_RULES, ...FULL_RULES];

/** The rules a level runs: its own, and for `full` the contract's too. */
export function rulesOf(level: Level): Rule[] {
  return RULES.filter((rule) =>
    rule.level === level || (level === "full" && rule.level === "contract")
  );
}

/**
 * The rules to run: those of `level`, or with `only`, the rules (of any
 * level) whose id matches one of its patterns (`*` matches anything, so
 * `err.*` picks every error rule). Rules marked `first` come first. Throws
 * `RangeError` for a pattern that matches no rule.
 */
export function selectRules(level: Level, only: readonly string[] = []): Rule[] {
  let rules: Rule[];
  if (only.length === 0) {
    rules = rulesOf(level);
  } else {
    const patterns = only.map((pattern) => {
      const regexp = new RegExp(
        `^${
          pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")
        }$`,
      );
      if (!RULES.some((rule) => regexp.test(rule.id))) {
        throw new RangeError(
          `no rule matches ${JSON.stringify(pattern)} (kv check --list shows them)`,
        );
      }
      return regexp;
    });
    rules = RULES.filter((rule) => patterns.some((regexp) => regexp.test(rule.id)));
  }
  return [...rules.filter((rule) => rule.first), ...rules.filter((rule) => !rule.first)];
}
