/**
 * Tests of the checker against real servers on port 0: kv's own server and
 * a correct server written from scratch pass every rule of every level;
 * each deliberately broken server is caught by the rules that name its
 * mistake and by no other; the textbook server passes the assignment and
 * fails the contract; no server can make the checker hang.
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
import { type CheckRun, CheckUnreachableError, runCheck } from "./runner.ts";
import type { Level } from "./rule.ts";
import { rulesOf } from "./rules.ts";
import { encodingHint, waitsForNewlineHint } from "./hint_messages.ts";
import { summary } from "./report_messages.ts";
import {
  closedPort,
  heldServer,
  type Mistake,
  RawConn,
  readRawLines,
  scriptedServer,
  send,
  startTestServer,
  studentServer,
  textbookServer,
} from "../testing/mod.ts";

function failures(run: CheckRun): string[] {
  return run.results.filter((result) => result.status === "fail").map((result) => result.rule.id);
}

/** Every rule's outcome that is not a pass, with why: for a readable assertion message. */
function notPassed(run: CheckRun): string {
  return run.results.filter((result) => result.status !== "pass").map((result) =>
    `${result.status} ${result.rule.id}: ${result.failure?.reason.en ?? result.skipped?.en}`
  ).join("\n");
}

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

Deno.test("runCheck() cleans up after a server with odd answers, and one that closes after each", async (t) => {
  for (const mistake of ["success-typo", "closes-after-answer"] as const) {
    await t.step(mistake, async () => {
      await using server = studentServer(mistake);
      const run = await runCheck({ port: server.port, timeoutMs: 1_000, pauseMs: 100 });
      assert(run.written > 10, `${run.written} keys written`);
      assertEquals(run.deleted, run.written);
      await using client = await KvClient.connect({ port: server.port });
      assertEquals(await client.list(), new Map());
    });
  }
});

