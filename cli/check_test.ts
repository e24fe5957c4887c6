/**
 * Tests of `kv check`'s command line, in-process through `main()` over real
 * sockets on port 0: the text report, exit statuses, `--lang ko`, `--list`,
 * `--only`, and its usage errors (`--json` and `--junit`:
 * check_report_test.ts).
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { KvClient } from "../client/client.ts";
import { main } from "../main.ts";
import { rulesOf } from "../check/rules.ts";
import {
  closedPort,
  FakeIo,
  heldServer,
  readRawLines,
  runKvCheck,
  scriptedServer,
  send,
  startTestServer,
  studentServer,
  textbookServer,
} from "../testing/mod.ts";
import { defaultLang } from "./check.ts";
import { TEST_CERT, TEST_KEY } from "../testing/tls.ts";

const check = runKvCheck;

// The assignment level in English, with the textbook pause: how a student runs it.
const ASSIGNMENT_EN = ["--level", "assignment", "--lang", "en", "--pause-ms", "100"];

Deno.test("kv check passes kv's own server: a line per rule, the summary, exit 0", async () => {
  await using server = startTestServer();
  const { code, stdout, stderr } = await check(server.port, ["--lang", "en"]);
  assertEquals([code, stderr], [0, ""]);
  const lines = stdout.split("\n");
  assertEquals(lines[0], `kv check 127.0.0.1:${server.port}, level contract: 31 rules`);
  assertMatch(
    lines[1]!,
    /^It writes only keys that start with "kvcheck:[0-9a-f]{4}:", and deletes them at the end\.$/,
  );
  assertEquals(lines.filter((line) => line.startsWith("PASS  ")).length, 31);
  assertMatch(
    stdout,
    /\nDeleted the \d+ keys it wrote\.\n31 passed, 0 failed, 0 skipped in [\d.]+ s: every rule holds\.\n$/,
  );
});

Deno.test("kv check against the textbook server: assignment exit 0, contract exit 1 with reasons", async () => {
  await using server = textbookServer();
  const assignment = await check(server.port, ASSIGNMENT_EN);
  assertEquals(assignment.code, 0, assignment.stdout);
  assertStringIncludes(assignment.stdout, "13 passed, 0 failed, 0 skipped");
  const contract = await check(server.port, [
    "--only",
    "cmd.put",
    "--lang",
    "en",
    "--pause-ms",
    "100",
  ]);
  assertEquals(contract.code, 1);
  assertStringIncludes(
    contract.stdout,
    "FAIL  cmd.put                     PUT answers Success!\n" +
      "      step 2: the answer stopped without a \\n (nothing more for 100 ms): answers must end with \\n" +
      "  [PROTOCOL.md § Requests]\n" +
      '      sent      "PUT, kvcheck:',
  );
  assertStringIncludes(
    contract.stdout,
    '      expected  "Success!\\n"\n      got       "Success!"\n',
  );
  const all = await check(server.port, ["--only", "cmd.*", "--lang", "en", "--pause-ms", "100"]);
  assertStringIncludes(all.stdout, "Hint: 9 rules failed because an answer did not end with \\n.");
});

Deno.test("kv check --lang ko writes the sentences and the summary in Korean", async () => {
  await using server = startTestServer();
  const { code, stdout } = await check(server.port, ["--lang", "ko", "--only", "cmd.put"]);
  assertEquals(code, 0);
  assertStringIncludes(stdout, "PASS  cmd.put                     PUT은 Success!로 답한다\n");
  assertStringIncludes(stdout, "통과 1, 실패 0, 건너뜀 0");
  assert(["en", "ko"].includes(defaultLang()));
  assertEquals(defaultLang(), navigator.language.toLowerCase().startsWith("ko") ? "ko" : "en");
});

Deno.test("kv check --level assignment says why a server that waits for \\n got no answers, and still cleans up", async () => {
  // Right by the contract, but it never takes a paused line as a request.
  await using server = studentServer("no-unframed");
  const run = await check(server.port, [
    ...["--level", "assignment", "--lang", "en", "--timeout", "0.3", "--pause-ms", "50"],
  ]);
  assertEquals(run.code, 1);
  assertMatch(
    run.stdout,
    /\nHint: \d+ rules got no answer, yet the same kind of request ending with \\n was answered at once\./,
  );
  assertStringIncludes(run.stdout, "check your server with --level contract");
  // The cleanup spoke with \n too, so what the half-closed requests stored is gone.
  assertMatch(run.stdout, /\nDeleted the \d+ keys? it wrote\.\n/);
  assertEquals(
    (await check(server.port, ["--only", "cmd.list-empty", "--lang", "en"])).code,
    0,
    "the store is empty again",
  );
  await using textbook = textbookServer();
  const fine = await check(textbook.port, ASSIGNMENT_EN);
  assertEquals(fine.stdout.includes("got no answer, yet"), false, fine.stdout);
});

Deno.test("kv check says when rules failed only at the PING that shows the server still answers", async () => {
  await using server = studentServer("no-ping");
  const run = await check(server.port, ["--lang", "en", "--timeout", "0.5", "--pause-ms", "50"]);
  assertEquals(run.code, 1);
  assertMatch(
    run.stdout,
    /\nHint: your server does not answer PING with PONG \(PROTOCOL\.md, Requests\), and \d+ more rules failed at a PING/,
  );
  await using right = studentServer();
  const fine = await check(right.port, ["--lang", "en", "--only", "cmd.ping,req.case"]);
  assertEquals([fine.code, fine.stdout.includes("Hint")], [0, false]);
});

Deno.test("kv check says when a server serves one client at a time, at the assignment level too", async (t) => {
  const HINT = "\nHint: while one client stays connected, your server answers nobody else";
  await t.step("the textbook server passes the assignment, and is told", async () => {
    await using server = textbookServer();
    const run = await check(server.port, ASSIGNMENT_EN);
    assertEquals(run.code, 0, run.stdout);
    assertStringIncludes(run.stdout, HINT);
  });
  await t.step("in Korean, with the contract's two rules it fails", async () => {
    await using server = studentServer("one-client-at-a-time");
    // 1 s, not less: the one-at-a-time question waits for the rules' connections to be served first.
    const only = ["--only", "conn.concurrent,cmd.ping", "--timeout", "1"];
    const run = await check(server.port, [...only, "--lang", "ko", "--pause-ms", "50"]);
    assertEquals(run.code, 1);
    assertStringIncludes(run.stdout, "\n힌트: 클라이언트 하나가 연결된 채로 있는 동안");
  });
  await t.step("a server that serves many at once is not", async () => {
    await using server = studentServer();
    const run = await check(server.port, ASSIGNMENT_EN);
    assertEquals([run.code, run.stdout.includes("Hint")], [0, false], run.stdout);
  });
});

Deno.test("kv check's PING hint quotes an answer that is almost PONG, and a silent server gets its own", async (t) => {
  await t.step("PONG with a space", async () => {
    await using server = studentServer("print-space");
    const run = await check(server.port, ["--lang", "en", "--timeout", "0.5", "--pause-ms", "50"]);
    assertEquals(run.code, 1);
    assertMatch(
      run.stdout,
      /\nHint: your server answers PING with "PONG \\n", not exactly "PONG\\n" \(PROTOCOL\.md, Requests\), and \d+ more rules failed at a PING/,
    );
  });
  await t.step("nothing answered after the run's first request", async () => {
    let answered = false;
    await using server = scriptedServer(async (conn) => {
      while (await conn.read(new Uint8Array(64)) !== null) {
        if (!answered) await send(conn, "Not exist!\n");
        answered = true;
      }
    });
    const only = ["--only", "cmd.ping,cmd.put,cmd.get-missing,req.case"];
    const run = await check(server.port, ["--lang", "en", "--timeout", "0.2", ...only]);
    assertEquals(run.code, 1);
    assertStringIncludes(run.stdout, "\nHint: 4 of 4 rules got no answer at all in time.");
    assertEquals(run.stdout.includes("Add PING"), false, run.stdout);
  });
  await t.step("every connection closed at once, after the first", async () => {
    let connections = 0;
    await using server = scriptedServer(async (conn) => {
      // The check's first connection only connects and closes; then each is closed unanswered.
      if (connections++ === 0) { while (await conn.read(new Uint8Array(64)) !== null); }
    });
    const run = await check(server.port, ["--lang", "en", "--timeout", "0.5"]);
    assertEquals(run.code, 1);
    assertStringIncludes(
      run.stdout,
      "\nHint: your server closed the connection without answering PING",
    );
    assertEquals(run.stdout.includes("Add PING"), false, run.stdout);
  });
  await t.step(
    "a kv server that speaks TLS, checked without --tls: the hint names --tls",
    async () => {
      // It closes each plain connection with nothing said, as a server that closes after accept().
      await using server = startTestServer({ tls: { cert: TEST_CERT, key: TEST_KEY } });
      const run = await check(server.port, ["--lang", "en", "--timeout", "0.5"]);
      assertEquals(run.code, 1);
      assertStringIncludes(
        run.stdout,
        "\nHint: your server closed the connection without answering PING",
      );
      assertStringIncludes(
        run.stdout,
        "A server that speaks TLS closes a plain connection just so: then run kv check with " +
          "--tls (and --tls-ca FILE).\n",
      );
    },
  );
});

Deno.test("kv check stops before any rule, exit 2, when a server of one client at a time is held by another", async (t) => {
  const fast = ["--timeout", "0.3", "--pause-ms", "50"];
  await t.step("the text report: its header, then one message on stderr", async () => {
    await using server = await heldServer();
    const run = await check(server.port, [...ASSIGNMENT_EN, ...fast]);
    await server.release();
    assertEquals(run.code, 2);
    const prefix =
      /^kv check 127\.0\.0\.1:\d+, level assignment: 13 rules\nIt writes only keys that start with "(kvcheck:[0-9a-f]{4}:)", [^\n]*\n$/
        .exec(run.stdout)?.[1];
    assert(prefix !== undefined, run.stdout);
    assertStringIncludes(
      run.stderr,
      `kv: the server at 127.0.0.1:${server.port} accepted the connection but sent nothing back ` +
        `for 0.9 s, keeping it open (kv check asked "GET, ${prefix}nobody", without \\n as the ` +
        'course\'s client does, then with it, then "LIST\\nHELLO\\n"). Most likely another client is ' +
        "still connected to " +
        "it (nc, or kv client in another terminal) and it serves one client at a time: close " +
        "that client and run kv check again. ",
    );
    assert(run.stderr.endsWith(" No rule was run, and no key was written.\n"), run.stderr);
    assertEquals(run.stderr.split("\n").length, 2, "one line");
  });
  await t.step("in Korean", async () => {
    await using server = await heldServer();
    const run = await check(server.port, ["--lang", "ko", ...fast]);
    await server.release();
    assertEquals(run.code, 2);
    assertStringIncludes(
      run.stderr,
      `kv: 서버(127.0.0.1:${server.port})가 연결은 받았지만, 연결을 열어 둔 채 0.9초 동안 ` +
        '아무것도 보내지 않았습니다(kv check가 보낸 요청: "GET, kvcheck:',
    );
    assertStringIncludes(
      run.stderr,
      'nobody\\n", 그다음 "LIST\\nHELLO\\n"). 다른 클라이언트(nc, 또는 다른 터미널의 kv client)가 아직 ' +
        "연결되어 있고, ",
    );
    assertStringIncludes(
      run.stderr,
      "연결된 다른 클라이언트가 없다면, 서버가 요청을 읽기만 하고 답하지 않거나(서버의 터미널을 " +
        "보세요), 서버 프로세스가 일시 중지되어 있거나(그 터미널에서 Ctrl-Z를 누르면 서버가 끝나지 " +
        "않고 일시 중지됩니다: 거기서 fg를 입력하면 다시 돌아가고, 끝내려면 Ctrl-C를 " +
        "누르세요), 답이 --timeout보다 느린 것입니다(그렇다면 " +
        "--timeout을 더 길게 주세요).",
    );
    assertStringIncludes(
      run.stderr,
      "다른 클라이언트(nc, 또는 다른 터미널의 kv client)가 아직 연결되어 있고, 서버가 한 번에 " +
        "클라이언트 하나만 받는 것 같습니다: 그 클라이언트를 닫고 kv check를 다시 실행하세요.",
    );
    assertStringIncludes(run.stderr, "규칙은 하나도 실행하지 않았고, key도 쓰지 않았습니다.\n");
  });
  await t.step("in Korean, the course's request without \\n first", async () => {
    await using server = await heldServer();
    const run = await check(server.port, ["--lang", "ko", "--level", "assignment", ...fast]);
    await server.release();
    assertEquals(run.code, 2);
    assertStringIncludes(
      run.stderr,
      'nobody"(수업의 클라이언트처럼 \\n 없이 보내고, 이어서 \\n을 보냄), 그다음 "LIST\\nHELLO\\n"). 다른 클라이언트',
    );
  });
  await t.step("--json: no rule, all not run, not ok, and why", async () => {
    await using server = await heldServer();
    const run = await check(server.port, ["--json", "--lang", "en", ...fast]);
    await server.release();
    assertEquals(run.code, 2);
    const report = JSON.parse(run.stdout);
    assertEquals(
      [report.ok, report.passed, report.failed, report.not_run, report.keys_written, report.rules],
      [false, 0, 0, 31, 0, []],
    );
    assertStringIncludes(report.error, "accepted the connection but sent nothing back for 0.9 s");
    assertStringIncludes(run.stderr, report.error);
  });
  await t.step("--junit -: one test case, in error", async () => {
    await using server = await heldServer();
    const run = await check(server.port, ["--junit", "-", "--lang", "en", ...fast]);
    await server.release();
    assertEquals(run.code, 2);
    assertStringIncludes(
      run.stdout,
      '<testsuites name="kv check" tests="1" failures="0" errors="1" skipped="0"',
    );
    assertMatch(
      run.stdout,
      /<testcase name="the server answers a first request, before any rule" classname="kv\.check" time="[\d.]+">\n {6}<error message="the server at 127\.0\.0\.1:\d+ accepted the connection [^"]*" type="NoAnswer"\/>\n {4}<\/testcase>/,
    );
  });
});

Deno.test("kv check stopped (Ctrl-C) runs no new rule, still deletes its keys, and exits 130", async () => {
  await using server = startTestServer();
  const stop = new AbortController();
  const fake = new FakeIo({ signal: stop.signal });
  const running = main(["check", "-p", String(server.port), "--lang", "en"], fake.io);
  // Stopped once the first rules have written keys.
  await fake.waitForStdout(/PASS {2}cmd\.put/);
  stop.abort();
  assertEquals(await running, 130);
  assertMatch(
    fake.stdout,
    /\nInterrupted: \d+ rule\(s\) not run\.\nDeleted the \d+ keys? it wrote\.\n/,
  );
  assertMatch(fake.stdout, /: every rule that ran holds\.\n$/);
  await using client = await KvClient.connect({ port: server.port });
  assertEquals(await client.list(), new Map());
});

Deno.test("kv check stopped during its last rule still exits 130", async () => {
  const stop = new AbortController();
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    stop.abort(); // Ctrl-C while the only rule waits for its answer.
    await send(conn, "PONG\n");
    while (await conn.read(new Uint8Array(64)) !== null);
  });
  const fake = new FakeIo({ signal: stop.signal });
  const code = await main(["check", "-p", String(server.port), "--only", "cmd.ping"], fake.io);
  assertEquals(code, 130, fake.stdout);
});

Deno.test("kv check --list prints every rule, or those of --level", async () => {
  const all = new FakeIo();
  assertEquals(await main(["check", "--list", "--lang", "en"], all.io), 0);
  assertStringIncludes(
    all.stdout,
    "req.trim                    contract    Every field is trimmed of spaces and tabs\n",
  );
  // Two lines a rule, and the last saying how to see the rules over UDP.
  assertEquals(all.stdout.trimEnd().split("\n").length, 2 * (13 + 36) + 1);
  const assignment = new FakeIo();
  assertEquals(
    await main(["check", "--list", "--level", "assignment", "--lang", "ko"], assignment.io),
    0,
  );
  assertEquals(
    assignment.stdout.trimEnd().split("\n").length,
    2 * rulesOf("assignment").length + 1,
  );
  assertStringIncludes(assignment.stdout, "과제: PUT, myname, yyjun → Success!");
  assertStringIncludes(assignment.stdout, "과제: 서버는 항상 죽지 않고 요청을 수용 (필드 부족)");
});

Deno.test("kv check exit 2: an unreachable server (naming it) or a bad command line", async (t) => {
  await t.step("unreachable", async () => {
    const port = closedPort();
    const { code, stdout, stderr } = await check(port, []);
    assertEquals([code, stdout], [2, ""]);
    assertEquals(
      stderr,
      `kv: cannot connect to 127.0.0.1:${port}: connection refused (is the server running, on that port?)\n`,
    );
  });
  await t.step("unreachable, in Korean as kv client says it", async () => {
    const port = closedPort();
    const { code, stderr } = await check(port, ["--lang", "ko"]);
    assertEquals(code, 2);
    assertEquals(
      stderr,
      `kv: 서버(127.0.0.1:${port})에 연결할 수 없습니다: 연결이 거부되었습니다(서버를 실행했나요? ` +
        "포트는 맞나요?)\n",
    );
  });
  const cases: [string[], string][] = [
    [["--only", "nope"], 'no rule matches "nope" (kv check --list shows them)'],
    [["--json", "--junit", "x.xml"], "cannot use --json with --junit: give one"],
    [["--level", "strict"], 'cannot use --level "strict": expected assignment, contract, full'],
    [["--lang", "fr"], 'cannot use --lang "fr": expected en, ko'],
    [["--timeout", "0"], 'cannot use --timeout "0": expected seconds above 0, like 2 or 0.5'],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), async () => {
      const { code, stderr } = await check(closedPort(), args);
      assertEquals([code, stderr], [2, `kv: ${message}\nRun "kv check --help" for usage.\n`]);
    });
  }
});
