/**
 * No server can make the checker hang: against real servers on port 0 that
 * stop answering, answer without end or stop reading, every wait ends and
 * the rule fails saying which.
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
import { CheckUnreachableError, runCheck } from "./runner.ts";
import { failures } from "../testing/check_runs.ts";
import { KvClient } from "../client/client.ts";
import {
  readRawLines,
  scriptedServer,
  send,
  startTestServer,
  textbookServer,
} from "../testing/mod.ts";

Deno.test("runCheck() says an answer that trickles on without a \\n never ends, not that it went quiet", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    // Until the checker hangs up (a write then fails, ending the script).
    for (;;) {
      await send(conn, "x".repeat(10));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  const run = await runCheck({
    port: server.port,
    only: ["cmd.ping"],
    timeoutMs: 1_000,
    // Fifteen times the trickle's gap: even a loaded machine does not stall that long.
    pauseMs: 300,
  });
  assertStringIncludes(run.results[0]!.failure!.reason.en, "it never ends");
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
    timeoutMs: 300, // A pause this long in the writer, even on a loaded machine, is not one.
  });
  assertEquals(failures(run), ["a.put"]);
  assertMatch(
    run.results[0]!.failure!.reason.en,
    // Cut by its bytes (a right answer's are few), or by the time.
    /^(the answer went on past [\d,]+ bytes or [\d.]+ s|more than [\d,]+ bytes came) without a pause/,
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

Deno.test("runCheck() stops reading a line far longer than any right answer's, and says so", async () => {
  // Each connection: its first request read, then bytes without a \n until the checker hangs up.
  await using server = scriptedServer(async (conn) => {
    await conn.read(new Uint8Array(1024));
    const bytes = new TextEncoder().encode("x".repeat(64 * 1024));
    for (;;) await conn.write(bytes);
  });
  const run = await runCheck({
    port: server.port,
    only: ["cmd.ping", "cmd.list-empty"],
    timeoutMs: 10_000, // The cut, not the time, ends each read.
    maxLineBytes: 1024 * 1024,
  });
  assertEquals(failures(run).toSorted(), ["cmd.list-empty", "cmd.ping"]);
  const failed = (id: string) => run.results.find((result) => result.rule.id === id)!.failure!;
  const [ping, list] = [failed("cmd.ping"), failed("cmd.list-empty")];
  assertMatch(
    ping!.reason.en,
    /^more than 4,101 bytes came without a \\n, where a right answer's line has at most 5: this cannot be the answer/,
  );
  assertMatch(ping!.reason.ko, /^\\n 없이 4,101바이트를 넘게 받음/);
  assertMatch(
    list!.reason.en,
    /^more than 1,052,672 bytes came without a \\n, where a right answer's line has at most 1,048,576/,
  );
  // A read or two past the cut, not the 64 MiB an answer may take.
  for (const failure of [ping!, list!]) {
    const got = failure.gotBytes ?? failure.got!.length;
    assert(got <= 2 * 1024 * 1024, `${got} bytes read`);
  }
});

Deno.test("runCheck() takes a LIST pair as long as the server's line limit it is told, and names that option when it stops reading one", async () => {
  // The server's limit is 2 MiB and it holds a pair of 1.5 MiB: a right
  // answer, past the 1 MiB kv check assumes unless told.
  await using server = startTestServer({ maxLineBytes: 2 * 1024 * 1024 });
  {
    await using kv = await KvClient.connect({ port: server.port });
    await kv.put("big", "v".repeat(1536 * 1024));
  }
  const assumed = await runCheck({ port: server.port, only: ["cmd.list"], timeoutMs: 2_000 });
  const reason = assumed.results[0]!.failure!.reason;
  assertStringIncludes(
    reason.en,
    "where a right answer's line has at most 1,048,576 (a pair is stored by a request within " +
      "the server's line limit, taken to be 1,048,576 bytes: give a larger one with " +
      "--assume-max-line-bytes)",
  );
  assertStringIncludes(reason.ko, "더 크면 --assume-max-line-bytes로 알려 주세요)이므로");
  const told = await runCheck({
    port: server.port,
    only: ["cmd.list"],
    timeoutMs: 2_000,
    maxLineBytes: 2 * 1024 * 1024,
  });
  assertEquals(failures(told), []);
});

/**
 * A server that reads each connection's first request, then sends `chunk`
 * again and again until the checker hangs up; `sent()` counts the bytes
 * its writes took on the connection that took most (what the checker read,
 * and what the kernel's buffers held).
 */
function floodServer(chunk: string) {
  let sent = 0;
  const bytes = new TextEncoder().encode(chunk);
  const server = scriptedServer(async (conn) => {
    await conn.read(new Uint8Array(1024));
    for (let mine = 0;;) {
      mine += await conn.write(bytes);
      sent = Math.max(sent, mine);
    }
  });
  return Object.assign(server, { sent: () => sent });
}

Deno.test("runCheck() ends a LIST whose lines are not pairs once it has the lines it shows, not at its deadline", async () => {
  await using server = floodServer("x\n".repeat(4096));
  const run = await runCheck({ port: server.port, only: ["cmd.list-empty"], timeoutMs: 2_000 });
  assertEquals(failures(run), ["cmd.list-empty"]);
  assertEquals(run.results[0]!.failure!.reason.en, `a LIST line without ", " in it: "x"`);
  // The 20 s deadline ended it before: gigabytes.
  assert(server.sent() < 8 * 1024 * 1024, `${server.sent()} bytes sent`);
});