Deno.test("runCheck() counts what LIST still shows as not deleted, whatever DELETE answered", async () => {
  // `PUT, k, v` stores " k", and the cleanup's `DELETE, k` looks up " k\n": Not exist!
  await using server = studentServer("split-comma-no-strip");
  const run = await runCheck({ port: server.port, timeoutMs: 1_000, pauseMs: 100 });
  await using conn = await RawConn.connect(server.port);
  await conn.send("LIST\nQUIT\n");
  const ours = (await conn.readToEnd()).split("\n").filter((line) => line.includes(run.prefix));
  assert(ours.length > 0, "the server kept some of them");
  assertEquals(run.written - run.deleted, ours.length);
  assertStringIncludes(summary("en", run), `Could not delete ${ours.length} of the ${run.written}`);
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

/**
 * The student's `recv(1024)` server that splits on "," and strips nothing:
 * `PUT, k, v\n` stores " k" as " v\n", so DELETE and `LIST\n` miss; a LIST
 * sent without `\n` answers, an empty line after each pair's kept `\n`.
 */
function noStripServer(listWorks: boolean) {
  const store = new Map<string, string>();
  return scriptedServer(async (conn) => {
    const buffer = new Uint8Array(1024);
    for (let n; (n = await conn.read(buffer)) !== null;) {
      const [word, key, value] = new TextDecoder().decode(buffer.subarray(0, n)).split(",");
      const answer = word === "PUT"
        ? (store.set(key!, value!), "Success!")
        : word === "GET"
        ? store.get(key!) ?? "Not exist!"
        : word === "DELETE"
        ? (store.delete(key!) ? "Success!" : "Not exist!")
        : word === "LIST" && listWorks
        ? [...store].map(([k, v]) => `${k}, ${v}`).join("\n") || "Not exist!"
        : "Wrong request!";
      await send(conn, `${answer}\n`);
    }
  });
}

Deno.test("runCheck() says which keys it could not delete, and why, when DELETE answers Not exist!", async (t) => {
  await t.step("LIST, sent without \\n, still shows them", async () => {
    await using server = noStripServer(true);
    const run = await runCheck({ port: server.port, only: ["cmd.get", "cmd.overwrite"] });
    assertEquals([run.written, run.deleted], [2, 0]);
    assertEquals(run.left.map((left) => left.key), [
      `${run.prefix}myname`,
      `${run.prefix}overwrite`,
    ]);
    const text = summary("en", run);
    assertStringIncludes(text, `Could not delete 2 of the 2 keys`);
    assertStringIncludes(
      text,
      `  "${run.prefix}overwrite": DELETE answered "Not exist!", yet LIST still shows " ${run.prefix}overwrite,  second"\n`,
    );
    assertStringIncludes(summary("ko", run), "LIST에 아직");
  });
  await t.step("no LIST to go by", async () => {
    await using server = noStripServer(false);
    const run = await runCheck({ port: server.port, only: ["cmd.get"] });
    assertEquals([run.written, run.deleted], [1, 0]);
    assertStringIncludes(run.left[0]!.why.en, "LIST could not be read");
    assertStringIncludes(summary("en", run), "Could not delete 1 of the 1 key");
  });
});

Deno.test("runCheck() asks a server framed by \\n again with one, even after a single textbook rule", async () => {
  await using server = studentServer("no-unframed");
  const run = await runCheck({
    port: server.port,
    level: "assignment",
    only: ["a.put"],
    timeoutMs: 500,
  });
  assertEquals(failures(run), ["a.put"]);
  assert(run.waitsForNewline, "the hint that it waits for \\n");
  // Its cleanup then goes with \n, and is answered.
  assertEquals([run.written, run.deleted, run.left.length], [1, 1, 0]);
  assert(!summary("en", run).includes("Could not delete"), summary("en", run));
  assertStringIncludes(waitsForNewlineHint("en", 1), "Hint: 1 rule got no answer");
  await using client = await KvClient.connect({ port: server.port });
  assertEquals(await client.list(), new Map());
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

Deno.test("runCheck() checks what is left on a fresh connection, though the server closes after each answer", async () => {
  // It keeps every key (DELETE: Not exist!), and closes after each answer.
  const kept = new Set<string>();
  await using server = scriptedServer(async (conn) => {
    const [line] = await readRawLines(conn, 1);
    const [word, key] = line!.split(",").map((field) => field.trim());
    if (word === "PUT") kept.add(key!);
    await send(
      conn,
      word === "PUT"
        ? "Success!\n"
        : word === "LIST"
        ? [...kept].map((k) => `${k}, v\n`).join("") + "\n"
        : "Not exist!\n",
    );
  });
  const run = await runCheck({ port: server.port, only: ["cmd.put"], timeoutMs: 1_000 });
  assertEquals([run.written, run.deleted, kept.size], [1, 0, 1]);
});

Deno.test("runCheck() takes a slow server that serves many at once for one, not for one at a time", async () => {
  await using server = scriptedServer(async (conn) => {
    await conn.read(new Uint8Array(1024));
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // past the old probe's 1 s
    await send(conn, "Success!\n");
  });
  const run = await runCheck({
    port: server.port,
    only: ["a.put"],
    timeoutMs: 1_500,
    pauseMs: 100,
  });
  assertEquals(failures(run), [], notPassed(run));
  assertEquals(run.oneAtATime, false);
});

Deno.test("runCheck() skips a.list-empty on a store with keys, even with blank lines between its pairs", async () => {
  await using server = scriptedServer(async (conn) => {
    await conn.read(new Uint8Array(1024)); // LIST, with no \n
    await send(conn, "a, 1\n\nb, 2\n\n");
  });
  const run = await runCheck({ port: server.port, only: ["a.list-empty"], pauseMs: 100 });
  assertEquals(run.results[0]!.status, "skip", notPassed(run));
});

Deno.test("runCheck() says an answer that trickles on without a \\n never ends, not that it went quiet", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    for (let i = 0; i < 60; i++) {
      await send(conn, "x".repeat(100));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  const run = await runCheck({
    port: server.port,
    only: ["cmd.ping"],
    timeoutMs: 400,
    pauseMs: 100,
  });
  assertStringIncludes(run.results[0]!.failure!.reason.en, "it never ends");
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

Deno.test("runCheck() says one late answer without \\n went quiet, not that it never ends", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await send(conn, "PONG");
    while (await conn.read(new Uint8Array(64)) !== null);
  });
  const run = await runCheck({
    port: server.port,
    only: ["cmd.ping"],
    timeoutMs: 400,
    pauseMs: 200,
  });
  assertStringIncludes(run.results[0]!.failure!.reason.en, "the answer stopped without a \\n");
});

Deno.test("runCheck() deletes the keys a server took where a rule expected a refusal, and leaves no pair behind", async (t) => {
  const cases: [string, () => AsyncDisposable & { port: number }, number | undefined][] = [
    ["err.empty-key", () => studentServer("empty-key-accepted"), undefined],
    // The server's limit is past the one the checker assumes: the long line is a PUT it stores.
    ["load.long-line", () => startTestServer({ maxLineBytes: 4096 }), 1024],
  ];
  for (const [id, start, maxLineBytes] of cases) {
    await t.step(id, async () => {
      await using server = start();
      const run = await runCheck({ port: server.port, only: [id], timeoutMs: 1_000, maxLineBytes });
      assertEquals(failures(run), [id]);
      assertEquals([run.written, run.deleted], [1, 1]);
      await using client = await KvClient.connect({ port: server.port });
      assertEquals(await client.list(), new Map());
    });
  }
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

Deno.test("runCheck() bounds every wait: a server that stops answering fails, and the run ends", async () => {
  // It answers the run's first request (kv check's GET before any rule), then nothing.
  let answered = false;
  await using server = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(1024);
    while (await conn.read(buffer) !== null) {
      if (!answered) await send(conn, "Not exist!\n");
      answered = true;
    }
  });
  const run = await runCheck({
    port: server.port,
    only: ["a.put", "cmd.put", "cmd.list"],
    timeoutMs: 300,
  });
  assertEquals(failures(run), ["a.put", "cmd.put", "cmd.list"]);
  for (const result of run.results) {
    assertEquals(result.failure!.reason.en, "no answer within 0.3 s");
  }
});

Deno.test("runCheck() stops before any rule, writing nothing, when a server of one client at a time is held by another", async (t) => {
  for (const level of ["assignment", "contract"] as const) {
    await t.step(level, async () => {
      await using server = await heldServer();
      const run = await runCheck({ port: server.port, level, timeoutMs: 300, pauseMs: 50 });
      const sent = await server.release();
      const request = `GET, ${run.prefix}nobody`;
      const unframed = level === "assignment";
      assertEquals(run.noAnswer, {
        request: unframed ? request : `${request}\n`,
        newlineAfter: unframed,
        followUp: "LIST\nHELLO\n",
        ms: 900,
      });
      assertEquals(
        [run.results.length, run.notRun, run.written, run.left.length],
        [0, rulesOf(level).length, 0, 0],
      );
      // What reached the server once it was free: the first connection,
      // which sent nothing, and the GET, LIST and HELLO. No PUT waited to land after the run.
      assertEquals(sent, ["", `${request}\nLIST\nHELLO\n`]);
    });
  }
});

Deno.test("runCheck() checks a server silent to a missing key, not taking it for a held one", async (t) => {
  // The run's first request is a GET of a missing key: LIST, which follows
  // it, gets this server's answer, and the rules run (and name the mistake).
  for (const [level, rule] of [["assignment", "a.get-missing"], ["contract", "cmd.get-missing"]]) {
    await t.step(level!, async () => {
      await using server = studentServer("get-missing-silent");
      const run = await runCheck({
        port: server.port,
        level: level as Level,
        timeoutMs: 1_000,
        pauseMs: 100,
      });
      assertEquals(run.noAnswer, undefined);
      assertEquals(run.results.length, rulesOf(level as Level).length);
      assert(failures(run).includes(rule!), `${rule} failed: ${failures(run)}`);
    });
  }
});

Deno.test("runCheck() checks a server silent to a missing key and to LIST of an empty store, not taking it for a held one", async (t) => {
  // Both read-only requests of the first ask get nothing from this server
  // (a fresh store): the unknown command after LIST gets its answer, and
  // the rules run. With LIST alone, the contract level stopped at once,
  // telling of another client holding the server.
  const cases = [
    ["assignment", ["a.get-missing", "a.list-empty"]],
    ["contract", ["cmd.get-missing", "cmd.list-empty"]],
  ] as const;
  for (const [level, rules] of cases) {
    await t.step(level, async () => {
      await using server = studentServer("missing-silent");
      const run = await runCheck({ port: server.port, level, timeoutMs: 1_000, pauseMs: 100 });
      assertEquals(run.noAnswer, undefined);
      assertEquals(run.results.length, rulesOf(level).length);
      for (const rule of rules) {
        assert(failures(run).includes(rule), `${rule} failed: ${failures(run)}`);
      }
    });
  }
});

Deno.test("runCheck() still checks a server slower than the timeout, first answer or every one", async (t) => {
  /** Answers every request with Not exist!: the first (or each) after `delayMs`. */
  const slowServer = (delayMs: number, every: boolean) => {
    let first = true;
    return scriptedServer(async (conn) => {
      for (const buffer = new Uint8Array(1024); await conn.read(buffer) !== null;) {
        if (first || every) await new Promise((resolve) => setTimeout(resolve, delayMs));
        first = false;
        await send(conn, "Not exist!\n");
      }
    });
  };
  const options = { timeoutMs: 1_000, pauseMs: 50 };
  for (const only of ["a.get-missing", "cmd.get-missing"]) {
    await t.step(`a slow first answer, then ${only} passes`, async () => {
      await using server = slowServer(1_500, false);
      const run = await runCheck({ port: server.port, only: [only], ...options });
      assertEquals(run.noAnswer, undefined);
      assertEquals(run.passed, 1, notPassed(run));
    });
  }
  await t.step(
    "every answer slow: the rule runs, and fails for its timeout as before",
    async () => {
      await using server = slowServer(1_500, true);
      const run = await runCheck({ port: server.port, only: ["cmd.get-missing"], ...options });
      assertEquals(run.noAnswer, undefined);
      assertEquals(failures(run), ["cmd.get-missing"]);
      assertEquals(run.results[0]!.failure!.reason.en, "no answer within 1 s");
    },
  );
});

Deno.test("runCheck() bounds a LIST that never ends: a server listing forever fails, and the run ends", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    const lines = new TextEncoder().encode("x, y\n".repeat(1_000));
    for (;;) await conn.write(lines); // Until the checker closes the connection.
  });
  const run = await runCheck({ port: server.port, only: ["cmd.list-empty"], timeoutMs: 100 });
  assertEquals(failures(run), ["cmd.list-empty"]);
  const failure = run.results[0]!.failure!;
  assertMatch(
    failure.reason.en,
    /^LIST's answer went on for more than 1 s without its empty line$/,
  );
  // The report shows the first lines, not all that came.
  assert(failure.got!.length <= 50 * 5, `${failure.got!.length} bytes shown`);
});

