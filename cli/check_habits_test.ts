/**
 * Tests of the hints `kv check` gives, through `main()` over real sockets on
 * port 0, for habits of a learner's server that make every answer wrong the
 * same way: a greeting sent before any request (every answer after it
 * comes one late). The hints for requests left unanswered are tested in
 * `check_hints_test.ts`.
 *
 * @module
 */

import { assertEquals, assertStringIncludes } from "@std/assert";
import { runKvCheck, studentServer } from "../testing/mod.ts";

const FAST = ["--timeout", "0.5", "--pause-ms", "50"];

Deno.test("kv check says a server greets each client before any request, and why every answer then is wrong", async () => {
  await using server = studentServer("greeting");
  for (const level of ["assignment", "contract"]) {
    const run = await runKvCheck(server.port, [...FAST, "--level", level, "--lang", "en"]);
    assertEquals(run.code, 1);
    assertStringIncludes(
      run.stdout,
      '\nHint: your server sends "Welcome to the kv server!\\n" as soon as a client connects, ' +
        "before any request.",
    );
    assertStringIncludes(run.stdout, "send nothing before a request comes");
    // Its PONG came one late too: not a server without PING.
    assertEquals(run.stdout.includes("does not answer PING"), false, run.stdout);
  }
  const ko = await runKvCheck(server.port, [...FAST, "--level", "assignment", "--lang", "ko"]);
  assertStringIncludes(
    ko.stdout,
    '\n힌트: 서버가 클라이언트가 연결하자마자, 요청을 받기도 전에 "Welcome to the kv server!\\n"을(를) ' +
      "보냅니다.",
  );
  assertStringIncludes(ko.stdout, "(위의 규칙 13개에서 답이 이 인사였거나 인사로 시작했습니다)");
});

Deno.test("kv check says nothing of a greeting to a server whose wrong answers are its own", async () => {
  // "[server] Success!": wrong answers, and nothing sent before a request.
  await using server = studentServer("answer-prefix");
  const run = await runKvCheck(server.port, [...FAST, "--level", "assignment", "--lang", "en"]);
  assertEquals(run.code, 1);
  assertEquals(run.stdout.includes("as soon as a client connects"), false, run.stdout);
});