Deno.test("runCheck() --level assignment stops a textbook answer a little past a right one's length, and a LIST of no pairs", async () => {
  for (const chunk of ["x".repeat(64 * 1024), "x\n".repeat(4096)]) {
    await using server = floodServer(chunk);
    const run = await runCheck({
      port: server.port,
      level: "assignment",
      only: ["a.put", "a.unknown-command", "a.list-empty"],
      timeoutMs: 2_000,
    });
    const reason = (id: string) =>
      run.results.find((result) => result.rule.id === id)!.failure!.reason.en;
    assertMatch(
      reason("a.put"),
      /^more than 4,106 bytes came without a pause, where a right answer has at most 10: this cannot be the answer/,
    );
    assertMatch(reason("a.unknown-command"), /^more than [\d,]+ bytes came without a pause/);
    assertMatch(
      reason("a.list-empty"),
      chunk.includes("\n")
        ? /^more than 1,000 lines in a row of LIST's answer have no comma: they cannot be pairs/
        : /^more than 1,052,672 bytes came without a \\n, where a right answer's line has at most 1,048,576/,
    );
    // Each read (the cleanup's LIST and the one-at-a-time test's too) stops soon, not at 64 MiB.
    assert(server.sent() < 8 * 1024 * 1024, `${server.sent()} bytes sent`);
  }
});

Deno.test("runCheck() --level assignment takes a textbook LIST of many values that kept a \\n: lines with no comma between pairs are no flood", async () => {
  // A textbook server's store, as its students fill it: 1,200 values
  // with a \n inside ("a\nb"), each listed as a pair's line and a line
  // with no comma. More such lines than MAX_NON_PAIR_LINES, none in a row.
  await using server = textbookServer();
  {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const buffer = new Uint8Array(64);
    for (let i = 0; i < 1_200; i++) {
      await send(conn, `PUT, pre${i}, a\nb`);
      await conn.read(buffer); // Success!
    }
  }
  const run = await runCheck({
    port: server.port,
    level: "assignment",
    only: ["a.list"],
    timeoutMs: 2_000,
  });
  assertEquals(failures(run), []);
  assertEquals(run.left, []);
});

Deno.test("runCheck() --password-file stops reading an AUTH answer that floods bytes without a \\n, and says so", async () => {
  await using server = floodServer("x".repeat(64 * 1024));
  const error = await assertRejects(
    () =>
      runCheck({ port: server.port, password: "s3cret", only: ["cmd.ping"], timeoutMs: 10_000 }),
    CheckUnreachableError,
  );
  // "AUTH, s3cret\n" and an error's 1 KiB, then the 4 KiB past a right answer.
  assertEquals(
    error.message,
    `cannot connect to 127.0.0.1:${server.port}: the server sent more than 5,133 bytes without ` +
      'a \\n in answer to AUTH, where a right answer is "Success!": this cannot be the answer ' +
      "(does the server send without end?)",
  );
  assertEquals(
    error.text?.ko,
    `서버(127.0.0.1:${server.port})에 연결할 수 없습니다: 서버가 AUTH의 답으로 \\n 없이 5,133바이트보다 ` +
      '많이 보냈습니다. 맞는 답은 "Success!"이므로 이것은 답일 수 없습니다(서버가 끝없이 보내나요?)',
  );
  // A read or two past the cut, not the 64 MiB an answer could take.
  assert(server.sent() < 8 * 1024 * 1024, `${server.sent()} bytes sent`);
});

Deno.test("runCheck() --level full's loads stop reading an answer a little past a right one's line, not at 64 MiB", async () => {
  // Each connection: its first request answered right (PONG or Success!),
  // then bytes without a \n until the checker hangs up, while what it sends is read.
  const flood = new TextEncoder().encode("x".repeat(64 * 1024));
  await using server = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(64 * 1024);
    // The first read's start tells the request (the rest of a long one is read below).
    const n = await conn.read(buffer);
    if (n === null) return;
    const first = new TextDecoder().decode(buffer.subarray(0, n));
    const draining = (async () => {
      while (await conn.read(buffer) !== null);
    })().catch(() => {});
    try {
      await send(conn, first.startsWith("PING") ? "PONG\n" : "Success!\n");
      for (;;) await conn.write(flood);
    } finally {
      await draining;
    }
  });
  const run = await runCheck({
    port: server.port,
    only: ["load.clients", "load.long-line", "load.slow-reader", "load.disconnects"],
    timeoutMs: 10_000, // The cut, not the time, ends each read.
    maxLineBytes: 64 * 1024,
  });
  const failure = (id: string) => run.results.find((result) => result.rule.id === id)!.failure!;
  const reason = (id: string) => failure(id).reason.en;
  const cut = (bytes: string, longest: string) =>
    `more than ${bytes} bytes came without a \\n, where a right answer's line has at most ${longest}: ` +
    "this cannot be the answer";
  // A PUT's Success! (and \r\n): 10 bytes.
  assertStringIncludes(reason("load.clients"), cut("4,106", "10"));
  // The line of 65,537 bytes, which its error may quote, and 1 KiB.
  assertStringIncludes(reason("load.long-line"), cut("70,657", "66,561"));
  // A 16 KiB value.
  assertStringIncludes(reason("load.slow-reader"), `answer 1 of 1000: ${cut("20,482", "16,386")}`);
  // GET's "1".
  assertStringIncludes(reason("load.disconnects"), cut("4,099", "3"));
  // A read or two past the cut, not the 64 MiB an answer could take.
  for (const id of ["load.clients", "load.long-line", "load.slow-reader", "load.disconnects"]) {
    const got = failure(id).gotBytes ?? failure(id).got!.length;
    assert(got <= 2 * 1024 * 1024, `${id}: ${got} bytes read`);
  }
});