Deno.test("runCheck() bounds a textbook answer that never pauses: it fails, and the run ends", async () => {
  await using server = scriptedServer(async (conn) => {
    await conn.read(new Uint8Array(1024));
    const bytes = new TextEncoder().encode("A".repeat(4096));
    for (;;) await conn.write(bytes); // No \n, no pause: until the checker closes.
  });
  const run = await runCheck({
    port: server.port,
    level: "assignment",
    only: ["a.put"],
    timeoutMs: 100,
  });
  assertEquals(failures(run), ["a.put"]);
  assertMatch(
    run.results[0]!.failure!.reason.en,
    /^the answer went on past [\d,]+ bytes or 1 s without a pause/,
  );
});

Deno.test("runCheck() bounds a write: a server that stops reading fails load.long-line", async () => {
  await using server = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(64);
    const n = await conn.read(buffer); // "PING\n", then nothing more is read.
    await conn.write(new TextEncoder().encode(n === null ? "" : "PONG\n"));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  });
  const run = await runCheck({
    port: server.port,
    only: ["load.long-line"],
    timeoutMs: 300,
    maxLineBytes: 64 * 1024 * 1024,
  });
  assertEquals(failures(run), ["load.long-line"]);
  assertEquals(
    run.results[0]!.failure!.reason.en,
    "the server read nothing for 0.3 s while the request was being sent",
  );
});

