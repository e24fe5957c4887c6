/**
 * A password never shows, over real sockets: not in -v's log nor in
 * --trace's events, whether the server has a password or not (an AUTH
 * split between reads, the error that quotes it back), nor in KvClient's or
 * kv bench's errors when a server echoes it.
 */

import {
  assert,
  assertEquals,
  assertFalse,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { runBench } from "../bench/run.ts";
import { KvClient } from "../client/client.ts";
import {
  FakeIo,
  LogCollector,
  RawConn,
  scriptedServer,
  startTestServer,
  TraceCollector,
  within,
} from "../testing/mod.ts";
import { PASSWORD } from "./auth_fixtures.ts";
import { resp } from "../testing/resp.ts";

Deno.test("serve() with a password: -v and --trace never show a password tried or given", async () => {
  const logs = new LogCollector();
  const traced = new TraceCollector();
  await using server = startTestServer({
    password: PASSWORD,
    log: logs.log,
    verbose: true,
    trace: traced.trace,
  });
  await using line = await RawConn.connect(server.port);
  // Redis's form as a line (no comma: an unknown command word) holds the password too.
  await line.send(`auth guess-0\r\nAUTH, guess-1\nAUTH, ${PASSWORD}\nPUT, k, v\n`);
  assertEquals((await line.readLines(4)).slice(1), [
    "Error: wrong password",
    "Success!",
    "Success!",
  ]);
  await using redis = await RawConn.connect(server.port);
  await redis.send(
    resp("AUTH", "guess-2") + resp("AUTH", "default", "guess-3", "extra") +
      resp("HELLO", "2", "AUTH", "default", "guess-4") + resp("AUTH", "default", PASSWORD) +
      resp("GET", "k"),
  );
  assertEquals((await redis.readLines(6)).at(-1), "v\r");
  const seen = [
    ...logs.lines.map((line) => line.message),
    ...traced.events.map((event) => event.detail),
  ];
  assert(seen.some((text) => text.includes("AUTH (the rest hidden")), "the request is logged");
  assert(seen.some((text) => text.includes('"PUT, k, v"')), "other requests are shown");
  for (const secret of ["guess-0", "guess-1", "guess-2", "guess-3", "guess-4", "s3cret"]) {
    assertEquals(seen.filter((text) => text.includes(secret)), [], secret);
  }
});

Deno.test("serve() without a password: -v and --trace still hide an AUTH a client sends, its echo, and every read after it", async (t) => {
  const traced = new TraceCollector();
  const logs = new LogCollector();
  await using server = startTestServer({ trace: traced.trace, verbose: true, log: logs.log });
  const seen = () => [
    ...traced.events.map((event) => event.detail),
    ...logs.lines.map((line) => line.message),
  ];
  let id = 0;
  /**
   * Sends a first request, shown, then `pieces` on the same connection, each
   * in a read of its own, then PING, and reads to PONG. RESP when `resp`.
   */
  const send = async (pieces: string[], resp = false) => {
    const who = `#${++id}`;
    await using conn = await RawConn.connect(server.port);
    await conn.send(resp ? "*3\r\n$3\r\nSET\r\n$6\r\nauthor\r\n$1\r\nx\r\n" : "PUT, author, x\n");
    assertEquals((await conn.readLine())?.trimEnd(), resp ? "+OK" : "Success!");
    for (const [i, piece] of pieces.entries()) {
      await conn.send(piece);
      await within("the read", traced.waitFor(who, "recv", i + 2));
    }
    await conn.send(resp ? "*1\r\n$4\r\nPING\r\n" : "PING\n");
    while (!(await conn.readLine())?.includes("PONG"));
  };
  await t.step("AUTH as a line, and in Redis's form (whose error quotes it back)", async () => {
    await send([`AUTH, ${PASSWORD}\n`, `AUTH ${PASSWORD}\n`]);
  });
  await t.step("AUTH split from its password, and the word itself split", async () => {
    await send(["AUTH, ", `${PASSWORD}\n`]);
    await send(["GET x\r\nAU", `TH ${PASSWORD}\r\n`]);
    await send(["*2\r\n$4\r\nAU", "TH\r\n$7\r\n", `${PASSWORD.slice(0, 7)}\r\n`], true);
  });
  await t.step("a password longer than a read", async () => {
    await send([`*2\r\n$4\r\nAUTH\r\n$3000\r\n`, `${"s3cret".repeat(500)}\r\n`], true);
  });
  assertEquals(seen().filter((text) => text.includes("s3cret")), []);
  assert(
    seen().some((text) => text.includes("(hidden: after AUTH or HELLO, which hold a password)")),
  );
  assert(seen().some((text) => text.includes("PUT, author, x")), "the bytes before are shown");
});

Deno.test("KvClient and kv bench never show their password, even when a server echoes it", async () => {
  // A server that is not kv: it echoes every line back, as Redis's error for an unknown command does.
  await using echo = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(1024);
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      await conn.write(
        new TextEncoder().encode(
          `-ERR unknown command, with args beginning with: ${
            new TextDecoder().decode(buffer.subarray(0, n)).trim()
          }\n`,
        ),
      );
    }
  });
  const traced = new TraceCollector();
  const error = await assertRejects(() =>
    KvClient.connect({ port: echo.port, password: PASSWORD, trace: traced.trace })
  );
  assertFalse(String(error).includes("s3cret"), String(error));
  assertStringIncludes(String(error), "***");
  assertEquals(traced.events.filter((event) => event.detail.includes("s3cret")), []);
  // One that JSON would escape, and longer than a trace line shows.
  const odd = `qu"ote\\back-${"z".repeat(100)}`;
  const oddTrace = new TraceCollector();
  const oddError = await assertRejects(() =>
    KvClient.connect({ port: echo.port, password: odd, trace: oddTrace.trace })
  );
  assertFalse(String(oddError).includes("ote"), String(oddError));
  assertEquals(oddTrace.events.filter((event) => /ote|zzzz/.test(event.detail)), []);
  const fake = new FakeIo();
  const outcome = await runBench(
    { port: echo.port, password: PASSWORD, connections: 1, requests: 10 },
    fake.io,
  );
  assert(outcome !== "ok");
  assertFalse(fake.stderr.includes("s3cret"), fake.stderr);
  assertStringIncludes(fake.stderr, "***");
});
