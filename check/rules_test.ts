/** Tests of the rules as data and of the reports: pure, no network. */

import { assert, assertEquals, assertMatch, assertStringIncludes, assertThrows } from "@std/assert";
import { junitReport } from "./junit.ts";
import { REASON } from "./messages.ts";
import { formatResult, jsonReport } from "./report.ts";
import { type Data, type Rule, sourceOf } from "./rule.ts";
import { RULES, rulesOf, selectRules } from "./rules.ts";
import type { CheckRun } from "./runner.ts";

const HANGUL_REGEXP = /[\uac00-\ud7a3]/;

function texts(data: Data): string {
  return typeof data === "string"
    ? data
    : data.filter((piece) => typeof piece === "string").join("");
}

Deno.test({
  name: "RULES: unique ids, a source, and a sentence in English and Korean each",
  permissions: "none",
  fn: () => {
    assertEquals(new Set(RULES.map((rule) => rule.id)).size, RULES.length);
    for (const rule of RULES) {
      assertMatch(rule.id, /^[a-z]+\.[a-z0-9-]+$/);
      assert(sourceOf(rule, "en").length > 0 && sourceOf(rule, "ko").length > 0, rule.id);
      // The assignment's rules quote it in Korean too: no English-only words under --lang ko.
      if (rule.level === "assignment") {
        assert(sourceOf(rule, "ko").startsWith("과제: "), rule.id);
        assert(!/never dies|overwrites/.test(sourceOf(rule, "ko")), rule.id);
      }
      assert(
        rule.text.en.length > 0 && !HANGUL_REGEXP.test(rule.text.en.replace(/과일/, "")),
        rule.id,
      );
      assert(HANGUL_REGEXP.test(rule.text.ko), `${rule.id}: no Korean sentence`);
      assert(rule.steps.length > 0, rule.id);
    }
    assertEquals(
      [rulesOf("assignment").length, rulesOf("contract").length, rulesOf("full").length],
      [13, 31, 36],
    );
  },
});

Deno.test({
  name: "RULES: every key a rule writes is under the run's prefix {k}",
  permissions: "none",
  fn: () => {
    const sends = RULES.flatMap((rule: Rule) =>
      rule.steps.flatMap((step) =>
        "send" in step
          ? [texts(step.send)]
          : "sendPieces" in step
          ? [step.sendPieces.map(texts).join("")]
          : []
      )
    );
    let puts = 0;
    for (const request of sends.join("\n").split("\n")) {
      const match = /^[ \t]*put[ \t]*,[ \t]*([^,]*),/i.exec(request);
      if (match === null || match[1] === "") continue;
      puts++;
      assert(match[1]!.startsWith("{k}"), `a PUT outside the prefix: ${JSON.stringify(request)}`);
    }
    assert(puts > 30);
  },
});

Deno.test({
  name: "selectRules() picks a level, or ids and patterns of any level, LIST-on-empty first",
  permissions: "none",
  fn: () => {
    assertEquals(selectRules("contract")[0]!.id, "cmd.list-empty");
    assertEquals(selectRules("full").at(-1)!.id, "load.alive");
    const picked = selectRules("contract", ["cmd.put", "a.*"]).map((rule) => rule.id);
    assertEquals(picked.length, 14);
    assertEquals(picked[0], "a.list-empty");
    assertEquals(selectRules("assignment", ["err.*"]).length, 4);
    assertThrows(() => selectRules("contract", ["nope"]), RangeError, 'no rule matches "nope"');
  },
});

