/**
 * The checker's reports: text, a line per rule as it finishes (with what
 * was sent, expected and got under each failure), the rule list of
 * `--list`, and one JSON object per run. The JUnit XML is in `junit.ts`.
 *
 * @module
 */

import { VERSION } from "../version.ts";
import { noAnswerText, sameReasonAs, WORDS } from "./report_messages.ts";
import type { CheckRun, RuleResult } from "./runner.ts";
import { type Lang, type Rule, sourceOf } from "./rule.ts";
import { show } from "../net/show.ts";
import { retriedNote } from "./udp_messages.ts";

const LABEL = { pass: "PASS", fail: "FAIL", skip: "SKIP" } as const;
const ID_WIDTH = 28;
// A reason longer than this is said in full once per run, then referred to.
const LONG_REASON_CHARS = 160;

/**
 * One rule's lines: `PASS  id  sentence`, and under a failure or skip, why.
 * `said`, kept for a run, holds the long reasons printed so far (and
 * where): a rule that fails for one of them again refers to it instead.
 */
export function formatResult(
  result: RuleResult,
  lang: Lang,
  said: Map<string, string> = new Map(),
): string {
  const { rule, status, failure, skipped } = result;
  const lines = [`${LABEL[status]}  ${rule.id.padEnd(ID_WIDTH)}${rule.text[lang]}`];
  const indent = " ".repeat(6);
  if (result.retried !== undefined) lines.push(`${indent}${retriedNote(lang, result.retried)}`);
  if (skipped !== undefined) lines.push(`${indent}${skipped[lang]}`);
  if (failure !== undefined) {
    const labels = [WORDS.sent[lang], WORDS.expected[lang], WORDS.got[lang]];
    const width = Math.max(...labels.map((label) => label.length)) + 2;
    // A long reason (a server that stopped fails every rule after) is said once.
    let reason = failure.reason[lang];
    const first = said.get(reason);
    if (first !== undefined) reason = sameReasonAs(first)[lang];
    else if (reason.length > LONG_REASON_CHARS) said.set(reason, rule.id);
    lines.push(
      `${indent}${WORDS.step[lang]} ${failure.step}: ${reason}  [${sourceOf(rule, lang)}]`,
    );
    if (failure.sent !== undefined) {
      lines.push(
        `${indent}${labels[0]!.padEnd(width)}${
          show(failure.sent, { totalBytes: failure.sentBytes })
        }`,
      );
    }
    lines.push(`${indent}${labels[1]!.padEnd(width)}${failure.expected[lang]}`);
    const got = failure.got === undefined || failure.got.length === 0
      ? WORDS.nothing[lang]
      : show(failure.got, { totalBytes: failure.gotBytes });
    lines.push(`${indent}${labels[2]!.padEnd(width)}${got}`);
  }
  return `${lines.join("\n")}\n`;
}

/** `--list`: every rule, its level, where it comes from and its sentence. */
export function formatRuleList(rules: readonly Rule[], lang: Lang): string {
  return rules.map((rule) =>
    `${rule.id.padEnd(ID_WIDTH)}${rule.level.padEnd(12)}${rule.text[lang]}\n` +
    `${" ".repeat(ID_WIDTH + 12)}${sourceOf(rule, lang)}\n`
  ).join("");
}

/** What `--json` prints: one object for the whole run. */
export interface CheckReport {
  tool: "kv check";
  version: string;
  address: string;
  /** Over UDP (`--udp`). */
  udp: boolean;
  level: string;
  only: readonly string[];
  lang: Lang;
  prefix: string;
  started_at: string;
  seconds: number;
  passed: number;
  failed: number;
  skipped: number;
  /** Rules that did not run: the run was stopped (Ctrl-C). */
  not_run: number;
  /** Whether every rule ran and held (skipped ones aside). */
  ok: boolean;
  keys_written: number;
  keys_deleted: number;
  /** The keys that may be left in the store, and why. */
  keys_left: { key: string; reason: string }[];
  /**
   * Why no rule ran: the server answered nothing to the first request
   * (`rules` is then empty, and `not_run` counts them all). Absent otherwise.
   */
  error?: string;
  rules: {
    id: string;
    level: string;
    source: string;
    text: string;
    status: "pass" | "fail" | "skip";
    seconds: number;
    /** Over UDP: the most sends an answer took, when a datagram was lost or late. */
    tries?: number;
    step?: number;
    reason?: string;
    sent?: string;
    expected?: string;
    got?: string;
  }[];
}

/** The JSON report of a run (its strings escaped as the text report shows them, less shortened). */
export function jsonReport(run: CheckRun, lang: Lang): CheckReport {
  const long = { maxChars: 4_000 };
  return {
    tool: "kv check",
    version: VERSION,
    address: run.address,
    udp: run.udp ?? false,
    level: run.level,
    only: run.only,
    lang,
    prefix: run.prefix,
    started_at: run.startedAt.toISOString(),
    seconds: round(run.ms),
    passed: run.passed,
    failed: run.failed,
    skipped: run.skipped,
    not_run: run.notRun,
    ok: run.failed === 0 && run.notRun === 0,
    keys_written: run.written,
    keys_deleted: run.deleted,
    keys_left: run.left.map(({ key, why }) => ({ key, reason: why[lang] })),
    ...(run.noAnswer === undefined ? {} : { error: noAnswerText(run.address, run.noAnswer)[lang] }),
    rules: run.results.map(({ rule, status, ms, failure, skipped, retried }) => ({
      id: rule.id,
      level: rule.level,
      source: sourceOf(rule, lang),
      text: rule.text[lang],
      status,
      seconds: round(ms),
      ...(retried === undefined ? {} : { tries: retried }),
      ...(skipped === undefined ? {} : { reason: skipped[lang] }),
      ...(failure === undefined ? {} : {
        step: failure.step,
        reason: failure.reason[lang],
        ...(failure.sent === undefined
          ? {}
          : { sent: show(failure.sent, { ...long, totalBytes: failure.sentBytes }) }),
        expected: failure.expected[lang],
        got: failure.got === undefined
          ? ""
          : show(failure.got, { ...long, totalBytes: failure.gotBytes }),
      }),
    })),
  };
}

function round(ms: number): number {
  return Math.round(ms) / 1000;
}
