/**
 * Redis clients on kv's port, over real sockets (PROTOCOL.md, Redis clients):
 * the first byte picks the protocol, both see one store, pairs the line
 * protocol cannot show are refused or left out, expiry by a clock the test
 * moves, protocol errors close, limits hold, and a real Redis client library
 * (node-redis, through npm) works against an in-process kv.
 */

import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { createClient } from "@redis/client";
import { ManualClock } from "../store/clock.ts";
import { MemoryStore } from "../store/memory.ts";
import { serve } from "../server/serve.ts";
import { ask, ObservedStore, RawConn, startTestServer, within } from "../testing/mod.ts";

const encoder = new TextEncoder();

function resp(...words: string[]): string {
  return `*${words.length}\r\n${
    words.map((w) => `$${encoder.encode(w).length}\r\n${w}\r\n`).join("")
  }`;
}

/** A RESP command of raw bytes (words may hold any byte). */
function respBytes(...words: (string | Uint8Array)[]): Uint8Array {
  const parts: number[] = [...encoder.encode(`*${words.length}\r\n`)];
  for (const word of words) {
    const bytes = typeof word === "string" ? encoder.encode(word) : word;
    parts.push(...encoder.encode(`$${bytes.length}\r\n`), ...bytes, 13, 10);
  }
  return Uint8Array.from(parts);
}

/** Sends RESP commands on a raw connection and reads `lines` reply lines. */
async function talk(conn: RawConn, words: string[][], lines: number): Promise<string[]> {
  await conn.send(words.map((w) => resp(...w)).join(""));
  return (await conn.readLines(lines)).map((line) => line.replace(/\r$/, ""));
}

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
  const clock = new ManualClock();
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

Deno.test("serve() runs MULTI ... EXEC as one, queued in a read buffer that is reused meanwhile", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  // One write: the queued commands' bytes are in the read buffer that the
  // next requests overwrite; EXEC must run the copies it kept.
  const queued = Array.from({ length: 50 }, (_, i) => resp("SET", `k${i}`, `v${i}`)).join("");
  await conn.send(
    resp("MULTI") + queued + resp("INCR", "n") + resp("EXEC") + resp("MGET", "k0", "k49", "n"),
  );
  const replies = await talk(conn, [], 111);
  assertEquals(replies.slice(0, 53), ["+OK", ...Array(51).fill("+QUEUED"), "*51"]);
  assertEquals(replies.slice(53, 103), Array(50).fill("+OK"));
  assertEquals(replies.slice(103), [":1", "*3", "$2", "v0", "$3", "v49", "$1", "1"]);
});

Deno.test("serve() discards a whole transaction a command of which could not be queued (nothing of it runs)", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  await conn.send(
    resp("SET", "c", "10") + resp("MULTI") + resp("INCR", "c") + resp("NOSUCH") + resp("EXEC") +
      resp("GET", "c"),
  );
  assertEquals(await talk(conn, [], 7), [
    "+OK",
    "+OK",
    "+QUEUED",
    "-ERR unknown command 'NOSUCH', with args beginning with: ",
    "-EXECABORT Transaction discarded because of previous errors.",
    "$2",
    "10",
  ]);
});

