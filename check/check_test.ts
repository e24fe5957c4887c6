/**
 * Tests of the checker against real servers on port 0: kv's own server and
 * a correct server written from scratch pass every rule of every level;
 * each deliberately broken server is caught by the rules that name its
 * mistake and by no other, and told its likely cause; the textbook server
 * passes the assignment and fails the contract. The run around the rules is
 * tested in `runner_test.ts`, the cleanup in `cleanup_test.ts`, the bounds
 * on every wait in `check_bounds_test.ts`.
 *
 * @module
 */

import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { KvClient } from "../client/client.ts";
import { closeQuietly, writeAll } from "../net/conn.ts";
import { CheckUnreachableError, runCheck } from "./runner.ts";
import { failures, notPassed } from "../testing/check_runs.ts";
import type { Level } from "./rule.ts";
import { rulesOf } from "./rules.ts";
import {
  type Mistake,
  readRawLines,
  scriptedServer,
  send,
  startTestServer,
  studentServer,
  textbookServer,
} from "../testing/mod.ts";

for (const level of ["assignment", "contract", "full"] as const) {
  Deno.test(`runCheck() kv's own server passes every rule of level ${level}`, async () => {
    // A short unframed pause: the assignment's requests come without \n.
    await using server = startTestServer({ unframedPauseMs: 20 });
    const run = await runCheck({ port: server.port, level });
    assertEquals(run.results.length, rulesOf(level).length);
    assertEquals(run.passed, run.results.length, notPassed(run));
    // The keys it wrote are gone again.
    await using client = await KvClient.connect({ port: server.port });
    assertEquals((await client.list()).size, 0);
    assertEquals(run.deleted, run.written);
  });
}

Deno.test("runCheck() with a password: every connection sends AUTH first, and the contract holds", async () => {
  await using server = startTestServer({ password: "s3cret" });
  const run = await runCheck({ port: server.port, password: "s3cret" });
  assertEquals(run.failed, 0, notPassed(run));
  // AUTH's \n makes every connection framed: the unframed rule cannot apply.
  const skipped = run.results.filter((result) => result.status === "skip");
  assertEquals(skipped.map((result) => result.rule.id), ["conn.unframed"]);
  assertEquals(run.passed, run.results.length - 1);
  assertEquals(run.deleted, run.written);
  // Without the password every rule meets "authentication required".
  const without = await runCheck({ port: server.port, only: ["cmd.ping"] });
  assertEquals(failures(without), ["cmd.ping"]);
  const got = new TextDecoder().decode(without.results[0]!.failure!.got);
  assertStringIncludes(got, "authentication required");
});

Deno.test("runCheck() with a wrong password: unreachable, saying the server refused it", async () => {
  await using server = startTestServer({ password: "s3cret" });
  const error = await assertRejects(
    () => runCheck({ port: server.port, password: "hunter2" }),
    CheckUnreachableError,
  );
  assertStringIncludes(
    error.message,
    'the server answered AUTH with "Error: wrong password" (is --password-file the server\'s password?)',
  );
  assert(!error.message.includes("hunter2"), "the password itself is not shown");
  assertEquals(
    error.text?.ko,
    `서버(127.0.0.1:${server.port})에 연결할 수 없습니다: 서버가 AUTH에 "Error: wrong password"(이)라고 ` +
      "답했습니다(--password-file의 비밀번호가 서버의 것과 같나요?)",
  );
});

Deno.test("runCheck() with a wrong password inside a word of the answer shows the answer whole", async () => {
  // `pass` stands inside "password": only a password that is a word of its own is hidden, as
  // kv client and kv bench hide it; "wrong ***word" told the user nothing.
  await using server = startTestServer({ password: "s3cret" });
  const error = await assertRejects(
    () => runCheck({ port: server.port, password: "pass" }),
    CheckUnreachableError,
  );
  assertStringIncludes(error.message, 'the server answered AUTH with "Error: wrong password"');
});

