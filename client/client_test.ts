/**
 * Tests of {@linkcode KvClient} over real sockets on port 0: against a real
 * server (testing/mod.ts), and against a scripted fake server where the test
 * needs to control exactly what the other end sends and when.
 *
 * @module
 */

import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { KvClient } from "./client.ts";
import { KvAnswerError, KvConnectionError, KvServerError, KvTimeoutError } from "./errors.ts";
import {
  closedPort,
  readAll,
  readRawLines,
  scriptedServer,
  send,
  stallUntil,
  startTestServer,
} from "../testing/mod.ts";
import { TEST_CERT, TEST_KEY } from "../testing/tls.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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

Deno.test("KvClient: a server with no room answers the first request with why, whether or not the write failed", async () => {
  await using server = startTestServer({ maxConnections: 1 });
  await using holder = await KvClient.connect({ port: server.port });
  await holder.ping();
  // The write of the requests races the server's close: either way the
  // refusal answers the first request, and the second fails with no hint of
  // a server that closes after each answer.
  for (let i = 0; i < 20; i++) {
    await using kv = await KvClient.connect({ port: server.port });
    const first = kv.request("PING");
    const second = kv.request("PING");
    assertEquals(await first, ["Error: too many connections"]);
    const error = await assertRejects(() => second, KvConnectionError);
    assertEquals(error.answers, undefined);
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

Deno.test("KvClient.connect() throws KvConnectionError naming the address when refused", async () => {
  const port = closedPort();
  const error = await assertRejects(
    () => KvClient.connect({ port }),
    KvConnectionError,
  );
  assertEquals(
    error.message,
    `cannot connect to 127.0.0.1:${port}: connection refused (is the server running, on that port?)`,
  );
  assertEquals(error.name, "KvConnectionError");
  assertInstanceOf(error.cause, Deno.errors.ConnectionRefused);
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

Deno.test("KvClient rejects pending calls when the server closes the connection", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 3);
    await send(conn, "PONG\n"); // Answers the first request only, then closes.
  });
  await using kv = await KvClient.connect({ port: server.port });
  const [ping, get, list] = await Promise.allSettled([kv.ping(), kv.get("a"), kv.list()]);
  assertEquals(ping, { status: "fulfilled", value: undefined });
  for (const result of [get, list]) {
    assertEquals(result.status, "rejected");
    const reason = (result as PromiseRejectedResult).reason;
    assertInstanceOf(reason, KvConnectionError);
    // It answered one and closed: perhaps one request per connection (kv client says so).
    assertEquals(
      [reason.message, reason.answers],
      [`connection closed by 127.0.0.1:${server.port} with requests still unanswered`, 1],
    );
    // In numbers, for a message of one's own (kv client --lang ko).
    assertEquals(reason.serverClose, { unanswered: 2, silent: false });
  }
  await assertRejects(() => kv.put("a", "b"), KvConnectionError, "connection closed by");
  await server.done;
});

Deno.test("KvClient: a server that closes before a byte of an answer may speak TLS, and the error says so", async () => {
  // A TLS server closes a plaintext client's connection without a byte of answer.
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
  });
  await using kv = await KvClient.connect({ port: server.port });
  await assertRejects(
    () => kv.ping(),
    KvConnectionError,
    `connection closed by 127.0.0.1:${server.port} before any answer (if it speaks TLS, connect with TLS: --tls, or the tls option)`,
  );
  await server.done;
});

Deno.test("KvClient: a server that closes an idle connection gets no TLS hint", async () => {
  // A server stopping closes the connections that wait for a request.
  await using server = scriptedServer(() => Promise.resolve());
  const closed = Promise.withResolvers<void>();
  await using kv = await KvClient.connect({
    port: server.port,
    // The client closes its end once it has seen the server's: then ask.
    trace: (event) => event.event === "close" && closed.resolve(),
  });
  await closed.promise;
  const error = await assertRejects(() => kv.ping(), KvConnectionError);
  assertEquals(error.message, `connection closed by 127.0.0.1:${server.port}`);
});

Deno.test("KvClient rejects a LIST cut off before its final empty line", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, "a, 1\nb, 2\n");
  });
  await using kv = await KvClient.connect({ port: server.port });
  await assertRejects(() => kv.list(), KvConnectionError, "connection closed by");
  await server.done;
});

Deno.test("KvClient rejects an answer the close cut off before its \\n, not return it as whole", async (t) => {
  const cutServer = () =>
    scriptedServer(async (conn) => {
      await readRawLines(conn, 1);
      await send(conn, "yyj"); // of "yyjun\n"
    });
  await t.step("waiting for the \\n (the default): KvConnectionError", async () => {
    await using server = cutServer();
    await using kv = await KvClient.connect({ port: server.port });
    await assertRejects(
      () => kv.get("name"),
      KvConnectionError,
      'in the middle of an answer (3 bytes of it came, "yyj", with no \\n)',
    );
  });
  await t.step(
    "with answerPauseMs (a textbook server's way): the end of the stream ends it",
    async () => {
      await using server = cutServer();
      await using kv = await KvClient.connect({ port: server.port, answerPauseMs: 5_000 });
      assertEquals(await kv.get("name"), "yyj");
    },
  );
});