// Subcommands kv's CLIENT, COMMAND and CONFIG have not, or with the wrong
// number of arguments, and Redis 7.0's error for each (checked against
// redis-server 7.0.15): Redis refuses them when MULTI would queue them.
const WRONG_SUBCOMMANDS: [string[], string][] = [
  [["CLIENT", "FOO"], "-ERR unknown subcommand 'FOO'. Try CLIENT HELP."],
  [["COMMAND", "FOO"], "-ERR unknown subcommand 'FOO'. Try COMMAND HELP."],
  [["CONFIG", "FOO"], "-ERR unknown subcommand 'FOO'. Try CONFIG HELP."],
  [["client", "foo"], "-ERR unknown subcommand 'foo'. Try CLIENT HELP."],
  [["CONFIG", "SET", "x", "y"], "-ERR unknown subcommand 'SET'. Try CONFIG HELP."],
  [["CLIENT", "SETNAME"], "-ERR wrong number of arguments for 'client|setname' command"],
  [["CLIENT", "ID", "x"], "-ERR wrong number of arguments for 'client|id' command"],
  [["client", "Id", "x"], "-ERR wrong number of arguments for 'client|id' command"],
  [["CLIENT", "GETNAME", "x"], "-ERR wrong number of arguments for 'client|getname' command"],
  [["CLIENT", "INFO", "x"], "-ERR wrong number of arguments for 'client|info' command"],
  [["CLIENT", "HELP", "x"], "-ERR wrong number of arguments for 'client|help' command"],
  [["COMMAND", "COUNT", "x"], "-ERR wrong number of arguments for 'command|count' command"],
  [["COMMAND", "HELP", "x"], "-ERR wrong number of arguments for 'command|help' command"],
  [["CONFIG", "GET"], "-ERR wrong number of arguments for 'config|get' command"],
  [["CONFIG", "HELP", "x"], "-ERR wrong number of arguments for 'config|help' command"],
];

Deno.test("serve() refuses in MULTI a CLIENT, COMMAND or CONFIG subcommand it has not, or of the wrong arity, and EXEC discards all, byte for byte as Redis 7.0", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  // The differential test's request, and Redis's answer to it.
  await conn.send(
    "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$6\r\nCONFIG\r\n" +
      "$3\r\nFOO\r\n*1\r\n$4\r\nEXEC\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n",
  );
  const redis = "+OK\r\n+QUEUED\r\n-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n" +
    "-EXECABORT Transaction discarded because of previous errors.\r\n$-1\r\n";
  assertEquals((await conn.readLines(5)).map((line) => `${line}\n`).join(""), redis);
  // Each of them, in a transaction of its own between two commands that could run.
  const expected: string[] = [];
  for (const [words, error] of WRONG_SUBCOMMANDS) {
    await conn.send(
      resp("MULTI") + resp("SET", "a", "1") + resp(...words) + resp("SET", "a", "2") +
        resp("EXEC") + resp("GET", "a"),
    );
    expected.push(
      "+OK",
      "+QUEUED",
      error,
      "+QUEUED",
      "-EXECABORT Transaction discarded because of previous errors.",
      "$-1",
    );
  }
  await conn.send(resp("PING"));
  assertEquals(await talk(conn, [], expected.length + 1), [...expected, "+PONG"]);
});

Deno.test("serve() queues in MULTI the CLIENT, COMMAND and CONFIG subcommands it has, and EXEC runs them", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  const replies = await talk(conn, [
    ["MULTI"],
    ["CLIENT", "SETNAME", "me"],
    ["client", "getname"],
    ["CONFIG", "GET", "nosuch"],
    ["CLIENT", "SETINFO", "LIB-NAME", "x"],
    ["COMMAND", "COUNT"],
    ["EXEC"],
  ], 13);
  assertEquals(replies.slice(0, 7), ["+OK", ...Array(5).fill("+QUEUED"), "*5"]);
  assertEquals(replies.slice(7, 12), ["+OK", "$2", "me", "*0", "+OK"]);
  assertMatch(replies[12]!, /^:[1-9][0-9]*$/);
});

Deno.test("a Redis client library's multi() runs its commands together, and a failed one runs none", async () => {
  await using server = startTestServer();
  const client = createClient({ socket: { host: "127.0.0.1", port: server.port } });
  await client.connect();
  try {
    await client.set("balance", "100");
    assertEquals(
      await client.multi().decrBy("balance", 30).incrBy("other", 30).get("balance").exec(),
      [70, 30, "70"],
    );
    // A transaction with a command kv does not know is discarded whole.
    await assertRejects(() => client.multi().decrBy("balance", 30).addCommand(["NOSUCH"]).exec());
    assertEquals(await client.get("balance"), "70");
    assertEquals(await client.get("other"), "30");
  } finally {
    await client.quit();
  }
});

