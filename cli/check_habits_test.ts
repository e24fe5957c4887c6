/**
 * Tests of the hints `kv check` gives, through `main()` over real sockets on
 * port 0, for habits of a learner's server that make every answer wrong the
 * same way: a greeting sent before any request (every answer after it
 * comes one late), one answer to every request (no request recognised),
 * a request sent in pieces answered piece by piece. The hints for requests left unanswered are tested in
 * `check_hints_test.ts`.
 *
 * @module
 */

import { assertEquals, assertStringIncludes } from "@std/assert";
import {
  runKvCheck,
  scriptedServer,
  send,
  startTestServer,
  studentServer,
} from "../testing/mod.ts";

const FAST = ["--timeout", "0.5", "--pause-ms", "50"];

Deno.test("kv check says a server greets each client before any request, and why every answer then is wrong", async () => {
  await using server = studentServer("greeting");
  // Of the contract: cmd.*, and three rules that send a PING last (a PING hint would count them).
  for (const level of [["--level", "assignment"], ["--only", "cmd.*,resp.*,conn.unframed*"]]) {
    const run = await runKvCheck(server.port, [...FAST, ...level, "--lang", "en"]);
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
    '\n힌트: 클라이언트가 연결하자마자, 요청을 받기도 전에 서버가 "Welcome to the kv server!\\n"을(를) ' +
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

Deno.test("kv check takes a refusal sent at accept for neither a greeting nor a server that knows no request", async () => {
  // kv serve --max-connections N past its N: every rule, and the greeting's question, get this.
  await using server = scriptedServer(async (conn) => {
    await send(conn, "Error: too many connections\n");
  });
  // The contract's rules (some got nothing: not one same answer), and cmd.*'s (all got it).
  for (const only of [[], ["--only", "cmd.*"]]) {
    const run = await runKvCheck(server.port, [...FAST, ...only, "--lang", "en"]);
    assertEquals(run.code, 1);
    assertStringIncludes(run.stdout, 'got       "Error: too many connections\\n"');
    assertEquals(run.stdout.includes("as soon as a client connects"), false, run.stdout);
    assertEquals(run.stdout.includes("the same answer"), false, run.stdout);
    assertEquals(run.stdout.includes("does not answer PING"), false, run.stdout);
  }
});

Deno.test("kv check says a server that asks for a password wants --password-file, not that it knows no request", async () => {
  // kv serve --password-file: every request before AUTH gets the contract's refusal.
  await using server = startTestServer({ password: "pw" });
  const run = await runKvCheck(server.port, [...FAST, "--only", "cmd.*", "--lang", "en"]);
  assertEquals(run.code, 1);
  assertStringIncludes(
    run.stdout,
    '\nHint: in 9 rules every request got "Error: authentication required (send AUTH, password ' +
      'first)": the server asks for a password',
  );
  assertStringIncludes(run.stdout, "with --password-file FILE");
  assertEquals(run.stdout.includes("the same answer"), false, run.stdout);
  const ko = await runKvCheck(server.port, [...FAST, "--only", "cmd.*", "--lang", "ko"]);
  assertStringIncludes(ko.stdout, "\n힌트: 규칙 9개에서 모든 요청이");
  assertStringIncludes(ko.stdout, "--password-file FILE로");
});

Deno.test("kv check says every request got one same answer, whatever it asked: a server that knows no request", async () => {
  // It parses str(data), "b'PUT, k, v'": every request is one it does not know.
  await using server = studentServer("same-answer");
  // Of the contract: cmd.*, and three rules that send a PING last (a PING hint would count them).
  for (const level of [["--level", "assignment"], ["--only", "cmd.*,resp.*,conn.unframed*"]]) {
    const run = await runKvCheck(server.port, [...FAST, ...level, "--lang", "en"]);
    assertEquals(run.code, 1);
    assertStringIncludes(
      run.stdout,
      'every request got the same answer, "Wrong request!", whatever',
    );
    assertStringIncludes(run.stdout, `str(data) gives "b'PUT, k, v'"`);
    assertEquals(run.stdout.includes("does not answer PING"), false, run.stdout);
  }
  const ko = await runKvCheck(server.port, [...FAST, "--level", "assignment", "--lang", "ko"]);
  assertStringIncludes(ko.stdout, "\n힌트: 규칙 13개에서 무엇을 요청하든");
  assertStringIncludes(ko.stdout, '같은 답 "Wrong request!"이(가) 왔습니다');
});

Deno.test("kv check does not say one answer came to every request when the wrong answers differ, or wanted the same", async () => {
  // "None" to each GET of a missing key: one answer, but where one answer was wanted.
  for (const mistake of ["get-none", "answer-prefix"] as const) {
    await using server = studentServer(mistake);
    const run = await runKvCheck(server.port, [...FAST, "--level", "assignment", "--lang", "en"]);
    assertEquals(run.code, 1);
    assertEquals(run.stdout.includes("the same answer"), false, `${mistake}:\n${run.stdout}`);
  }
});

Deno.test("kv check does not say a server knows no request when it answered others otherwise", async () => {
  // A store made per connection: every GET, DELETE and LIST of a pair PUT on an earlier
  // connection gets "Not exist!" (4 rules, 3 answers wanted), yet PUT got Success!.
  await using server = studentServer("store-per-connection");
  const run = await runKvCheck(server.port, [...FAST, "--level", "assignment", "--lang", "en"]);
  assertEquals(run.code, 1);
  assertStringIncludes(run.stdout, "PASS  a.put");
  assertEquals(run.stdout.includes("the same answer"), false, run.stdout);
});

Deno.test("kv check says a server answered a piece of a request sent in pieces, as if it were a whole request", async () => {
  // It splits each recv()'s bytes on \n and answers every piece, the last one with no \n too.
  await using server = studentServer("no-buffer");
  // cmd.put: the same server answers a PUT sent whole with Success!.
  const only = ["--only", "cmd.put,req.split"];
  const run = await runKvCheck(server.port, [...FAST, ...only, "--lang", "en"]);
  assertEquals(run.code, 1);
  assertStringIncludes(
    run.stdout,
    '\nHint: req.split sent one request in 5 pieces, 50 ms apart ("PU", ',
  );
  assertStringIncludes(
    run.stdout,
    'your server answered "Error: unknown command \\"PU\\"\\n", not the answer to the whole ' +
      "request: it took what one recv() returned for a whole request.",
  );
  const ko = await runKvCheck(server.port, [...FAST, ...only, "--lang", "ko"]);
  assertStringIncludes(
    ko.stdout,
    "\n힌트: req.split 규칙은 요청 하나를 5조각으로 50 ms 간격을 두고",
  );
  assertStringIncludes(ko.stdout, "recv() 한 번이 돌려준 것을 요청 하나로 본 것입니다");
});

Deno.test("kv check says nothing of pieces when the server gives that wrong answer to a whole request too", async () => {
  // "Sucess!" to every PUT, in pieces or whole: the pieces are not the cause.
  await using server = studentServer("success-typo");
  const only = ["--only", "cmd.put,req.split"];
  const run = await runKvCheck(server.port, [...FAST, ...only, "--lang", "en"]);
  assertEquals(run.code, 1);
  assertStringIncludes(run.stdout, "FAIL  req.split");
  assertEquals(run.stdout.includes("in 5 pieces"), false, run.stdout);
});