Deno.test("KvClient: after a timeout, a later call says the connection closed, not that it waited", async () => {
  await using server = scriptedServer(async (conn) => {
    while (await conn.read(new Uint8Array(64)) !== null); // Never answers.
  });
  await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 100 });
  const timeout = await assertRejects(() => kv.ping(), KvTimeoutError, "within 0.1 s");
  assertEquals(timeout.timeoutMs, 100);
  assert(timeout.waitedMs !== undefined && timeout.waitedMs > 50, `${timeout.waitedMs}`);
  const later = await assertRejects(() => kv.ping(), KvConnectionError);
  assertEquals(later instanceof KvTimeoutError, false);
  assertStringIncludes(later.message, "is closed: an earlier request timed out");
});

Deno.test("KvClient rejects calls once the server has shut down", async () => {
  await using server = startTestServer();
  await using kv = await KvClient.connect({ port: server.port });
  await kv.put("a", "1");
  assertEquals(await server.shutdown(), { connectionsCut: 0 });
  await assertRejects(() => kv.get("a"), KvConnectionError);
  await assertRejects(() => kv.ping(), KvConnectionError);
});

Deno.test("KvClient fails a request whose answer line is not UTF-8, shown as bytes, read as cp949 where it is that", async () => {
  const OTHER_CODEC =
    "(answers are UTF-8 text: does the server encode them with another codec, such as latin-1 or cp949?)";
  const cases: [string, number[], string][] = [
    ['"café" in Latin-1', [0x63, 0x61, 0x66, 0xe9, 0x0d], `"caf\\xe9" ${OTHER_CODEC}`],
    [
      '"홍길동" in cp949',
      [0xc8, 0xab, 0xb1, 0xe6, 0xb5, 0xbf],
      '"\\xc8\\xab\\xb1\\xe6\\xb5\\xbf" (it reads as cp949: "홍길동"; answers are UTF-8 text: ' +
      'encode them with .encode() or .encode("utf-8"), not "cp949")',
    ],
    // cp949's extension would decode it (as "햚gel"): only EUC-KR's own byte pairs count.
    ['"Ángel" in Latin-1', [0xc1, 0x6e, 0x67, 0x65, 0x6c], `"\\xc1ngel" ${OTHER_CODEC}`],
  ];
  for (const [name, line, shown] of cases) {
    await using server = scriptedServer(async (conn) => {
      await readRawLines(conn, 1);
      await send(conn, new Uint8Array([...line, 0x0a]));
    });
    await using kv = await KvClient.connect({ port: server.port });
    const error = await assertRejects(() => kv.get("a"), KvAnswerError);
    assertEquals(
      error.message,
      `127.0.0.1:${server.port} sent an answer line that is not UTF-8: ${shown}`,
      name,
    );
    assertEquals(error.bytes, new Uint8Array(line.at(-1) === 0x0d ? line.slice(0, -1) : line));
    await server.done;
  }
});

Deno.test("KvClient: an answer that is not UTF-8 fails its request only; the connection stands, in step", async () => {
  const cp949 = [0xc8, 0xab, 0xb1, 0xe6, 0xb5, 0xbf]; // "홍길동"
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 4);
    // Pipelined: a GET, a LIST with a bad line in the middle, then two that are fine.
    await send(conn, new Uint8Array([...cp949, 0x0a]));
    await send(conn, new Uint8Array([0x61, 0x2c, 0x20, 0x31, 0x0a, 0x62, 0x2c, 0x20, ...cp949]));
    await send(conn, "\nc, 3\n\nPONG\n1\n");
    await readRawLines(conn, 1);
    await send(conn, "Success!\n");
  });
  await using kv = await KvClient.connect({ port: server.port });
  const [get, list, ping, last] = [
    kv.request("GET, a"),
    kv.request("LIST"),
    kv.request("PING"),
    kv.request("GET, b"),
  ].map((answer) => answer.then((lines) => lines, (error: Error) => error));
  assertInstanceOf(await get, KvAnswerError);
  assertInstanceOf(await list, KvAnswerError, "the LIST took its lines up to the empty one");
  assertEquals(await ping, ["PONG"]);
  assertEquals(await last, ["1"]);
  assertEquals(await kv.request("PUT, a, 1"), ["Success!"]);
  await server.done;
});

