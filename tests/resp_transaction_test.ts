/**
 * Redis's transactions on kv's port, over real sockets (PROTOCOL.md, Redis
 * clients): MULTI ... EXEC runs as one, a command that cannot be queued
 * (a CLIENT, COMMAND or CONFIG subcommand kv has not, too) discards the
 * whole transaction byte for byte as Redis 7.0 does, WATCH voids EXEC when
 * another client changes a key over either protocol (and an embedder's own
 * listener on the store hears every change meanwhile), and a real Redis
 * client library (node-redis, through npm) runs multi() and WATCH.
 */

import { assertEquals, assertMatch, assertRejects } from "@std/assert";
import { createClient } from "@redis/client";
import { ask, FakeFs, RawConn, startTestServer } from "../testing/mod.ts";
import { openTestLog } from "../testing/log_store.ts";
import { ManualClock } from "../store/clock.ts";
import { MemoryStore } from "../store/memory.ts";
import type { ChangeListener, Store } from "../store/store.ts";
import { resp, talk } from "../testing/resp.ts";

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

Deno.test("serve() CLIENT INFO inside EXEC shows the transaction as Redis 7.0 does: flags=x multi=N cmd=exec", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  // Redis 7.0.15: `flags=x ... multi=3 ... cmd=exec` inside EXEC, and
  // `flags=N ... multi=-1 ... cmd=client|info` again once it has ended.
  const replies = await talk(conn, [
    ["MULTI"],
    ["SET", "k", "v"],
    ["CLIENT", "INFO"],
    ["GET", "k"],
    ["EXEC"],
    ["CLIENT", "INFO"],
  ], 14);
  assertEquals(replies.slice(0, 6), ["+OK", ...Array(3).fill("+QUEUED"), "*3", "+OK"]);
  const inside = replies[7]!;
  assertMatch(inside, / flags=x db=0 sub=0 psub=0 ssub=0 multi=3 /);
  assertMatch(inside, / cmd=exec user=default /);
  // The line ends with "\n" inside its bulk string, hence an empty line.
  assertEquals(replies.slice(8, 11), ["", "$1", "v"]);
  const after = replies[12]!;
  assertMatch(after, / flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 /);
  assertMatch(after, / cmd=client\|info user=default /);
});

Deno.test("serve() CLIENT INFO shows flags=d once another connection changed a watched key, as Redis 7.0 does", async () => {
  await using server = startTestServer();
  await using watcher = await RawConn.connect(server.port);
  await using writer = await RawConn.connect(server.port);
  const flags = async () => {
    const [, line] = await talk(watcher, [["CLIENT", "INFO"]], 3);
    return / flags=(\w+) /.exec(line!)?.[1];
  };
  // Redis 7.0.15, checked by hand: `d` (CLIENT_DIRTY_CAS) from the write
  // on, until UNWATCH, DISCARD or EXEC; a watch nobody touched stays `N`.
  assertEquals(await talk(watcher, [["WATCH", "k"]], 1), ["+OK"]);
  assertEquals(await flags(), "N");
  assertEquals(await talk(writer, [["SET", "k", "1"]], 1), ["+OK"]);
  assertEquals(await flags(), "d");
  assertEquals(await talk(watcher, [["WATCH", "j"]], 1), ["+OK"]);
  assertEquals(await flags(), "d");
  assertEquals(await talk(watcher, [["UNWATCH"]], 1), ["+OK"]);
  assertEquals(await flags(), "N");
  assertEquals(await talk(watcher, [["WATCH", "k"]], 1), ["+OK"]);
  assertEquals(await talk(writer, [["DEL", "k"]], 1), [":1"]);
  assertEquals(await flags(), "d");
  assertEquals(await talk(watcher, [["MULTI"], ["EXEC"]], 2), ["+OK", "*-1"]);
  assertEquals(await flags(), "N");
});

