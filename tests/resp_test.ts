/**
 * Redis clients on kv's port, over real sockets (PROTOCOL.md, Redis clients):
 * the first byte picks the protocol, both see one store, pairs the line
 * protocol cannot show are refused or left out, expiry by a clock the test
 * moves, protocol errors close, limits hold, and a real Redis client library
 * (node-redis, through npm) works against an in-process kv. Transactions
 * (MULTI, EXEC, WATCH) are in resp_transaction_test.ts.
 */

import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { createClient } from "@redis/client";
import { ManualClock } from "../store/clock.ts";
import { MemoryStore } from "../store/memory.ts";
import { TextStore } from "../store/text.ts";
import { serve } from "../server/serve.ts";
import { ask, ObservedStore, RawConn, startTestServer, within } from "../testing/mod.ts";
import { resp, respBytes, talk } from "../testing/resp.ts";

const encoder = new TextEncoder();

Deno.test("serve() speaks RESP to a connection whose first byte is *, and lines to any other", async () => {
  await using server = startTestServer();
  await using redis = await RawConn.connect(server.port);
  assertEquals(await talk(redis, [["PING"], ["SET", "k", "v"], ["GET", "k"]], 4), [
    "+PONG",
    "+OK",
    "$1",
    "v",
  ]);
  // The same connection stays RESP: an inline command is Redis's, not a line request.
  await redis.send("PING\r\n");
  assertEquals(await redis.readLine(), "+PONG\r");
  assertEquals(await ask(server.port, "GET, k"), "v");
  assertEquals(await ask(server.port, "PING"), "PONG");
});

Deno.test("serve() shows both protocols one store, and the line protocol only the pairs it can show", async () => {
  await using server = startTestServer();
  await using line = await RawConn.connect(server.port);
  await using redis = await RawConn.connect(server.port);
  await line.send("PUT, greeting, hello, world\nPUT, cr, c\rd\n");
  assertEquals(await line.readLines(2), ["Success!", "Success!"]);
  assertEquals(await talk(redis, [["GET", "greeting"]], 2), ["$12", "hello, world"]);
  // A value a line client stored reads back as it was stored (version 1).
  await line.send("GET, cr\n");
  assertEquals(await line.readLine(), "c\rd");
  // Values and keys a Redis client stored that no line can carry.
  await redis.send(respBytes("SET", "binary", new Uint8Array([0xff, 0xfe])));
  await redis.send(
    resp("SET", "multi", "a\nb") + resp("SET", "ret", "a\rb") + resp("SET", "plain", "text 값") +
      resp("SET", "a,b", "comma in key") + resp("SET", "", "empty key"),
  );
  assertEquals(await redis.readLines(6), Array(6).fill("+OK\r"));
  for (const key of ["binary", "multi", "ret"]) {
    await line.send(`GET, ${key}\n`);
    const answer = (await line.readLine())!;
    assert(answer.startsWith("Error: value is not one line of UTF-8 text"), answer);
  }
  await line.send("GET, plain\nLIST\n");
  assertEquals(await line.readLine(), "text 값");
  assertEquals((await line.readList()).toSorted(), [
    "cr, c\rd",
    "greeting, hello, world",
    "plain, text 값",
  ]);
  // Binary keys and values are kept as they are for Redis clients.
  const key = new Uint8Array([0, 255, 10, 13, 44]);
  await redis.send(respBytes("SET", key, key));
  assertEquals(await redis.readLine(), "+OK\r");
  await redis.send(respBytes("GET", key));
  assertEquals(await redis.readLine(), "$5\r");
  assertEquals(await redis.readLine(), "\0\ufffd"); // the bytes 0 255 10, as far as the \n
  assertEquals(await redis.readLine(), "\r,\r");
});