Deno.test("KvClient: a lone Error: line that is not UTF-8 ends a LIST, so the answers after it stay in step", async () => {
  // "Error: 없는 명령" (no such command) in cp949: a Korean server's error to a LIST, one line.
  const cp949 = [0xbe, 0xf8, 0xb4, 0xc2, 0x20, 0xb8, 0xed, 0xb7, 0xc9];
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 2);
    await send(conn, new Uint8Array([...encoder.encode("Error: "), ...cp949, 0x0a]));
    await send(conn, "PONG\n");
    await readAll(conn);
  });
  // Without the fix the LIST took PONG as a pair and waited for an empty line.
  await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 2_000 });
  const [list, ping] = [kv.request("LIST"), kv.request("PING")]
    .map((answer) => answer.then((lines) => lines, (error: Error) => error));
  assertInstanceOf(await list, KvAnswerError);
  assertEquals(await ping, ["PONG"]);
});

Deno.test("KvClient: an answer line that is not UTF-8 with no request waiting for it fails the connection", async () => {
  await using server = scriptedServer(async (conn) => {
    await send(conn, new Uint8Array([0xff, 0x0a]));
    await readAll(conn);
  });
  await using kv = await KvClient.connect({ port: server.port });
  await kv.ended;
  const error = await assertRejects(() => kv.ping(), KvConnectionError);
  assertStringIncludes(error.message, 'sent an answer line that is not UTF-8: "\\xff"');
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

Deno.test("KvClient answers decode across chunk boundaries inside a character", async () => {
  const answer = encoder.encode("윤영준\n");
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    for (const byte of answer) {
      await send(conn, new Uint8Array([byte]));
    }
  });
  await using kv = await KvClient.connect({ port: server.port });
  assertEquals(await kv.get("이름"), decoder.decode(answer).trimEnd());
  await server.done;
});

Deno.test("KvClient answers with an error line the server sent before closing, even after the close", async () => {
  // How a server over its connection limit answers: one line, then close.
  await using server = scriptedServer(async (conn) => {
    await send(conn, "Error: too many connections\n");
    await conn.closeWrite();
    // The client closes its side once it has read the end of the stream.
    assertEquals(await conn.read(new Uint8Array(16)), null);
  });
  await using kv = await KvClient.connect({ port: server.port });
  await server.done; // The client has seen the line and the close, with no request waiting.
  assertEquals(await kv.request("PING"), ["Error: too many connections"]);
  await assertRejects(() => kv.ping(), KvConnectionError, "connection closed by");
});

Deno.test("KvClient: an answer timeout past setTimeout's 24.8 days waits, not fires at once", async () => {
  // A slow server: 20 ms per answer. A timer of 3e9 ms left uncapped fires after 1 ms.
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await send(conn, "PONG\n");
  });
  await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 3e9 });
  await kv.ping();
  await server.done;
});

Deno.test("KvClient: a server that sends bytes without end and never a \\n still times out", async () => {
  // A textbook loop that goes on once recv() returns b"": it answers the
  // end of the requests with an error, again and again, with no \n.
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    for (let i = 0; i < 200; i++) {
      await send(conn, "Wrong request!");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
  await using kv = await KvClient.connect({
    port: server.port,
    answerTimeoutMs: 300,
    answerPauseMs: 100,
  });
  const error = await assertRejects(() => kv.ping(), KvTimeoutError);
  assert(error.flowing, "the bytes were still coming");
  assert(decoder.decode(error.received).startsWith("Wrong request!Wrong request!"));
  assertStringIncludes(error.message, "no whole answer");
});

Deno.test("KvClient: a stall of its own process is not the server's silence", async (t) => {
  // The answer (or its rest) arrives while the process is stalled (a busy
  // loop here; a loaded machine in life) past the timer: when the process
  // runs again, the timer is due and the bytes are there.
  await t.step("the answer timeout", async () => {
    await using server = scriptedServer(async (conn) => {
      await readRawLines(conn, 1);
      await send(conn, "PONG\n");
      stallUntil(Date.now() + 300);
    });
    await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 100 });
    assertEquals(await kv.request("PING"), ["PONG"]);
    await server.done;
  });
  await t.step("a textbook answer's pause", async () => {
    const waiting = Promise.withResolvers<void>();
    await using server = scriptedServer(async (conn) => {
      await readRawLines(conn, 1);
      await send(conn, "PO");
      await waiting.promise;
      await send(conn, "NG");
      stallUntil(Date.now() + 300);
    });
    await using kv = await KvClient.connect({
      port: server.port,
      answerTimeoutMs: 5_000,
      answerPauseMs: 100,
      // "PO" came: the client waits for the pause.
      trace: (event) => {
        if (event.event === "recv") waiting.resolve();
      },
    });
    assertEquals(await kv.request("PING"), ["PONG"]);
    await server.done;
  });
});

