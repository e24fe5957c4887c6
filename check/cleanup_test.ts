/**
 * Tests of the cleanup at a run's end (`cleanup.ts`) against real servers
 * on port 0: the keys the rules wrote are deleted, speaking as each server
 * understands, and a key that may be left is named, with why.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { KvClient } from "../client/client.ts";
import { runCheck } from "./runner.ts";
import { failures } from "../testing/check_runs.ts";
import { threadedTextbookServer } from "../testing/threaded_textbook.ts";
import { summary } from "./report_messages.ts";
import {
  RawConn,
  readRawLines,
  scriptedServer,
  send,
  startTestServer,
  studentServer,
} from "../testing/mod.ts";

Deno.test("runCheck() cleans up after a server with odd answers, one that closes after each, and one that stores a PUT with no value", async (t) => {
  for (const mistake of ["success-typo", "closes-after-answer", "put-without-value"] as const) {
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

Deno.test("runCheck() asks LIST after two DELETEs unanswered: a server whose thread dies at a DELETE of a missing key still tells what is gone", async () => {
  // The keys of the PUTs it refused, and of the bytes it died on, are missing: their DELETEs die.
  await using server = threadedTextbookServer("thread");
  const run = await runCheck({
    port: server.port,
    level: "assignment",
    only: ["a.put", "a.missing-fields", "a.invalid-utf8"],
    timeoutMs: 300,
    pauseMs: 50,
  });
  assertEquals(failures(run), ["a.missing-fields", "a.invalid-utf8"]);
  assertEquals([run.written, run.deleted, run.left], [3, 3, []]);
  await using client = await KvClient.connect({ port: server.port, answerPauseMs: 50 });
  assertEquals(await client.list(), new Map());
});

Deno.test('runCheck() takes a LIST answered with a blank line (the "\\n".join() of no pairs) as an empty store', async () => {
  // socketserver's handler: every answer ends with "\n", and LIST of no pairs is "" + "\n".
  const store = new Map<string, string>();
  await using server = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(1024);
    for (let n; (n = await conn.read(buffer)) !== null;) {
      const [command = "", key = "", value = ""] = new TextDecoder().decode(buffer.subarray(0, n))
        .split(",").map((field) => field.trim());
      const answer = command === "PUT"
        ? (store.set(key, value), "Success!")
        : command === "GET"
        ? store.get(key) ?? "Not exist!"
        : command === "DELETE"
        ? (store.delete(key) ? "Success!" : "Not exist!")
        : command === "LIST"
        ? [...store].map(([k, v]) => `${k}, ${v}`).join("\n")
        : "Unknown command";
      await send(conn, `${answer}\n`);
    }
  });
  const run = await runCheck({
    port: server.port,
    level: "assignment",
    only: ["a.delete", "a.delete-missing"],
    pauseMs: 50,
  });
  assertEquals(failures(run), []);
  // a.delete deleted its key: the cleanup's DELETE answers Not exist!, and LIST a blank line.
  assertEquals([run.written, run.deleted, run.absent, run.left], [1, 1, 1, []]);
});