Deno.test("runCheck() with a password refuses a selection of which no rule could run", async () => {
  await using server = startTestServer({ password: "s3cret" });
  for (const options of [{ level: "assignment" as const }, { only: ["conn.unframed"] }]) {
    await assertRejects(
      () => runCheck({ port: server.port, password: "s3cret", ...options }),
      RangeError,
      "no rule of this selection can run",
    );
  }
});

Deno.test("runCheck() never shows the password, even from a server that echoes the request", async () => {
  await using server = scriptedServer(async (conn) => {
    const [line] = await readRawLines(conn, 1);
    await send(conn, `Error: unknown ${line!.replace(/\n$/, "")}\n`);
  });
  const error = await assertRejects(
    () => runCheck({ port: server.port, password: "hunter2", only: ["cmd.ping"] }),
    CheckUnreachableError,
  );
  assertStringIncludes(error.message, 'answered AUTH with "Error: unknown AUTH, ***"');
  assert(!error.message.includes("hunter2"));
});

Deno.test("runCheck() a correct server written from scratch passes every level too", async () => {
  for (const level of ["assignment", "contract", "full"] as const) {
    await using server = studentServer();
    const run = await runCheck({ port: server.port, level });
    assertEquals(run.passed, run.results.length, `${level}:\n${notPassed(run)}`);
  }
});

/** Each mistake, the level it is tried at, and exactly the rules that must catch it. */
const BROKEN: [Mistake, Level, string[]][] = [
  ["split-comma-space", "contract", ["req.trim", "req.value-empty", "err.usage"]],
  ["trim-all-space", "contract", ["req.trim-only-space-tab"]],
  ["case-sensitive", "contract", ["req.case"]],
  ["unicode-case", "contract", ["req.case-ascii"]],
  ["list-no-empty-line", "contract", ["cmd.list-empty", "cmd.list"]],
  ["list-empty-nothing", "contract", ["cmd.list-empty"]],
  ["list-empty-nothing", "assignment", ["a.list-empty"]],
  ["list-keeps-deleted", "contract", ["cmd.list"]],
  ["list-keeps-deleted", "assignment", ["a.list"]],
  ["list-twice", "contract", ["cmd.list"]],
  [
    "error-closes",
    "contract",
    ["req.case-ascii", "err.unknown", "err.usage", "err.empty-key", "err.utf8"],
  ],
  ["empty-key-accepted", "contract", ["err.empty-key"]],
  ["put-without-value", "contract", ["err.usage"]],
  ["put-without-value", "assignment", []],
  ["value-cut-at-comma", "contract", ["req.value-commas"]],
  ["first-request-only", "contract", ["req.pipeline"]],
  ["crlf-answers", "contract", ["resp.lf"]],
  ["lossy-utf8", "contract", ["err.utf8"]],
  ["blank-line-answered", "contract", ["req.blank-line"]],
  ["one-client-at-a-time", "contract", ["conn.concurrent", "conn.disconnect"]],
  ["quit-stays-open", "contract", ["cmd.quit"]],
  ["no-half-close", "contract", ["conn.half-close"]],
  ["loops-after-eof", "contract", ["conn.half-close"]],
  ["no-unframed", "contract", ["conn.unframed"]],
  ["delete-always-success", "contract", ["cmd.delete"]],
  ["delete-always-success", "assignment", ["a.delete-missing"]],
  ["keeps-cr", "contract", ["req.crlf", "req.blank-line"]],
  ["dies-on-disconnect", "contract", ["conn.disconnect"]],
  // Once it has died, every rule after the one that killed it fails too.
  ["dies-on-extra-fields", "assignment", ["a.extra-fields", "a.invalid-utf8", "a.disconnect"]],
  ["dies-on-close-mid-request", "assignment", ["a.disconnect"]],
  // Each assignment request has a connection of its own: a pair is gone by the next request.
  ["store-per-connection", "assignment", ["a.get", "a.overwrite", "a.delete", "a.list"]],
];