Deno.test("serve() CLIENT INFO shows flags=d once a watched key has expired, as Redis 7.0 does once it reclaims it", async () => {
  const clock = new ManualClock();
  await using server = startTestServer({ clock });
  await using conn = await RawConn.connect(server.port);
  const flags = async () => {
    const [, line] = await talk(conn, [["CLIENT", "INFO"]], 3);
    return / flags=(\w+) /.exec(line!)?.[1];
  };
  // Redis 7.0.15: a watched key that expires is deleted (by its active
  // expiry, within 100 ms) as a change, CLIENT_DIRTY_CAS: `flags=d`. One that
  // had expired already when watched is no change: `N`.
  assertEquals(await talk(conn, [["SET", "k", "v", "PX", "100"], ["WATCH", "k"]], 2), [
    "+OK",
    "+OK",
  ]);
  assertEquals(await flags(), "N");
  clock.advance(200);
  assertEquals(await flags(), "d");
  assertEquals(await talk(conn, [["UNWATCH"], ["WATCH", "k"]], 2), ["+OK", "+OK"]);
  assertEquals(await flags(), "N");
  assertEquals(await talk(conn, [["MULTI"], ["EXEC"]], 2), ["+OK", "*0"]);
});

Deno.test("serve() WATCH hands every change on to the store's own listener, and puts it back after", async (t) => {
  // The server set its own listener at the first WATCH and none after the
  // last: an embedder's listener on a served store went deaf without a word.
  const makers: [string, () => Promise<Store>][] = [
    ["MemoryStore", () => Promise.resolve(new MemoryStore())],
    ["LogStore", () => openTestLog(new FakeFs())],
  ];
  for (const [name, make] of makers) {
    await t.step(name, async () => {
      const store = await make();
      const heard: string[] = [];
      const mine: ChangeListener = {
        keyChanged: (key, start, end) =>
          heard.push(new TextDecoder().decode(key.slice(start, end))),
        changedAll: () => heard.push("*"),
      };
      store.listen!(mine);
      {
        await using server = startTestServer({ store });
        await using watcher = await RawConn.connect(server.port);
        await using other = await RawConn.connect(server.port);
        await other.send("PUT, before, 1\n");
        assertEquals(await other.readLine(), "Success!");
        assertEquals(await talk(watcher, [["WATCH", "w"], ["MULTI"], ["SET", "y", "1"]], 3), [
          "+OK",
          "+OK",
          "+QUEUED",
        ]);
        await other.send("PUT, w, 1\n");
        assertEquals(await other.readLine(), "Success!");
        assertEquals(await talk(watcher, [["EXEC"]], 1), ["*-1"], "WATCH still works");
        assertEquals(store.listener, mine, "put back once nothing is watched");
        await other.send("PUT, after, 1\n");
        assertEquals(await other.readLine(), "Success!");
        assertEquals(await talk(watcher, [["WATCH", "w"], ["FLUSHALL"]], 2), ["+OK", "+OK"]);
      }
      assertEquals(heard, ["before", "w", "after", "*"]);
      assertEquals(store.listener, mine, "the watcher's connection ended: put back");
      await (store as { close?: () => Promise<void> }).close?.();
    });
  }
});

Deno.test("serve() bounds what a connection WATCHes: past 16 MiB of keys a WATCH is refused, and the next EXEC runs nothing", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  await using other = await RawConn.connect(server.port);
  // 15 keys of 64 KiB a WATCH (960 KiB, under the 1 MiB a request may hold).
  const watch = (n: number) =>
    resp("WATCH", ...Array.from({ length: 15 }, (_, i) => `${n}:${i}:`.padEnd(65_536, "k")));
  const answers: string[] = [];
  for (let n = 0; n < 20; n++) {
    await conn.send(watch(n));
    const [answer] = await conn.readLines(1);
    answers.push(answer!.replace(/\r$/, ""));
    if (answer!.startsWith("-")) break;
  }
  // 16 of them watch 240 keys of 64 KiB and half a KiB: 15.1 MiB. The 17th would pass 16 MiB.
  assertEquals(answers, [
    ...Array(16).fill("+OK"),
    "-ERR kv: a connection may watch at most 16 MiB of keys",
  ]);
  // The refused WATCH watched none of its keys, and it voids the next EXEC,
  // as a change would: a client that goes on without heeding the error.
  await conn.send(resp("MULTI") + resp("SET", "k", "v") + resp("EXEC") + resp("EXISTS", "k"));
  assertEquals(await talk(conn, [], 4), ["+OK", "+QUEUED", "*-1", ":0"]);
  // EXEC let go of what it watched: it may watch as much again, and another connection as much.
  await conn.send(watch(0));
  assertEquals(await talk(conn, [], 1), ["+OK"]);
  await other.send(watch(0));
  assertEquals(await talk(other, [], 1), ["+OK"]);
});