Deno.test("runCheck() says when the server stopped once its first connection closed without sending", async (t) => {
  // A server that dies when recv() returns b"": the checker's first
  // connection, which only sees that the server is up, kills it. A rule's
  // connection may still be taken (the listen backlog) and reset as it dies.
  for (const taken of [0, 1]) {
    await t.step(`${taken} connection(s) taken as it dies`, async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const left = (async () => {
        const conn = await listener.accept();
        while (await conn.read(new Uint8Array(64)) !== null);
        conn.close();
      })();
      const dies = (async () => {
        await left;
        for (let i = 0; i < taken; i++) (await listener.accept()).close();
        listener.close();
      })();
      const run = await runCheck({
        port: listener.addr.port,
        only: ["a.put", "cmd.put", "cmd.ping"],
        timeoutMs: 1_000,
        onStart: () => left, // No rule starts before that first connection is over.
      });
      await dies;
      assertEquals(failures(run), ["a.put", "cmd.put", "cmd.ping"]);
      for (const { failure } of run.results.slice(taken)) {
        assertEquals(failure!.step, 1);
        assertStringIncludes(
          failure!.reason.en,
          "it has answered nothing since kv check's first connection, which connected and " +
            "closed without sending anything",
        );
        assertStringIncludes(failure!.reason.en, 'when recv() returns b""?');
        assertStringIncludes(failure!.reason.ko, "아무것도 보내지 않고 닫은 연결");
        assert(!failure!.reason.en.includes("earlier step"), failure!.reason.en);
      }
    });
  }
});

