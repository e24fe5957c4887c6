/**
 * Tests of the wrong answers told by the Python habit behind them
 * (answer_reasons.ts): the shapes alone, then kv check against servers
 * that have each habit (testing/student_servers.ts), at the assignment's
 * level and the contract's, in both languages.
 *
 * @module
 */

import { assertEquals, assertStringIncludes } from "@std/assert";
import { lineAnswerReason, listAnswerReason } from "./answer_reasons.ts";
import { endHints } from "./hints.ts";
import { runCheck } from "./runner.ts";
import { failures, notPassed } from "../testing/check_runs.ts";
import type { Level } from "./rule.ts";
import { type Mistake, studentServer } from "../testing/mod.ts";

Deno.test("lineAnswerReason() names None, and the right answer with more around it", () => {
  assertStringIncludes(lineAnswerReason("None", "Not exist!")!.en, 'store.get(key, "Not exist!")');
  assertStringIncludes(
    lineAnswerReason("[server] Success!", "Success!")!.en,
    'the right one, "Success!", with more text around it: "[server] " before it',
  );
  assertStringIncludes(
    lineAnswerReason("PUT, a, 1 -> Success!", "Success!")!.ko,
    '맞는 답 "Success!" 앞에 "PUT, a, 1 -> "이(가) 더 붙어 있음',
  );
  assertStringIncludes(
    lineAnswerReason("Success! (saved)", "Success!")!.en,
    '" (saved)" after it',
  );
  assertStringIncludes(
    lineAnswerReason("Welcome!\nError: unknown command", "Error: ", true)!.en,
    '"Welcome!\\n" before it',
  );
  // Not a habit's shape: another word or value, spaces alone (the spaces reason's), None for a value.
  for (
    const [got, want] of [
      ["10", "1"],
      ["11", "1"],
      ["yyjunior", "yyjun"],
      [" Success! ", "Success!"],
      ["None", "yyjun"],
      ["Sucess!", "Success!"],
    ]
  ) {
    assertEquals(lineAnswerReason(got!, want!), undefined, `${got} for ${want}`);
  }
});

Deno.test("listAnswerReason() names a dict as str() prints it, and pairs glued on one line", () => {
  assertStringIncludes(
    listAnswerReason("{'a': '1', 'b': '2'}", ["a, 1", "b, 2"])!.en,
    `LIST answered with the store as Python's str() prints it ("{'a': '1', 'b': '2'}")`,
  );
  assertStringIncludes(
    listAnswerReason("[('a', '1')]", ["a, 1"])!.ko,
    "LIST가 저장소를 Python의 str()이 찍는 모양으로 답함",
  );
  const glued = listAnswerReason("a, 1b, 2c, 3", ["b, 2", "c, 3"])!;
  assertStringIncludes(glued.en, `LIST's pairs came with no \\n between them ("b, 2" is inside`);
  assertStringIncludes(glued.ko, "LIST의 쌍 사이에 \\n이 없음");
  // One pair with a label before it is not pairs glued: the label is what is told.
  assertStringIncludes(
    listAnswerReason("[server] a, 1\nb, 2", ["a, 1"])!.en,
    '"[server] " before it',
  );
  // A pair left out, nowhere inside another line: no shape to name.
  assertEquals(listAnswerReason("a, 1\nb, 2", ["c, 3"]), undefined);
});

/** Each habit, the level, the rules that must catch it, and words each of their reasons has. */
const HABITS: [Mistake, Level, string[], string, string][] = [
  [
    "get-none",
    "assignment",
    [
      "a.get-missing",
      "a.delete",
      "a.unknown-command",
      "a.missing-fields",
      "a.extra-fields",
      "a.invalid-utf8",
      "a.disconnect",
    ],
    'store.get(key, "Not exist!")',
    '없는 key에는 "Not exist!"로 답하세요',
  ],
  [
    "get-none",
    "contract",
    ["cmd.get-missing", "cmd.delete", "cmd.quit"],
    'str(None) is "None"',
    'str(None)은 "None"',
  ],
  ["list-glued", "assignment", ["a.list"], "no \\n between them", "쌍 사이에 \\n이 없음"],
  ["list-glued", "contract", ["cmd.list"], "no \\n between them", "쌍 사이에 \\n이 없음"],
  ["list-dict", "assignment", ["a.list"], "as Python's str() prints it", "str()이 찍는 모양"],
  ["list-dict", "contract", ["cmd.list"], "as Python's str() prints it", "str()이 찍는 모양"],
  [
    "answer-prefix",
    "assignment",
    ["a.list-empty", "a.put", "a.get-missing"],
    '"[server] " before it',
    '앞에 "[server] "이(가) 더 붙어 있음',
  ],
  [
    "answer-prefix",
    "contract",
    ["cmd.list-empty", "cmd.put", "cmd.ping", "req.pipeline", "err.unknown"],
    '"[server] " before it',
    '앞에 "[server] "이(가) 더 붙어 있음',
  ],
];

Deno.test("runCheck() tells each Python habit by its cause, at the assignment's level and the contract's", async () => {
  const wrong: string[] = [];
  await Promise.all(HABITS.map(async ([mistake, level, rules, en, ko]) => {
    await using server = studentServer(mistake);
    const only = level === "contract" && mistake === "get-none" ? ["cmd.*"] : rules;
    const run = await runCheck({ port: server.port, only, timeoutMs: 1_000, pauseMs: 100 });
    if (JSON.stringify(failures(run)) !== JSON.stringify(rules)) {
      wrong.push(`${mistake} (${level}): failed ${failures(run)}\n${notPassed(run)}`);
    }
    for (const { rule, failure } of run.results) {
      if (failure === undefined) continue;
      if (!failure.reason.en.includes(en) || !failure.reason.ko.includes(ko)) {
        wrong.push(`${mistake} ${rule.id}: ${failure.reason.en} / ${failure.reason.ko}`);
      }
    }
  }));
  assertEquals(wrong, []);
});

Deno.test("runCheck()'s PING hint shows a PONG with more around it as the answer PING got", async () => {
  await using server = studentServer("answer-prefix");
  const run = await runCheck({ port: server.port, timeoutMs: 1_000, pauseMs: 100 });
  const hints = endHints(run, "en", false).join("");
  assertStringIncludes(hints, 'your server answers PING with "[server] PONG\\n", not exactly');
  assertStringIncludes(
    endHints(run, "ko", false).join(""),
    '서버가 PING에 "[server] PONG\\n"(으)로',
  );
});