Deno.test("serve() expires keys by its clock for both protocols, and reclaims them unread", async () => {
  // A clock of its own, not a ManualClock: whose advance() reclaims at once (the test after).
  let now = Date.now();
  const clock = { now: () => now, advance: (ms: number) => now += ms };
  const store = new ObservedStore(new MemoryStore({ clock }));
  await using server = startTestServer({ store, clock });
  await using redis = await RawConn.connect(server.port);
  await using line = await RawConn.connect(server.port);
  assertEquals(
    await talk(redis, [["SET", "soon", "v", "PX", "1000"], ["SET", "unread", "v", "EX", "1"], [
      "PTTL",
      "soon",
    ]], 3),
    ["+OK", "+OK", ":1000"],
  );
  await line.send("GET, soon\n");
  assertEquals(await line.readLine(), "v");
  clock.advance(1000);
  await line.send("GET, soon\nLIST\n");
  assertEquals(await line.readLines(3), ["Not exist!", "Not exist!", ""]);
  assertEquals(await talk(redis, [["GET", "soon"], ["EXISTS", "unread"], ["KEYS", "*"]], 3), [
    "$-1",
    ":0",
    "*0",
  ]);
  // "unread" was never read after its time: the active cycle removes it.
  const swept = Promise.withResolvers<void>();
  store.onSweep = () => {
    if (store.size === 0) swept.resolve();
  };
  await within("the active expiry cycle", swept.promise);
  assertEquals(store.size, 0);
});

Deno.test("serve() on a ManualClock reclaims what advance() expired at once: DBSIZE and INFO count none", async () => {
  const clock = new ManualClock();
  const store = new ObservedStore(new MemoryStore({ clock }));
  await using server = startTestServer({ store, clock });
  await using redis = await RawConn.connect(server.port);
  const sets = Array.from({ length: 100 }, (_, i) => ["SET", `k${i}`, "v", "PX", `${i + 1}`]);
  assertEquals(await talk(redis, [...sets, ["SET", "stays", "v"]], 101), Array(101).fill("+OK"));
  clock.advance(50); // Synchronous: no timer of the server's ran since.
  assertEquals(store.size, 51);
  assertEquals(await talk(redis, [["DBSIZE"]], 1), [":51"]);
  const info = (await talk(redis, [["INFO", "keyspace"]], 4)).join("\n");
  assertStringIncludes(info, "db0:keys=51,expires=50,");
  clock.advance(1000);
  assertEquals(store.size, 1);
  assertEquals(await talk(redis, [["DBSIZE"], ["GET", "stays"]], 3), [":1", "$1", "v"]);
  await server.shutdown();
  // Stopped, the server no longer listens to the clock: what expires now stays until read.
  new TextStore(store).set("late", "v", { expireAtMs: clock.now() + 1 });
  clock.advance(1000);
  assertEquals(store.size, 2);
});

Deno.test("serve() counts TTLs by its store's clock when given none, and refuses a different one", async () => {
  // With two clocks, SET ... PX counted from one and expiry read the other: the key never expired.
  const clock = new ManualClock(1_000_000);
  await using server = startTestServer({ store: new MemoryStore({ clock }) });
  await using conn = await RawConn.connect(server.port);
  assertEquals(await talk(conn, [["SET", "s", "v", "PX", "5000"], ["PTTL", "s"]], 2), [
    "+OK",
    ":5000",
  ]);
  clock.advance(5000);
  assertEquals(await talk(conn, [["GET", "s"]], 1), ["$-1"]);
  assertThrows(
    () => serve({ port: 0, store: new MemoryStore({ clock }), clock: new ManualClock(0) }),
    RangeError,
    "Cannot use a clock other than the store's",
  );
});