Deno.test("runCheck() blames an earlier step when the server stops after it has answered", async () => {
  // It answers two requests (the run's first, a GET, and cmd.put's PUT), then stops.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = (async () => {
    (await listener.accept()).close(); // The checker's first connection.
    for (const answer of ["Not exist!\n", "Success!\n"]) {
      const conn = await listener.accept();
      await readRawLines(conn, 1);
      await send(conn, answer);
      conn.close();
    }
    listener.close();
  })();
  const run = await runCheck({ port: listener.addr.port, only: ["cmd.put", "cmd.ping"] });
  await server;
  assertEquals(failures(run), ["cmd.ping"]);
  assertStringIncludes(run.results[1]!.failure!.reason.en, "did an earlier step crash it?");
});

Deno.test("runCheck() says which address it cannot reach, before any rule", async () => {
  const port = closedPort();
  let started = false;
  const error = await assertRejects(
    () => runCheck({ port, onStart: () => void (started = true) }),
    CheckUnreachableError,
  );
  assertEquals(
    error.message,
    `cannot connect to 127.0.0.1:${port}: connection refused (is the server running, on that port?)`,
  );
  assert(!started);
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
  assertStringIncludes(failure.reason.ko, "쉼표 뒤에 공백이 없는");
});

Deno.test({
  name:
    "encodingHint() shows answers that are not UTF-8 as bytes, and as cp949 where they read as Korean",
  permissions: "none",
  fn: () => {
    const cp949 = new Uint8Array([0xbb, 0xe7, 0xb0, 0xfa, 0x0a]); // "사과\n"
    assertEquals(
      encodingHint("en", 2, cp949),
      'Hint: in 2 rules your server answered bytes that are not UTF-8 ("\\xbb\\xe7\\xb0\\xfa\\n" reads ' +
        'as cp949: "사과\\n"). PROTOCOL.md\'s text is UTF-8: encode answers with .encode() or ' +
        '.encode("utf-8"), not "cp949", and decode requests with .decode("utf-8").\n',
    );
    assertStringIncludes(encodingHint("ko", 1, cp949), 'cp949로 읽으면 "사과\\n"');
    const latin1 = new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]);
    assertEquals(
      encodingHint("en", 1, latin1),
      'Hint: in 1 rule your server answered bytes that are not UTF-8 ("caf\\xe9\\n"). ' +
        'PROTOCOL.md\'s text is UTF-8: encode answers with .encode() or .encode("utf-8"), and ' +
        'decode requests with .decode("utf-8").\n',
    );
  },
});
