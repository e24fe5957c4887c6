/**
 * Tests of the hints `kv check` gives when a server leaves requests with no
 * answer and their connection open, over real sockets on port 0, through
 * `main()`: some requests of a server that answers the rest (a thread that
 * died on a request), and every request from one rule on (a lock never
 * released), a server that died (the rule that ended it). The other hints
 * are tested in `check_test.ts`.
 *
 * @module
 */

import { assertEquals, assertStringIncludes } from "@std/assert";
import { runKvCheck, scriptedServer, send, studentServer } from "../testing/mod.ts";
import { threadedTextbookServer } from "../testing/threaded_textbook.ts";

const check = runKvCheck;

const FAST = ["--level", "assignment", "--timeout", "0.3", "--pause-ms", "50"];

Deno.test("kv check names the rules whose request a server left unanswered and open, while it answered the rules after", async () => {
  // Its thread for a client dies at a DELETE of a missing key, a missing field, bytes not UTF-8.
  await using server = threadedTextbookServer("thread");
  const run = await check(server.port, [...FAST, "--lang", "en"]);
  assertEquals(run.code, 1);
  assertStringIncludes(
    run.stdout,
    "\nHint: a.delete-missing, a.missing-fields and a.invalid-utf8 got no answer, the " +
      "connection left open, yet the server answered the rules after.",
  );
  assertStringIncludes(run.stdout, "Look for a Traceback in the server's terminal.");
  assertEquals(run.stdout.includes("from a.delete-missing on"), false, run.stdout);
  const ko = await check(server.port, [
    ...FAST,
    "--lang",
    "ko",
    "--only",
    "a.delete-missing,a.list",
  ]);
  assertStringIncludes(
    ko.stdout,
    "\n힌트: a.delete-missing에서 서버가 답하지도 연결을 닫지도 않았지만, 그 뒤의 규칙에는 답했습니다.",
  );
  assertStringIncludes(ko.stdout, "Traceback이 찍혔는지 보세요");
});

Deno.test("kv check says from which rule on a server answered nobody, not that it never answers", async () => {
  // A request with a field missing leaves the lock held: from a.missing-fields on, nothing.
  await using server = threadedTextbookServer("lock");
  const run = await check(server.port, [...FAST, "--lang", "en"]);
  assertEquals(run.code, 1);
  assertStringIncludes(
    run.stdout,
    "\nHint: from a.missing-fields on, no rule got an answer (4 rules), though the server had " +
      "answered the ones before",
  );
  assertStringIncludes(run.stdout, "use with lock:");
  for (const other of ["got no answer at all in time", "got no answer, the connection left open"]) {
    assertEquals(run.stdout.includes(other), false, run.stdout);
  }
});

Deno.test("kv check does not say a server of one client at a time stopped answering: the rules it fails by waiting come last", async (t) => {
  // conn.concurrent and conn.disconnect end the contract's rules: a held second client
  // gets nothing, and the server answers the next client (the cleanup's) at once.
  await using server = studentServer("one-client-at-a-time");
  const held = ["--timeout", "0.3", "--pause-ms", "50", "--lang", "en"];
  await t.step("found to serve one at a time: that hint alone", async () => {
    const only = ["--only", "cmd.ping,cmd.put,cmd.get,conn.concurrent,conn.disconnect"];
    const run = await check(server.port, [...only, ...held]);
    assertEquals(run.code, 1);
    assertStringIncludes(run.stdout, "\nHint: while one client stays connected");
    assertEquals(run.stdout.includes("no rule got an answer"), false, run.stdout);
  });
  await t.step(
    "most rules silent: the hint that names a server of one client at a time",
    async () => {
      const only = ["--only", "cmd.ping,conn.concurrent,conn.disconnect"];
      const run = await check(server.port, [...only, ...held]);
      assertEquals(run.code, 1);
      assertStringIncludes(run.stdout, "\nHint: 2 of 3 rules got no answer at all in time.");
      assertEquals(run.stdout.includes("no rule got an answer"), false, run.stdout);
    },
  );
});

Deno.test("kv check does not say a server stopped answering when its last rules were answered, all but their last GET", async () => {
  // Silent to a GET of a missing key only (an if with no else): the assignment's last five
  // rules end with one, to see that the server still answers, and got their other answers.
  await using server = studentServer("get-missing-silent");
  const run = await check(server.port, [...FAST, "--lang", "en"]);
  assertEquals(run.code, 1);
  assertEquals(run.stdout.includes("no rule got an answer"), false, run.stdout);
});

/**
 * A server framed by `\n` that, after `answers` answers, is busy for a while
 * (a slow request, a backlog of one client at a time): it answers nobody
 * until a DELETE comes, the cleanup's first, and then everyone again.
 */