Deno.test("a ManualClock moves by whole milliseconds and serve() refuses a fractional clock: no connection is killed by SET ... PX", async () => {
  // advance(0.5) was taken, and the next SET ... PX (BigInt of the time) threw
  // in the connection: every Redis client on the server lost its connection.
  const clock = new ManualClock(1_000_000);
  await using server = startTestServer({ clock });
  await using redis = await RawConn.connect(server.port);
  for (const bad of [0.5, 0.1 * 3 * 1000, -1, NaN, Infinity, 2 ** 53]) {
    assertThrows(() => clock.advance(bad), RangeError, `Cannot advance a clock by ${bad} ms`);
  }
  assertEquals(clock.now(), 1_000_000, "a refused move moves nothing");
  assertEquals(await talk(redis, [["SET", "s", "v", "PX", "1000"], ["PTTL", "s"]], 2), [
    "+OK",
    ":1000",
  ]);
  clock.advance(999);
  assertEquals(await talk(redis, [["PTTL", "s"], ["TIME"]], 4), [":1", "*2", "$4", "1000"]);
  for (const bad of [0.5, -1, NaN, 2 ** 53]) {
    assertThrows(() => new ManualClock(bad), RangeError, `Cannot start a clock at ${bad} ms`);
  }
  // A clock of one's own that shows a fraction is refused before binding.
  assertThrows(
    () => serve({ port: 0, clock: { now: () => 1_000_000.5 } }),
    RangeError,
    "Cannot use a clock whose now() is 1000000.5: expected whole milliseconds",
  );
});

Deno.test("serve() answers a broken RESP frame with Redis's protocol error, then closes", async () => {
  const LIMIT = " (limit 1024 bytes a request: --max-line-bytes)";
  await using server = startTestServer({ maxLineBytes: 1024 });
  for (
    const [raw, error] of [
      ["*1\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'"],
      ["*1\r\n$5000\r\n", `-ERR Protocol error: invalid bulk length${LIMIT}`], // over --max-line-bytes
      ["*x\r\n", "-ERR Protocol error: invalid multibulk length"],
      // Each string short, the whole request over --max-line-bytes; inline too.
      [
        resp("MSET", ...Array.from({ length: 200 }, (_, i) => `k${i}`)),
        `-ERR Protocol error: request too large${LIMIT}`,
      ],
      [`SET k ${"v".repeat(1100)}\r\n`, `-ERR Protocol error: request too large${LIMIT}`],
      ["*-99999999999999999999\r\n", "-ERR Protocol error: invalid multibulk length"],
    ]
  ) {
    await using conn = await RawConn.connect(server.port);
    await conn.send(resp("PING") + raw + resp("PING"));
    assertEquals(await conn.readToEnd(), `+PONG\r\n${error}\r\n`);
  }
  assertEquals(await ask(server.port, "PING"), "PONG");
});

Deno.test("serve() refuses a RESP header line with no end past 64 KiB, its * or $ counted, as Redis 7.0", async () => {
  // Redis counts the bytes from the line's first (the * or $), and errs once
  // they pass PROTO_INLINE_MAX_SIZE (65,536): at 65,537, not one byte later.
  await using server = startTestServer();
  const digits = (n: number) => "1".repeat(n);
  for (
    const [raw, error] of [
      [`*${digits(65536)}`, "too big mbulk count string"],
      [`*1\r\n$${digits(65536)}`, "too big bulk count string"],
      // One byte shorter is still a line that may end: here it ends, a number too long.
      [`*${digits(65535)}\r\n`, "invalid multibulk length"],
      [`*1\r\n$${digits(65535)}\r\n`, "invalid bulk length"],
    ] as const
  ) {
    await using conn = await RawConn.connect(server.port);
    await conn.send(resp("PING") + raw);
    assertEquals(
      await conn.readToEnd(),
      `+PONG\r\n-ERR Protocol error: ${error}\r\n`,
      raw.slice(0, 8),
    );
  }
});

