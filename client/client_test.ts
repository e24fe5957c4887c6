/**
 * Tests of {@linkcode KvClient}'s typed methods and `request()` over real
 * sockets on port 0: against a real server (testing/mod.ts), and against a
 * scripted fake server where the test needs to control exactly what the
 * other end sends and when. Its other concerns have files of their own:
 * connecting (client_connect_test.ts), a server that closes
 * (client_server_close_test.ts), answer timeouts (client_timeout_test.ts),
 * answers that are not UTF-8 (client_utf8_test.ts).
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { KvClient } from "./client.ts";
import { KvConnectionError, KvServerError } from "./errors.ts";
import { readRawLines, scriptedServer, send, startTestServer } from "../testing/mod.ts";

const encoder = new TextEncoder();

Deno.test("KvClient.put() and get() store and read back a value", async () => {
  await using server = startTestServer();
  await using kv = await KvClient.connect({ port: server.port });
  assertEquals(await kv.put("myname", "yyjun"), undefined);
  assertEquals(await kv.get("myname"), "yyjun");
  await kv.put("myname", "other");
  assertEquals(await kv.get("myname"), "other", "PUT overwrites");
});

Deno.test("KvClient.get() returns undefined for a missing key", async () => {
  await using server = startTestServer();
  await using kv = await KvClient.connect({ port: server.port });
  assertEquals(await kv.get("missing"), undefined);
});

Deno.test("KvClient.delete() returns whether the key was there", async () => {
  await using server = startTestServer();
  await using kv = await KvClient.connect({ port: server.port });
  assertEquals(await kv.delete("missing"), false);
  await kv.put("k", "v");
  assertEquals(await kv.delete("k"), true);
  assertEquals(await kv.get("k"), undefined);
  assertEquals(await kv.delete("k"), false);
});

Deno.test("KvClient.list() returns every pair as a Map", async (t) => {
  await using server = startTestServer();
  await using kv = await KvClient.connect({ port: server.port });
  await t.step("an empty store gives an empty Map", async () => {
    const pairs = await kv.list();
    assertInstanceOf(pairs, Map);
    assertEquals(pairs.size, 0);
  });
  await t.step("values with commas, empty values and Korean survive", async () => {
    await kv.put("greeting", "hello, world");
    await kv.put("empty", "");
    await kv.put("이름", "윤영준, 서울");
    await kv.put("a", ", , ,");
    assertEquals(
      await kv.list(),
      new Map([
        ["greeting", "hello, world"],
        ["empty", ""],
        ["이름", "윤영준, 서울"],
        ["a", ", , ,"],
      ]),
    );
  });
});

Deno.test("KvClient.list(): keys that start with Error: are pairs, and the calls after it stay in step", async (t) => {
  for (
    const [key, value] of [
      ["Error: x", "y"],
      // Together, exactly the text of the contract's authentication error.
      ["Error: authentication required (send AUTH", "password first)"],
    ] as const
  ) {
    await t.step(`${key}, ${value}`, async () => {
      await using server = startTestServer();
      await using kv = await KvClient.connect({ port: server.port });
      await kv.put(key, value);
      const [pairs] = await Promise.all([kv.list(), kv.ping(), kv.put("b", "B")]);
      assertEquals(pairs, new Map([[key, value]]));
      assertEquals(await kv.get("b"), "B", "still in step");
    });
  }
});

Deno.test("KvClient.get() reads back commas, Korean, emoji and empty values", async (t) => {
  await using server = startTestServer();
  await using kv = await KvClient.connect({ port: server.port });
  const cases: [string, string][] = [
    ["greeting", "hello, world"],
    ["commas", ",,,"],
    ["이름", "윤영준"],
    ["emoji🔑", "값 🎉, 끝"],
    ["empty", ""],
    ["inner spaces", "a  b\tc"],
    ["Not", "exist"],
  ];
  for (const [key, value] of cases) {
    await t.step(`${JSON.stringify(key)} = ${JSON.stringify(value)}`, async () => {
      await kv.put(key, value);
      assertEquals(await kv.get(key), value);
    });
  }
});

Deno.test("KvClient.ping() resolves when the server answers PONG", async () => {
  await using server = startTestServer();
  await using kv = await KvClient.connect({ port: server.port });
  assertEquals(await kv.ping(), undefined);
});

Deno.test("KvClient.address names the server as host:port", async () => {
  await using server = startTestServer();
  await using kv = await KvClient.connect({ port: server.port });
  assertEquals(kv.address, `127.0.0.1:${server.port}`);
});

Deno.test("KvClient methods reject keys and values the protocol cannot carry with RangeError", async (t) => {
  await using server = startTestServer();
  await using kv = await KvClient.connect({ port: server.port });
  const cases: [string, () => Promise<unknown>][] = [
    ["a comma in a key", () => kv.put("a,b", "v")],
    ["a newline in a key", () => kv.get("a\nb")],
    ["an empty key", () => kv.delete("")],
    ["a newline in a value", () => kv.put("k", "one\ntwo")],
    ["a CR in a value", () => kv.put("k", "one\rtwo")],
    ["a key with a leading space", () => kv.get(" k")],
    ["a value with a trailing tab", () => kv.put("k", "v\t")],
    ["a lone surrogate in a value", () => kv.put("k", "a\uD800b")],
    ["a lone surrogate in a key", () => kv.get("k\uDC00")],
  ];
  for (const [name, call] of cases) {
    await t.step(name, async () => {
      await assertRejects(call, RangeError);
    });
  }
  await t.step("nothing was sent: the connection is still in step", async () => {
    await kv.put("k", "fine");
    assertEquals(await kv.get("k"), "fine");
    assertEquals(await kv.list(), new Map([["k", "fine"]]));
  });
});

Deno.test("KvClient methods throw KvServerError for an Error: answer", async (t) => {
  // A request longer than the server's line limit is the one a typed method
  // can send and still have rejected: `Error: line too long`.
  await using server = startTestServer({ maxLineBytes: 16 });
  await using kv = await KvClient.connect({ port: server.port });
  await t.step("put()", async () => {
    const error = await assertRejects(
      () => kv.put("k", "x".repeat(100)),
      KvServerError,
    );
    assertEquals(error.message, "line too long (limit 16 bytes)");
    assertEquals(error.name, "KvServerError");
  });
  await t.step("get()", async () => {
    await assertRejects(() => kv.get("k".repeat(20)), KvServerError, "line too long");
  });
  await t.step("delete()", async () => {
    await assertRejects(() => kv.delete("k".repeat(20)), KvServerError, "line too long");
  });
  await t.step("the connection stays usable after an error", async () => {
    await kv.put("k", "short");
    assertEquals(await kv.get("k"), "short");
  });
});

Deno.test("KvClient.list() throws KvServerError when the server rejects LIST", async () => {
  await using server = startTestServer({ maxLineBytes: 3 });
  await using kv = await KvClient.connect({ port: server.port });
  await assertRejects(() => kv.list(), KvServerError, "line too long (limit 3 bytes)");
  // The lone error line ended LIST's answer: the next answer is not mixed in.
  assertEquals(await kv.request("GET, a"), ["Error: line too long (limit 3 bytes)"]);
  assertEquals(await kv.request("GET"), ["Error: usage: GET, key"]);
});

Deno.test("KvClient.ping() throws KvServerError when the server has too many connections", async () => {
  await using server = startTestServer({ maxConnections: 1 });
  await using first = await KvClient.connect({ port: server.port });
  await first.ping(); // Now the server holds the one connection it allows.
  await using second = await KvClient.connect({ port: server.port });
  await assertRejects(() => second.ping(), KvServerError, "too many connections");
  await first.ping();
});

Deno.test("KvClient.request() returns the answer lines of a raw request", async (t) => {
  await using server = startTestServer();
  await using kv = await KvClient.connect({ port: server.port });
  await t.step("one-line answers, any spelling the server accepts", async () => {
    assertEquals(await kv.request("PUT,a,1"), ["Success!"]);
    assertEquals(await kv.request("  put ,b,  2, 3 "), ["Success!"]);
    assertEquals(await kv.request("GET, b"), ["2, 3"]);
    assertEquals(await kv.request("GET, nothing"), ["Not exist!"]);
    assertEquals(await kv.request("ping"), ["PONG"]);
    assertEquals(await kv.request("GET, a\r"), ["1"], "a CR before the newline is dropped");
  });
  await t.step("LIST without its final empty line", async () => {
    const lines = await kv.request("LIST");
    assertEquals(lines.toSorted(), ["a, 1", "b, 2, 3"]);
    assertEquals(await kv.request("DELETE, a"), ["Success!"]);
    assertEquals(await kv.request("DELETE, b"), ["Success!"]);
    assertEquals(await kv.request(" list "), ["Not exist!"]);
  });
  await t.step("a blank line gets no answer: []", async () => {
    assertEquals(await kv.request(""), []);
    assertEquals(await kv.request(" \t "), []);
    assertEquals(await kv.request("\r"), []);
    assertEquals(await kv.request("PING"), ["PONG"], "still in step");
  });
  await t.step("Error: lines are returned, not thrown", async () => {
    assertEquals(await kv.request("FOO"), [
      'Error: unknown command "FOO" (expected PUT, GET, DELETE, LIST, PING or QUIT)',
    ]);
    assertEquals(await kv.request("GET, a,"), ["Error: usage: GET, key"]);
    assertEquals(await kv.request("LIST, x"), ["Error: usage: LIST"]);
    assertEquals(await kv.request("PUT, , v"), ["Error: key must not be empty"]);
  });
  await t.step("bytes are sent as they are", async () => {
    assertEquals(await kv.request(encoder.encode("PUT, 키, 값")), ["Success!"]);
    assertEquals(await kv.request(encoder.encode("GET, 키")), ["값"]);
    assertEquals(await kv.request(new Uint8Array([0x47, 0xff, 0x0d])), [
      "Error: request is not valid UTF-8",
    ]);
    assertEquals(await kv.request(encoder.encode("LIST\r")), ["키, 값"]);
    assertEquals(await kv.request(new Uint8Array()), []);
  });
});

Deno.test("KvClient.request() of a first line that starts with * gets the line protocol's answer, not a Redis connection", async (t) => {
  // The server takes a connection whose first byte is `*` for a Redis client
  // (PROTOCOL.md): a line client must not start with one, yet it is one line.
  await using server = startTestServer();
  const UNKNOWN = (word: string) =>
    `Error: unknown command ${
      JSON.stringify(word)
    } (expected PUT, GET, DELETE, LIST, PING or QUIT)`;
  for (
    const [first, answer] of [
      ["*", UNKNOWN("*")],
      ["*1, x", UNKNOWN("*1")],
      [encoder.encode("*3"), UNKNOWN("*3")],
    ] as const
  ) {
    await t.step(JSON.stringify(typeof first === "string" ? first : "bytes"), async () => {
      await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 2_000 });
      assertEquals(await kv.request(first), [answer]);
      assertEquals(await kv.request("*"), [UNKNOWN("*")], "later lines are sent as they are");
      await kv.ping();
    });
  }
  await t.step("unframed, too", async () => {
    await using kv = await KvClient.connect({
      port: server.port,
      answerTimeoutMs: 2_000,
      unframed: true,
    });
    assertEquals(await kv.request("*"), [UNKNOWN("*")]);
  });
});

Deno.test("KvClient.request() rejects a line holding a newline instead of losing step", async (t) => {
  await using server = startTestServer();
  await using kv = await KvClient.connect({ port: server.port });
  await kv.put("a", "1");
  for (const line of ["PING\nPING", "LIST\n", "GET, a\nLIST"]) {
    await t.step(JSON.stringify(line), async () => {
      await assertRejects(() => kv.request(line), RangeError);
      await assertRejects(() => kv.request(encoder.encode(line)), RangeError);
    });
  }
  await t.step("answers still match their requests", async () => {
    assertEquals(await kv.request("GET, a"), ["1"]);
    assertEquals(await kv.list(), new Map([["a", "1"]]));
    await kv.ping();
  });
});

Deno.test("KvClient matches 1,000 concurrent calls to their answers in order", async () => {
  await using server = startTestServer();
  await using kv = await KvClient.connect({ port: server.port });
  const calls: Promise<unknown>[] = [];
  const expected: unknown[] = [];
  for (let i = 0; i < 250; i++) {
    calls.push(kv.put(`k${i}`, `v${i}, ${"값".repeat(1 + i % 7)}`));
    expected.push(undefined);
    calls.push(kv.get(`k${i}`));
    expected.push(`v${i}, ${"값".repeat(1 + i % 7)}`);
    // LIST sees exactly the PUTs sent before it, so its size shows order.
    calls.push(kv.list().then((pairs) => pairs.size));
    expected.push(i + 1);
    calls.push(i % 2 === 0 ? kv.request("GET, missing") : kv.delete(`gone${i}`));
    expected.push(i % 2 === 0 ? ["Not exist!"] : false);
  }
  assertEquals(calls.length, 1_000);
  assertEquals(await Promise.all(calls), expected);
});

Deno.test("KvClient pipelines calls: all are sent before the first answer comes", async () => {
  const count = 200;
  await using server = scriptedServer(async (conn) => {
    // Answers nothing until every request has arrived: a client that waited
    // for each answer before sending the next would never get one.
    const requests = await readRawLines(conn, count);
    assertEquals(requests, Array.from({ length: count }, (_, i) => `GET, k${i}`));
    await send(conn, requests.map((_, i) => `v${i}\n`).join(""));
  });
  await using kv = await KvClient.connect({ port: server.port });
  const values = await Promise.all(
    Array.from({ length: count }, (_, i) => kv.get(`k${i}`)),
  );
  assertEquals(values, Array.from({ length: count }, (_, i) => `v${i}`));
  await server.done;
});

Deno.test("KvClient.request() of QUIT returns Bye! and later calls reject", async () => {
  await using server = startTestServer();
  await using kv = await KvClient.connect({ port: server.port });
  await kv.put("a", "1");
  // Sent in one write with QUIT: the server answers QUIT and runs nothing after it.
  const [quit, ping, get] = await Promise.allSettled([
    kv.request("QUIT"),
    kv.ping(),
    kv.get("a"),
  ]);
  assertEquals(quit, { status: "fulfilled", value: ["Bye!"] });
  assertEquals(ping.status, "rejected");
  assertEquals(get.status, "rejected");
  assertInstanceOf((ping as PromiseRejectedResult).reason, KvConnectionError);
  assertInstanceOf((get as PromiseRejectedResult).reason, KvConnectionError);
  const later = await assertRejects(() => kv.ping(), KvConnectionError);
  assert(later.message.includes(`127.0.0.1:${server.port}`), later.message);
});

Deno.test("KvClient.close() rejects later calls and can be called twice", async () => {
  await using server = startTestServer();
  const kv = await KvClient.connect({ port: server.port });
  await kv.ping();
  await kv.close();
  await kv.close();
  await assertRejects(
    () => kv.ping(),
    KvConnectionError,
    `connection to 127.0.0.1:${server.port} is closed`,
  );
  await kv[Symbol.asyncDispose]();
});

Deno.test("KvClient[Symbol.asyncDispose]() closes the connection at the end of the scope", async () => {
  await using server = startTestServer();
  let kept: KvClient;
  {
    await using kv = await KvClient.connect({ port: server.port });
    kept = kv;
    await kv.put("a", "1");
  }
  await assertRejects(() => kept.get("a"), KvConnectionError, "is closed");
  // The server saw the close: a fresh client still finds the data.
  await using again = await KvClient.connect({ port: server.port });
  assertEquals(await again.get("a"), "1");
});

Deno.test("KvClient.close() with calls in flight rejects them instead of hanging", async () => {
  await using server = scriptedServer(async (conn) => {
    // Never answers: reads until the client goes away.
    const buffer = new Uint8Array(1024);
    while (await conn.read(buffer).catch(() => null) !== null);
  });
  const kv = await KvClient.connect({ port: server.port });
  const calls = Promise.allSettled([kv.ping(), kv.get("a"), kv.list()]);
  await kv.close();
  for (const result of await calls) {
    assertEquals(result.status, "rejected");
    assertInstanceOf((result as PromiseRejectedResult).reason, KvConnectionError);
  }
  await server.done;
});

Deno.test("KvClient.list() on a server with a password, before AUTH: KvServerError, not a hang", async () => {
  await using server = startTestServer({ password: "s3cret" });
  await using kv = await KvClient.connect({ port: server.port });
  await assertRejects(() => kv.list(), KvServerError, "authentication required");
  // Still in step: the next answer is PING's own (the same error, before AUTH), not a stray line.
  await assertRejects(() => kv.ping(), KvServerError, "authentication required");
});