function fakeRun(): CheckRun {
  const [put, trim] = [
    RULES.find((r) => r.id === "cmd.put")!,
    RULES.find((r) => r.id === "req.trim")!,
  ];
  const list = RULES.find((r) => r.id === "cmd.list-empty")!;
  return {
    address: "127.0.0.1:12000",
    level: "contract",
    only: [],
    rules: [put, trim, list],
    prefix: "kvcheck:00ff:",
    waitsForNewline: false,
    oneAtATime: false,
    answeredCleanup: false,
    notRun: 0,
    startedAt: new Date("2026-01-12T09:00:00.000Z"),
    ms: 1234,
    passed: 1,
    failed: 1,
    skipped: 1,
    written: 3,
    deleted: 3,
    absent: 0,
    left: [],
    results: [
      { rule: put, status: "pass", ms: 2 },
      {
        rule: trim,
        status: "fail",
        ms: 3,
        failure: {
          step: 4,
          sent: new TextEncoder().encode("GET,kvcheck:00ff:trim\n"),
          expected: { en: '"yyjun\\n"', ko: '"yyjun\\n"' },
          got: new TextEncoder().encode("<Error> & \x01\n"),
          reason: { en: "a different answer", ko: "기대와 다른 답" },
        },
      },
      { rule: list, status: "skip", ms: 1, skipped: { en: "holds keys", ko: "key가 있음" } },
    ],
  };
}

Deno.test({
  name: "formatResult() says a long reason once a run, and then where it was said",
  permissions: "none",
  fn: () => {
    const [, failed] = fakeRun().results;
    const long = REASON.stoppedAfterProbe();
    const result = { ...failed!, failure: { ...failed!.failure!, reason: long } };
    const said = new Map<string, string>();
    assertStringIncludes(formatResult(result, "en", said), long.en);
    const again = formatResult(
      { ...result, rule: RULES.find((r) => r.id === "cmd.get")! },
      "en",
      said,
    );
    assertStringIncludes(again, "step 4: the same as under req.trim above  [");
    assertEquals(again.includes(long.en), false);
    assertStringIncludes(formatResult(result, "ko", new Map()), long.ko);
    // A short reason is said each time.
    assertStringIncludes(formatResult(failed!, "en", said), "a different answer");
    assertStringIncludes(formatResult(failed!, "en", said), "a different answer");
  },
});

Deno.test({
  name: "formatResult() shows the step, why, and sent / expected / got under a failure",
  permissions: "none",
  fn: () => {
    const run = fakeRun();
    assertEquals(
      formatResult(run.results[0]!, "en"),
      `PASS  cmd.put${" ".repeat(21)}PUT answers Success!\n`,
    );
    assertEquals(
      formatResult(run.results[1]!, "en").split("\n").slice(1),
      [
        "      step 4: a different answer  [PROTOCOL.md § Requests]",
        '      sent      "GET,kvcheck:00ff:trim\\n"',
        '      expected  "yyjun\\n"',
        '      got       "<Error> & \\x01\\n"',
        "",
      ],
    );
    assertStringIncludes(formatResult(run.results[1]!, "ko"), "단계 4: 기대와 다른 답");
    assertStringIncludes(formatResult(run.results[2]!, "ko"), "SKIP  cmd.list-empty");
  },
});

Deno.test({
  name: "jsonReport() and junitReport() hold every rule's result, escaped",
  permissions: "none",
  fn: () => {
    const json = jsonReport(fakeRun(), "en");
    assertEquals([json.ok, json.passed, json.failed, json.skipped], [false, 1, 1, 1]);
    assertEquals(json.rules[1]!.got, '"<Error> & \\x01\\n"');
    assertEquals(json.rules[2]!.reason, "holds keys");
    assertEquals(json.keys_left, []);
    const xml = junitReport(fakeRun(), "ko");
    assertStringIncludes(
      xml,
      '<testsuites name="kv check" tests="3" failures="1" errors="0" skipped="1" time="1.234">',
    );
    assertStringIncludes(xml, 'timestamp="2026-01-12T09:00:00"');
    assertEquals(xml.match(/<testcase /g)?.length, 3);
    assertStringIncludes(xml, '<skipped message="key가 있음"/>');
    assertStringIncludes(xml, "&quot;&lt;Error&gt; &amp; \\x01\\n&quot;");
    assert(!xml.includes("\x01"), "a control byte XML cannot hold");
  },
});