Deno.test("runCheck() catches each broken server by the rules that name its mistake, and no other", async () => {
  const mismatches: string[] = [];
  // All at once: each run mostly waits out its failing rules' timeouts.
  await Promise.all(BROKEN.map(async ([mistake, level, expected]) => {
    await using server = studentServer(mistake);
    const run = await runCheck({ port: server.port, level, timeoutMs: 1_000, pauseMs: 100 });
    const failed = failures(run);
    if (JSON.stringify(failed) !== JSON.stringify(expected)) {
      mismatches.push(`${mistake} (${level}): expected ${expected}, failed ${failed}`);
    }
    for (const result of run.results) {
      if (result.status === "skip") mismatches.push(`${mistake}: ${result.rule.id} skipped`);
    }
  }));
  assertEquals(mismatches, []);
});

/**
 * A server that lower()s every request, as a student's does to take `put`
 * for `PUT`: kv's own server behind a proxy that lowers ASCII letters on
 * their way in.
 */
function lowercasingServer(): AsyncDisposable & { port: number } {
  const server = startTestServer({ unframedPauseMs: 20 });
  const proxy = scriptedServer(async (conn) => {
    const upstream = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const pipe = async (from: Deno.Conn, to: Deno.Conn, lower: boolean) => {
      const buffer = new Uint8Array(64 * 1024);
      try {
        for (let n; (n = await from.read(buffer)) !== null;) {
          const bytes = buffer.slice(0, n);
          if (lower) bytes.forEach((b, i) => bytes[i] = b >= 0x41 && b <= 0x5a ? b + 32 : b);
          await writeAll(to, bytes);
        }
        await to.closeWrite();
      } catch {
        // A reset: both sides go (the other pipe's read then ends too).
        closeQuietly(upstream);
        closeQuietly(conn);
      }
    };
    await Promise.all([pipe(conn, upstream, true), pipe(upstream, conn, false)]);
    closeQuietly(upstream);
  });
  return {
    port: proxy.port,
    async [Symbol.asyncDispose]() {
      await proxy[Symbol.asyncDispose]();
      await server[Symbol.asyncDispose]();
    },
  };
}

Deno.test("runCheck() fails a server that lower()s the request, at every level, saying so", async () => {
  const expected: Record<Level, string[]> = {
    assignment: ["a.get", "a.list"],
    contract: ["req.case-data"],
    full: ["req.case-data"],
  };
  for (const level of ["assignment", "contract", "full"] as const) {
    await using server = lowercasingServer();
    // The server and its proxy run in this process: waits long enough that a
    // loaded machine does not fail load.slow-reader, which is not the point here.
    const run = await runCheck({ port: server.port, level, timeoutMs: 5_000, pauseMs: 300 });
    assertEquals(failures(run), expected[level], notPassed(run));
    for (const { failure } of run.results.filter((result) => result.failure)) {
      assertMatch(failure!.reason.en, /in another case\. Does the server lower\(\) or upper\(\)/);
      assertStringIncludes(failure!.reason.ko, "대소문자");
    }
    assertEquals(run.deleted, run.written);
  }
});

Deno.test("runCheck() says when an answer is right but for spaces around it (a value not stripped)", async () => {
  await using server = scriptedServer(async (conn) => {
    while (await conn.read(new Uint8Array(1024)) !== null) await send(conn, " Success!\n");
  });
  for (const [id, level] of [["cmd.put", "contract"], ["a.put", "assignment"]]) {
    const run = await runCheck({ port: server.port, only: [id!], timeoutMs: 500, pauseMs: 50 });
    assertEquals(failures(run), [id], level);
    assertStringIncludes(run.results[0]!.failure!.reason.en, "it has spaces or tabs around it");
    assertStringIncludes(run.results[0]!.failure!.reason.ko, "앞뒤에 공백이나 탭이 있음");
  }
});