Deno.test("serve() WATCH: a change by another client, over either protocol, voids EXEC; no change, no harm", async (t) => {
  await using server = startTestServer();
  await using redis = await RawConn.connect(server.port);
  await using other = await RawConn.connect(server.port);
  const exec = async (change: () => Promise<void>) => {
    assertEquals(await talk(redis, [["WATCH", "k"]], 1), ["+OK"]);
    await change();
    const replies = await talk(redis, [["MULTI"], ["SET", "k", "mine"], ["EXEC"]], 3);
    // A transaction that ran has its one reply to come.
    return replies.at(-1) === "*1" ? [...replies, ...await talk(redis, [], 1)] : replies;
  };
  await t.step("a line client's PUT", async () => {
    await using line = await RawConn.connect(server.port);
    assertEquals(
      await exec(async () => {
        await line.send("PUT, k, theirs\n");
        assertEquals(await line.readLines(1), ["Success!"]);
      }),
      ["+OK", "+QUEUED", "*-1"],
    );
    assertEquals(await ask(server.port, "GET, k"), "theirs");
  });
  await t.step("a Redis client's SET NX that does not set changes nothing", async () => {
    assertEquals(
      await exec(async () => {
        assertEquals(await talk(other, [["SET", "k", "x", "NX"]], 1), ["$-1"]);
      }),
      ["+OK", "+QUEUED", "*1", "+OK"],
    );
  });
  await t.step("FLUSHALL changes the keys that existed", async () => {
    assertEquals(
      await exec(async () => {
        assertEquals(await talk(other, [["FLUSHALL"]], 1), ["+OK"]);
      }),
      ["+OK", "+QUEUED", "*-1"],
    );
  });
  await t.step(
    "only what a command changed counts: DEL k b deletes b alone, GETEX PERSIST of no expiry, a FLUSHALL refused",
    async () => {
      const cases: [string[], string[], number][] = [
        [["SET", "b", "1"], ["DEL", "k", "b"], 1],
        [["SET", "k", "1"], ["GETEX", "k", "PERSIST"], 2],
        [["SET", "k", "1"], ["FLUSHALL", "bogus"], 1],
      ];
      for (const [before, change, lines] of cases) {
        await talk(other, [["DEL", "k"], before], 2);
        const replies = await exec(async () => {
          await talk(other, [change], lines);
        });
        assertEquals(replies, ["+OK", "+QUEUED", "*1", "+OK"], change.join(" "));
      }
    },
  );
  await t.step("a watcher that disconnects leaves nothing behind", async () => {
    {
      await using gone = await RawConn.connect(server.port);
      assertEquals(await talk(gone, [["WATCH", "a", "b"]], 1), ["+OK"]);
    }
    assertEquals(await talk(other, [["SET", "a", "1"], ["GET", "a"]], 3), ["+OK", "$1", "1"]);
  });
});

Deno.test("a Redis client library's WATCH ... MULTI: EXEC fails when the key changed, and runs when it did not", async () => {
  await using server = startTestServer();
  const client = createClient({ socket: { host: "127.0.0.1", port: server.port } });
  await client.connect();
  try {
    await client.set("stock", "10");
    const buy = () =>
      client.executeIsolated(async (isolated) => {
        await isolated.watch("stock");
        const stock = Number(await isolated.get("stock"));
        await client.set("stock", String(stock)); // Another client writes meanwhile (the same value).
        return await isolated.multi().set("stock", String(stock - 1)).exec();
      });
    await assertRejects(buy); // node-redis: WatchedKeysChangedError.
    assertEquals(await client.get("stock"), "10");
    const calm = await client.executeIsolated(async (isolated) => {
      await isolated.watch("stock");
      return await isolated.multi().decr("stock").exec();
    });
    assertEquals(calm, [9]);
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