Deno.test("serve() lets a Redis client still sending past the limit finish, so it reads the error", async () => {
  // redis-py and redis-cli write a whole request before they read: a
  // connection closed with its bytes unread is reset, and they saw a broken
  // pipe instead of the error.
  await using server = startTestServer({ maxLineBytes: 1024 });
  await using conn = await RawConn.connect(server.port);
  const value = new Uint8Array(4 * 1024 * 1024).fill(0x76);
  const request = new Uint8Array([
    ...encoder.encode(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n`),
    ...value,
    13,
    10,
  ]);
  const [, answer] = await Promise.all([conn.send(request), conn.readToEnd()]);
  assertEquals(
    answer,
    "-ERR Protocol error: invalid bulk length (limit 1024 bytes a request: --max-line-bytes)\r\n",
  );
  assertEquals(await ask(server.port, "GET, k"), "Not exist!");
});

Deno.test("serve() holds RESP connections to the same limits: connections and idle time", async () => {
  await using server = startTestServer({ maxConnections: 1, idleTimeoutMs: 200 });
  await using first = await RawConn.connect(server.port);
  assertEquals(await talk(first, [["PING"]], 1), ["+PONG"]);
  await using second = await RawConn.connect(server.port);
  assertEquals(await second.readToEnd(), "Error: too many connections\n");
  // Silent: the idle timeout closes it with no message.
  assertEquals(await first.readToEnd(), "");
});

Deno.test("serve() refuses a Redis client over --max-connections in Redis's words", async () => {
  await using server = startTestServer({ maxConnections: 1 });
  await using first = await RawConn.connect(server.port);
  assertEquals(await talk(first, [["PING"]], 1), ["+PONG"]);
  // redis-cli read the line protocol's "Error: ..." as a protocol error ("E").
  await using second = await RawConn.connect(server.port);
  await second.send(resp("PING"));
  assertEquals(await second.readToEnd(), "-ERR max number of clients reached\r\n");
  // A line client that says nothing yet still gets the line.
  await using third = await RawConn.connect(server.port);
  assertEquals(await third.readToEnd(), "Error: too many connections\n");
});

Deno.test("a Redis client library (node-redis) works against an in-process kv with a clock the test moves", async () => {
  const clock = new ManualClock();
  await using server = startTestServer({ clock });
  const client = createClient({ socket: { host: "127.0.0.1", port: server.port } });
  await client.connect();
  try {
    assertEquals(await client.ping(), "PONG");
    assertEquals(await client.set("session", "abc", { PX: 5000 }), "OK");
    assertEquals(await client.get("session"), "abc");
    assertEquals(await client.pTTL("session"), 5000);
    assertEquals(await client.incrBy("counter", 5), 5);
    assertEquals(await client.mGet(["session", "counter", "none"]), ["abc", "5", null]);
    assertEquals(await client.exists(["session", "counter"]), 2);
    clock.advance(5000);
    assertEquals(await client.get("session"), null);
    assertEquals((await client.keys("*")).toSorted(), ["counter"]);
    assertEquals(await client.dbSize(), 1);
    assertStringIncludes(await client.info("keyspace"), "db0:keys=1");
    const scanned: string[] = [];
    for await (const key of client.scanIterator({ MATCH: "c*", COUNT: 2 })) scanned.push(key);
    assertEquals(scanned, ["counter"]);
  } finally {
    await client.quit();
  }
});

Deno.test("serve(): CONFIG GET proto-max-bulk-len is the longest string a request can carry (--max-line-bytes)", async () => {
  await using server = startTestServer({ maxLineBytes: 4096 });
  await using conn = await RawConn.connect(server.port);
  await conn.send("*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$18\r\nproto-max-bulk-len\r\n");
  assertEquals(await conn.readLines(5), [
    "*2\r",
    "$18\r",
    "proto-max-bulk-len\r",
    "$4\r",
    "4096\r",
  ]);
});

Deno.test("serve() keeps a client name of at most 4 KiB: a longer one is refused, and the name stays", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  const most = "n".repeat(4096);
  assertEquals(await talk(conn, [["CLIENT", "SETNAME", most], ["CLIENT", "GETNAME"]], 3), [
    "+OK",
    "$4096",
    most,
  ]);
  const refused = "-ERR kv: a client name may hold at most 4096 bytes";
  // A name of 1 MB kept by each of 10,000 connections would be 10 GB no budget counts.
  assertEquals(
    await talk(conn, [
      ["CLIENT", "SETNAME", "x".repeat(4097)],
      ["HELLO", "3", "SETNAME", "y".repeat(1_000_000)],
      ["CLIENT", "GETNAME"],
    ], 4),
    [refused, refused, "$4096", most],
  );
  assertEquals(await talk(conn, [["CLIENT", "SETNAME", "short"], ["CLIENT", "GETNAME"]], 3), [
    "+OK",
    "$5",
    "short",
  ]);
});
