/**
 * {@linkcode junitReport}: a run as JUnit XML, the format CI systems
 * (Jenkins, GitLab, GitHub test-report actions) read: one `<testsuite>` per
 * run, one `<testcase>` per rule, a `<failure>` holding what was sent,
 * expected and got, and `<skipped>` for a skipped rule. A run that stopped
 * before its first rule (the server answered nothing) is one `<testcase>`
 * holding an `<error>` that says why.
 *
 * @module
 */

import { FIRST_ANSWER, noAnswerText, WORDS } from "./report_messages.ts";
import { type Lang, sourceOf } from "./rule.ts";
import type { CheckRun } from "./runner.ts";
import { show } from "../net/show.ts";

// XML 1.0 cannot hold these at all, not even escaped.
// deno-lint-ignore no-control-regex
const NOT_XML_REGEXP = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g;

/** Escapes text for an XML attribute or element. */
export function escapeXml(text: string): string {
  return text.replace(NOT_XML_REGEXP, "").replace(
    /[&<>"']/g,
    (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[char]!,
  );
}

/** The JUnit XML of a run, in `lang`. */
export function junitReport(run: CheckRun, lang: Lang): string {
  const attrs = (pairs: Record<string, string | number>) =>
    Object.entries(pairs).map(([name, value]) => ` ${name}="${escapeXml(String(value))}"`).join("");
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  // A run stopped before its first rule is one case in error, not an empty suite: no pass.
  const error = run.noAnswer === undefined
    ? undefined
    : noAnswerText(run.address, run.noAnswer)[lang];
  const counts = {
    tests: run.results.length + (error === undefined ? 0 : 1),
    failures: run.failed,
    errors: error === undefined ? 0 : 1,
    skipped: run.skipped,
    time: seconds(run.ms),
  };
  const timestamp = run.startedAt.toISOString().replace(/\.\d+Z$/, "");
  const cases = run.results.map(({ rule, status, ms, failure, skipped }) => {
    const head = `    <testcase${
      attrs({
        name: `${rule.id}: ${rule.text[lang]}`,
        classname: `kv.check.${rule.level}`,
        time: seconds(ms),
      })
    }`;
    if (status === "pass") return `${head}/>`;
    if (status === "skip") {
      return `${head}>\n      <skipped${
        attrs({ message: skipped?.[lang] ?? "" })
      }/>\n    </testcase>`;
    }
    const body = [
      `${WORDS.step[lang]} ${failure!.step}: ${failure!.reason[lang]} [${sourceOf(rule, lang)}]`,
      ...(failure!.sent === undefined ? [] : [
        `${WORDS.sent[lang]}: ${
          show(failure!.sent, { maxChars: 4_000, totalBytes: failure!.sentBytes })
        }`,
      ]),
      `${WORDS.expected[lang]}: ${failure!.expected[lang]}`,
      `${WORDS.got[lang]}: ${
        failure!.got?.length
          ? show(failure!.got, { maxChars: 4_000, totalBytes: failure!.gotBytes })
          : WORDS.nothing[lang]
      }`,
    ].join("\n");
    return `${head}>\n      <failure${
      attrs({ message: failure!.reason[lang], type: "AssertionError" })
    }>${escapeXml(body)}</failure>\n    </testcase>`;
  });
  if (error !== undefined) {
    cases.push(
      `    <testcase${
        attrs({ name: FIRST_ANSWER[lang], classname: "kv.check", time: seconds(run.ms) })
      }>\n` +
        `      <error${attrs({ message: error, type: "NoAnswer" })}/>\n    </testcase>`,
    );
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: "kv check", ...counts })}>`,
    `  <testsuite${
      attrs({
        name: `kv check ${run.level} ${run.address}`,
        ...counts,
        timestamp,
        hostname: run.address,
      })
    }>`,
    `    <properties>`,
    `      <property${attrs({ name: "level", value: run.level })}/>`,
    `      <property${attrs({ name: "key_prefix", value: run.prefix })}/>`,
    `    </properties>`,
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}
