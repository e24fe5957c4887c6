/**
 * Every rule of the checker, in one list, and how a run picks its rules.
 * The same list is what kv's own tests run against kv's server
 * (`check/check_test.ts`), so the server, its tests and the checker cannot
 * drift apart.
 *
 * @module
 */

import { asPlayedOver, type Level, type Rule, type TransportName } from "./rule.ts";
import { ASSIGNMENT_RULES } from "./rules/assignment.ts";
import { CONTRACT_RULES } from "./rules/contract.ts";
import { FULL_RULES } from "./rules/full.ts";
import { UDP_RULES } from "./rules/udp.ts";

/** Every rule, of every level and transport. */
export const RULES: readonly Rule[] = [
  ...ASSIGNMENT_RULES,
  ...CONTRACT_RULES,
  ...UDP_RULES,
  ...FULL_RULES,
];

/** Whether `rule` is played over `transport` (rules about connections are TCP's alone). */
export function playsOver(rule: Rule, transport: TransportName): boolean {
  return rule.over === undefined || rule.over === transport;
}

/** Every rule played over `transport`, as a run over it shows them ({@linkcode asPlayedOver}). */
export function rulesOver(transport: TransportName): Rule[] {
  return RULES.filter((rule) => playsOver(rule, transport)).map((rule) =>
    asPlayedOver(rule, transport)
  );
}

/** The rules a level runs over `transport`: its own, and for `full` the contract's too. */
export function rulesOf(level: Level, transport: TransportName = "tcp"): Rule[] {
  return rulesOver(transport).filter((rule) =>
    rule.level === level || (level === "full" && rule.level === "contract")
  );
}

/**
 * The rules to run: those of `level`, or with `only`, the rules (of any
 * level) whose id matches one of its patterns (`*` matches anything, so
 * `err.*` picks every error rule), played over `transport`. Rules marked
 * `first` come first. Throws `RangeError` for a pattern that matches no
 * rule, or only rules of the other transport.
 */
export function selectRules(
  level: Level,
  only: readonly string[] = [],
  transport: TransportName = "tcp",
): Rule[] {
  let rules: Rule[];
  if (only.length === 0) {
    rules = rulesOf(level, transport);
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
      if (!RULES.some((rule) => regexp.test(rule.id) && playsOver(rule, transport))) {
        throw new RangeError(
          transport === "udp"
            ? `no rule matching ${JSON.stringify(pattern)} runs over UDP: UDP has no connections ` +
              "(kv check --list --udp shows those that run)"
            : `no rule matching ${JSON.stringify(pattern)} runs over TCP: it is about datagrams ` +
              "(use --udp)",
        );
      }
      return regexp;
    });
    rules = rulesOver(transport).filter((rule) => patterns.some((regexp) => regexp.test(rule.id)));
  }
  return [...rules.filter((rule) => rule.first), ...rules.filter((rule) => !rule.first)];
}
