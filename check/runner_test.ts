/**
 * Tests of the run around its rules (`runner.ts`) against real servers on
 * port 0: reaching the server or saying why not, the first request that
 * stops a run before any rule when nothing answers it, a server that stops
 * mid-run, and the questions asked after the rules (does it wait for `\n`,
 * does it serve one client at a time).
 *
 * @module
 */

import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { KvClient } from "../client/client.ts";
import { CheckUnreachableError, runCheck } from "./runner.ts";
import { failures, notPassed } from "../testing/check_runs.ts";
import type { Level } from "./rule.ts";
import { rulesOf } from "./rules.ts";
import { waitsForNewlineHint } from "./hint_messages.ts";
import { summary } from "./report_messages.ts";
import {
  closedPort,
  heldServer,
  readRawLines,
  scriptedServer,
  send,
  studentServer,
  within,
} from "../testing/mod.ts";

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

Deno.test("runCheck() says before the first rule that a server answered the unframed first request only after its \\n", async () => {
  const said: string[] = [];
  const options = {
    level: "assignment" as const,
    only: ["a.put", "a.get"],
    timeoutMs: 300,
    onWaitsForNewline: () => void said.push("waits"),
    onResult: (result: { rule: { id: string } }) => void said.push(result.rule.id),
  };
  {
    await using server = studentServer("no-unframed");
    await runCheck({ port: server.port, ...options });
  }
  assertEquals(said, ["waits", "a.put", "a.get"]);
  said.length = 0;
  {
    await using server = studentServer("split-comma-space");
    await runCheck({ port: server.port, ...options });
  }
  assertEquals(said, ["a.put", "a.get"], "not for a server that answers without \\n");
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

Deno.test("runCheck() waits out no pause after a textbook run's rules: the one-at-a-time question and the cleanup's DELETEs end at their answers", async () => {
  // Right answers; once the rules are over (the second GET of the key
  // "nobody": the one-at-a-time question's), the textbook way, with no \n.
  // Before that they end with \n, so the rules wait out no pause either.
  // With a pause longer than the bound, any answer waited out for it fails the test.
  const store = new Map<string, string>();
  let nobodies = 0;
  await using server = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(1024);
    for (let n; (n = await conn.read(buffer)) !== null;) {
      const [word, key, value] = new TextDecoder().decode(buffer.subarray(0, n)).trim()
        .split(/\s*,\s*/);
      if (word === "GET" && key!.endsWith("nobody")) nobodies++;
      const answer = word === "PUT"
        ? (store.set(key!, value!), "Success!")
        : word === "GET"
        ? store.get(key!) ?? "Not exist!"
        : word === "DELETE"
        ? store.delete(key!) ? "Success!" : "Not exist!"
        : word === "LIST"
        ? `${[...store].map(([k, v]) => `${k}, ${v}\n`).join("") || "Not exist!\n"}`
        : "Wrong request!";
      await send(conn, nobodies >= 2 && word !== "LIST" ? answer : `${answer}\n`);
    }
  });
  const run = await within(
    "a run with a 60 s pause",
    runCheck({ port: server.port, only: ["a.put", "a.delete"], pauseMs: 60_000 }),
  );
  assertEquals([run.passed, run.failed, run.oneAtATime, nobodies], [2, 0, false, 2]);
  // The cleanup's DELETEs: Success! for the key a.put wrote, Not exist! for the one a.delete deleted.
  assertEquals([run.written, run.deleted, run.absent, run.left], [2, 2, 1, []]);
  assertEquals(store.size, 0);
});