Deno.test("runCheck() skips a.list-empty on a store with keys, even with blank lines between its pairs", async () => {
  await using server = scriptedServer(async (conn) => {
    await conn.read(new Uint8Array(1024)); // LIST, with no \n
    await send(conn, "a, 1\n\nb, 2\n\n");
  });
  const run = await runCheck({ port: server.port, only: ["a.list-empty"], pauseMs: 100 });
  assertEquals(run.results[0]!.status, "skip", notPassed(run));
});

Deno.test("runCheck() skips cmd.list-empty on a store with keys, even when its LIST lines lack their \\n", async () => {
  await using server = textbookServer();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await send(conn, "PUT,a,1");
    await conn.read(new Uint8Array(64)); // Success!
  } finally {
    conn.close();
  }
  const run = await runCheck({ port: server.port, only: ["cmd.list-empty"], pauseMs: 100 });
  assertEquals(run.results[0]!.status, "skip", notPassed(run));
});

Deno.test("runCheck() a server without the unframed pause fails every assignment rule, saying why", async () => {
  await using server = studentServer("no-unframed");
  const run = await runCheck({
    port: server.port,
    level: "assignment",
    only: ["a.put", "a.get-missing"],
    timeoutMs: 500,
  });
  assertEquals(failures(run), ["a.put", "a.get-missing"]);
  assertEquals(run.results[0]!.failure!.reason.en, "no answer within 0.5 s");
});

Deno.test("runCheck() the textbook server passes the assignment and fails the contract, saying why", async (t) => {
  await t.step("assignment", async () => {
    await using server = textbookServer();
    const run = await runCheck({ port: server.port, level: "assignment", pauseMs: 100 });
    assertEquals(run.passed, run.results.length, notPassed(run));
    assertEquals(run.deleted, run.written);
  });
  await t.step("contract", async () => {
    await using server = textbookServer();
    const run = await runCheck({
      port: server.port,
      level: "contract",
      timeoutMs: 1_000,
      pauseMs: 100,
    });
    assertEquals(run.passed, 0, notPassed(run));
    const put = run.results.find((result) => result.rule.id === "cmd.put")!.failure!;
    assertEquals(new TextDecoder().decode(put.got), "Success!");
    assertEquals(
      put.reason.en,
      "the answer stopped without a \\n (nothing more for 100 ms): answers must end with \\n",
    );
    assertEquals(put.expected.en, '"Success!\\n"');
    for (const { rule, failure } of run.results) {
      assertMatch(failure!.reason.en, /without a \\n|no answer within 1 s/, rule.id);
    }
  });
});

Deno.test("runCheck() skips the empty-LIST rules when the store already holds keys", async () => {
  await using server = startTestServer();
  await using client = await KvClient.connect({ port: server.port });
  await client.put("theirs", "1");
  for (const id of ["a.list-empty", "cmd.list-empty"]) {
    const run = await runCheck({ port: server.port, only: [id] });
    assertEquals(run.results[0]!.status, "skip");
    assertStringIncludes(run.results[0]!.skipped!.en, "already holds 1 pair(s)");
  }
  assertEquals(await client.get("theirs"), "1", "the checker touches only its own keys");
});

Deno.test("runCheck() names the likely cause of a student's mistake, in both languages", async () => {
  const cases: [Mistake, string, number, string[], string][] = [
    [
      "first-request-only",
      "req.pipeline",
      300,
      [
        "1 of the 7 answers, then none within 0.3 s",
        "does the server read one request per recv()?",
      ],
      "recv() 한 번에 요청 하나만 읽나요?",
    ],
    [
      "loops-after-eof",
      "conn.half-close",
      1_000,
      [
        "after the client half-closed (FIN, shutdown(SHUT_WR))",
        'does its loop stop when recv() returns b""?',
      ],
      'recv()가 b""를 돌려줄 때 루프가 멈추나요?',
    ],
  ];
  for (const [mistake, rule, timeoutMs, english, korean] of cases) {
    await using server = studentServer(mistake);
    const run = await runCheck({ port: server.port, only: [rule], timeoutMs });
    const failure = run.results[0]!.failure!;
    for (const text of english) assertStringIncludes(failure.reason.en, text);
    assertStringIncludes(failure.reason.ko, korean);
  }
});