function busyServer(answers: number) {
  const store = new Map<string, string>();
  let answered = 0;
  let busy: PromiseWithResolvers<void> | undefined;
  const server = scriptedServer(async (conn) => {
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(4096);
    let pending = "";
    for (let n; (n = await conn.read(buffer)) !== null;) {
      pending += decoder.decode(buffer.subarray(0, n), { stream: true });
      for (let end; (end = pending.indexOf("\n")) >= 0;) {
        const [word = "", key = "", value = ""] = pending.slice(0, end).split(/,[ \t]*/);
        pending = pending.slice(end + 1);
        if (/^delete$/i.test(word)) busy?.resolve();
        if (busy !== undefined) await busy.promise;
        let answer = "Error: unknown command";
        if (/^put$/i.test(word)) (store.set(key, value), answer = "Success!");
        else if (/^get$/i.test(word)) answer = store.get(key) ?? "Not exist!";
        else if (/^delete$/i.test(word)) answer = store.delete(key) ? "Success!" : "Not exist!";
        await send(conn, `${answer}\n`);
        if (++answered === answers) busy = Promise.withResolvers();
      }
    }
  });
  return Object.assign(server, { idle: () => busy?.resolve() });
}

Deno.test("kv check does not say a server stopped answering when it answered the cleanup after the rules", async () => {
  // Busy from cmd.get's third answer on, through cmd.overwrite and req.case: slow, not stuck.
  await using server = busyServer(3);
  try {
    const only = ["--only", "cmd.put,cmd.get,cmd.overwrite,req.case"];
    const run = await check(server.port, [...only, ...FAST.slice(2), "--lang", "en"]);
    assertEquals(run.code, 1);
    assertStringIncludes(run.stdout, "\nDeleted the 3 keys it wrote.\n");
    assertEquals(run.stdout.includes("no rule got an answer"), false, run.stdout);
  } finally {
    server.idle(); // Its connections' scripts end, and the test with them.
  }
});

Deno.test("kv check gives neither hint to a server that only waits for the \\n of an unframed line", async () => {
  await using server = studentServer("no-unframed");
  const only = ["--only", "conn.unframed,cmd.ping", "--timeout", "0.3", "--pause-ms", "50"];
  const run = await check(server.port, [...only, "--lang", "en"]);
  assertEquals(run.code, 1);
  assertEquals(run.stdout.includes("Hint"), false, run.stdout);
});

Deno.test("kv check names the rules whose request a server closed unanswered, while it answered the rules after (socketserver)", async () => {
  // socketserver's handler raises at a DELETE of a missing key, a missing field, bytes not
  // UTF-8: the Traceback is printed and the connection closed; other clients are served.
  await using server = threadedTextbookServer("handler");
  const run = await check(server.port, [...FAST, "--lang", "en"]);
  assertEquals(run.code, 1);
  assertStringIncludes(
    run.stdout,
    "\nHint: at a.delete-missing, a.missing-fields and a.invalid-utf8 the server closed the " +
      "connection without answering, yet it answered the rules after: the code serving that " +
      "client stopped at that request, on an exception",
  );
  assertStringIncludes(run.stdout, "socketserver prints the Traceback and closes the connection");
  const ko = await check(server.port, [
    ...FAST,
    "--lang",
    "ko",
    "--only",
    "a.delete-missing,a.list",
  ]);
  assertStringIncludes(
    ko.stdout,
    "\n힌트: a.delete-missing에서 서버가 답하지 않고 연결을 닫았지만, 그 뒤의 규칙에는 답했습니다.",
  );
});

Deno.test("kv check gives no exception hint to a server that closes after every answer, nor one that died", async () => {
  for (const mistake of ["closes-after-answer", "dies-on-extra-fields"] as const) {
    for (const level of ["assignment", "contract"]) {
      await using server = studentServer(mistake);
      const run = await check(server.port, ["--level", level, "--timeout", "0.3", "--lang", "en"]);
      assertEquals(
        run.stdout.includes("closed the connection without answering, yet"),
        false,
        run.stdout,
      );
    }
  }
});

Deno.test("kv check names the rule that ended a server that died, and says its keys could not be deleted because it had stopped", async (t) => {
  await t.step("refused from the rule after: it died of that rule's request", async () => {
    await using server = studentServer("dies-on-extra-fields");
    const run = await check(server.port, [...FAST, "--lang", "en"]);
    assertEquals(run.code, 1);
    assertStringIncludes(
      run.stdout,
      "\nHint: the server stopped during or right after a.extra-fields: the 2 rules after it " +
        "could not connect (refused). Something that rule sent",
    );
    assertStringIncludes(
      run.stdout,
      ": not deleted: the server had stopped (its connect was refused)\n",
    );
    assertEquals(run.stdout.includes("DELETE got no answer"), false, run.stdout);
  });
  await t.step("refused at a later step of a rule: it died in that rule (Korean)", async () => {
    await using server = studentServer("dies-on-close-mid-request");
    const run = await check(server.port, [...FAST, "--lang", "ko"]);
    assertEquals(run.code, 1);
    assertStringIncludes(
      run.stdout,
      "\n힌트: 서버가 a.disconnect 도중이나 직후에 멈췄습니다: 그다음 연결이 거부되었습니다.",
    );
    assertStringIncludes(run.stdout, ": 지우지 못함: 서버가 멈춰 있었음 (연결이 거부됨)\n");
  });
});