Deno.test("KvClient: a server that floods bytes without a \\n times out, however fast they come", async () => {
  // 64 KiB every 5 ms, far more than the timeout lets pass as progress
  // each time (and far from the 256 MiB a line may hold): byte progress
  // counts for ten timeouts, then the wait ends. The timeout is long enough
  // that a loaded machine's late timers still leave the last bytes in its
  // final quarter ("flowing").
  const chunk = "Wrong request!".repeat(4681);
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    try {
      for (;;) {
        await send(conn, chunk);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } catch {
      // The client gave up and closed: the flood ends.
    }
  });
  await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 400 });
  const started = performance.now();
  const error = await assertRejects(() => kv.ping(), KvTimeoutError);
  assert(error.flowing, "the bytes were still coming");
  assert(performance.now() - started >= 4000, "bytes counted as progress for ten timeouts");
  // The message says how long it really waited, not the 0.4 s of one timeout.
  assertMatch(
    error.message,
    /^no whole answer from 127\.0\.0\.1:\d+ in [4-9]\.\d s: bytes came without a \\n, and each 64 KiB restarted the 0\.4 s timeout$/,
  );
});

Deno.test("KvClient: a long answer line that arrives slowly but steadily does not time out", async () => {
  const value = "v".repeat(224 * 1024);
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    // 32 KiB every 80 ms: 64 KiB of the line (progress) within every 300 ms, the whole in 560.
    for (let at = 0; at < value.length; at += 32 * 1024) {
      await send(conn, value.slice(at, at + 32 * 1024));
      await new Promise((resolve) => setTimeout(resolve, 80));
    }
    await send(conn, "\n");
  });
  await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 300 });
  assertEquals(await kv.get("big"), value);
});

Deno.test("KvClient: one late answer without \\n times out as silence, not as a server that sends without end", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await send(conn, "PONG");
    while (await conn.read(new Uint8Array(64)) !== null);
  });
  await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 200 });
  const error = await assertRejects(() => kv.ping(), KvTimeoutError);
  assertEquals(error.flowing, false);
  assertEquals(decoder.decode(error.received), "PONG");
});

Deno.test("KvClient.list() on a server with a password, before AUTH: KvServerError, not a hang", async () => {
  await using server = startTestServer({ password: "s3cret" });
  await using kv = await KvClient.connect({ port: server.port });
  await assertRejects(() => kv.list(), KvServerError, "authentication required");
  // Still in step: the next answer is PING's own (the same error, before AUTH), not a stray line.
  await assertRejects(() => kv.ping(), KvServerError, "authentication required");
});

Deno.test("KvClient.connect() with TLS gives up on a handshake that never comes", async () => {
  // A plain TCP server that accepts and says nothing: no TLS handshake. It
  // closes once the client gave up (Deno keeps the socket of a TLS
  // connection closed during its handshake open, so the client cannot end
  // it), or after 5 s: a client that waited for that close fails below.
  const gaveUp = Promise.withResolvers<void>();
  let serverClosed = false;
  await using server = scriptedServer(async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      gaveUp.promise,
      new Promise((resolve) => timer = setTimeout(resolve, 5_000)),
    ]);
    clearTimeout(timer);
    serverClosed = true;
  });
  await assertRejects(
    () => KvClient.connect({ port: server.port, tls: {}, connectTimeoutMs: 200 }),
    KvConnectionError,
    "timed out",
  );
  assertEquals(serverClosed, false, "the client gave up before the server closed");
  gaveUp.resolve();
});

Deno.test("KvClient.connect() with TLS to a certificate it does not trust fails, and leaks nothing", async () => {
  await using server = startTestServer({ tls: { cert: TEST_CERT, key: TEST_KEY } });
  await assertRejects(
    () => KvClient.connect({ port: server.port, tls: {} }),
    KvConnectionError,
    "give it with --tls-ca FILE",
  );
});

Deno.test("KvClient.connect() with TLS to a server without it says the server does not speak TLS", async () => {
  await using server = startTestServer();
  await assertRejects(
    () => KvClient.connect({ port: server.port, tls: {} }),
    KvConnectionError,
    "the server does not speak TLS: connect without --tls and --tls-ca, or without the tls option",
  );
  await using plain = await KvClient.connect({ port: server.port });
  await plain.ping(); // Without TLS, as the hint says, it answers.
});

Deno.test("KvClient.connect() with a password gives up on a server that never answers AUTH", async () => {
  await using server = scriptedServer(async (conn) => {
    while (await conn.read(new Uint8Array(64)) !== null);
  });
  await assertRejects(
    () => KvClient.connect({ port: server.port, password: "pw", connectTimeoutMs: 200 }),
    KvConnectionError,
    "no answer to AUTH in time",
  );
});