Deno.test("runCheck(): a LIST of key,value pairs is told it lacks the space after the comma", async () => {
  // A textbook server (no \n, one read per request) whose LIST joins pairs with "," alone.
  const store = new Map<string, string>();
  await using server = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(1024);
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      const [command = "", key = "", value = ""] = new TextDecoder().decode(buffer.subarray(0, n))
        .split(",").map((field) => field.trim());
      let answer = "Wrong request!";
      if (command === "PUT") (store.set(key, value), answer = "Success!");
      else if (command === "DELETE") answer = store.delete(key) ? "Success!" : "Not exist!";
      else if (command === "LIST") {
        answer = [...store].map(([k, v]) => `${k},${v}`).join("\n") || "Not exist!";
      }
      await send(conn, answer);
    }
  });
  const run = await runCheck({ port: server.port, level: "assignment", only: ["a.list"] });
  const failure = run.results[0]!.failure!;
  assertStringIncludes(failure.reason.en, "without the space after the comma");
  assertStringIncludes(failure.reason.ko, "콤마 뒤에 공백이 없는");
});

Deno.test("runCheck(): a LIST that left a pair out shows the line it lists for that key instead", async () => {
  // A textbook server that strips with replace(" ", ""): "Back End" is stored as "BackEnd".
  const store = new Map<string, string>();
  await using server = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(1024);
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      const [command = "", key = "", value = ""] = new TextDecoder().decode(buffer.subarray(0, n))
        .replaceAll(" ", "").split(",");
      let answer = "Wrong request!";
      if (command === "PUT") (store.set(key, value), answer = "Success!");
      else if (command === "DELETE") answer = store.delete(key) ? "Success!" : "Not exist!";
      else if (command === "LIST") {
        answer = [...store].map(([k, v]) => `${k}, ${v}`).join("\n") || "Not exist!";
      }
      await send(conn, answer);
    }
  });
  const run = await runCheck({ port: server.port, level: "assignment", only: ["a.list"] });
  const { reason } = run.results[0]!.failure!;
  const [want, shown] = [`${run.prefix}ROLE, Back End`, `${run.prefix}ROLE, BackEnd`];
  assertEquals(reason.en, `LIST left out "${want}"; for the same key it shows "${shown}"`);
  assertEquals(reason.ko, `LIST에 "${want}" 줄이 없음. 같은 key로는 "${shown}" 줄이 있음`);
  // The contract's LIST, read line by line: a server that keeps 3 bytes of a value.
  const cut = new Map<string, string>();
  await using framed = scriptedServer(async (conn) => {
    let pending = "";
    for (const buffer = new Uint8Array(1024);;) {
      const n = await conn.read(buffer);
      if (n === null) return;
      const lines = (pending + new TextDecoder().decode(buffer.subarray(0, n))).split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        const [command = "", key = "", value = ""] = line.split(",").map((field) => field.trim());
        await send(
          conn,
          command === "PUT"
            ? (cut.set(key, value.slice(0, 3)), "Success!\n")
            : command === "LIST"
            ? [...cut].map(([k, v]) => `${k}, ${v}\n`).join("") + "\n"
            : "Error: not here\n",
        );
      }
    }
  });
  const contract = await runCheck({ port: framed.port, only: ["cmd.list"], timeoutMs: 500 });
  assertEquals(
    contract.results[0]!.failure!.reason.en,
    `LIST left out "${contract.prefix}name, yyjun"; for the same key it shows "${contract.prefix}name, yyj"`,
  );
});
