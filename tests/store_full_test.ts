/**
 * Tests of a full store (PROTOCOL.md, Limits: the store's size), over real
 * sockets on port 0: a write the store has no room for fails alone, in the
 * line protocol's words and in Redis's (OOM), changes nothing (an MSET none
 * of its keys, in memory and in the log), and the server goes on.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import { ManualClock } from "../store/clock.ts";
import { MemoryStore } from "../store/memory.ts";
import { StoreFullError } from "../store/store.ts";
import { logContents, openTestLog } from "../testing/log_store.ts";
import { FakeFs, LogCollector, RawConn, resp, startTestServer, within } from "../testing/mod.ts";

// A store this small fills with a few values of a few KiB.
const CAP = 4096;
// Redis's answer to a write it has no room for, as RawConn reads the line.
const OOM = "-OOM command not allowed when used memory > 'maxmemory'.\r";

Deno.test("serve() answers a PUT the store has no room for with one Error line, and goes on", async () => {
  const store = new MemoryStore({ maxArenaBytes: CAP });
  const logs = new LogCollector();
  await using server = startTestServer({ store, log: logs.log });
  await using conn = await RawConn.connect(server.port);
  const big = "x".repeat(3000);
  await conn.send(`PUT, a, ${big}\nPUT, b, ${big}\nPUT, a, ${big}y\nGET, a\nPING\n`);
  const [first, second, third, ...rest] = await within("answers", conn.readLines(5));
  assertEquals(first, "Success!");
  assert(second?.startsWith("Error: ") && second.includes("full"), second);
  assertEquals(third, second, "an overwrite that does not fit fails the same way");
  assertEquals(rest, [big, "PONG"]);
  assertEquals(logs.errors(), []);
  await conn.send("DELETE, a\nPUT, b, 1\nLIST\n");
  assertEquals(await within("room again", conn.readLines(4)), ["Success!", "Success!", "b, 1", ""]);
});

Deno.test("serve() answers a Redis write the store has no room for with one OOM error, SET ... GET too", async () => {
  // As Redis rejects a denyoom command when it is out of memory: the error
  // alone, not the old value and then the error (two replies to one command).
  const store = new MemoryStore({ maxArenaBytes: CAP });
  await using server = startTestServer({ store });
  await using conn = await RawConn.connect(server.port);
  const big = "x".repeat(5000);
  await conn.send(
    resp("SET", "a", "old") + resp("SET", "a", big, "GET") + resp("SET", "n", big, "NX", "GET") +
      resp("GET", "a") + resp("PING"),
  );
  assertEquals(await within("answers", conn.readLines(6)), [
    "+OK\r",
    OOM,
    OOM,
    "$3\r",
    "old\r",
    "+PONG\r",
  ]);
});

Deno.test("serve() counts no key lookup in INFO for a SET ... GET or GETSET answered OOM", async () => {
  // Redis refuses a denyoom command that finds it out of memory before
  // running it: its read of the old value never counts in keyspace_hits or
  // keyspace_misses. kv counted the read, then answered OOM.
  const store = new MemoryStore({ maxArenaBytes: CAP });
  await using server = startTestServer({ store });
  await using conn = await RawConn.connect(server.port);
  const big = "x".repeat(5000);
  await conn.send(
    resp("SET", "a", "old") + resp("SET", "a", big, "GET") + resp("GETSET", "a", big) +
      resp("SET", "n", big, "GET") + resp("GETSET", "n", big) +
      // With room: a hit, a miss, and a hit where NX leaves the key be.
      resp("SET", "a", "new", "GET") + resp("GETSET", "n", "1") +
      resp("SET", "a", "x", "NX", "GET") + resp("INFO", "stats") + resp("PING"),
  );
  assertEquals(await within("answers", conn.readLines(10)), [
    "+OK\r",
    OOM,
    OOM,
    OOM,
    OOM,
    "$3\r",
    "old\r",
    "$-1\r",
    "$3\r",
    "new\r",
  ]);
  const info: string[] = [];
  for (let line = await conn.readLine(); line !== "+PONG\r"; line = await conn.readLine()) {
    if (line === null) throw new Error("closed before INFO and PONG");
    if (line.startsWith("keyspace_")) info.push(line);
  }
  assertEquals(info, ["keyspace_hits:2\r", "keyspace_misses:1\r"]);
});

Deno.test("serve() answers an MSET or MSETNX the store has no room for with OOM and changes none of its keys", async () => {
  // Redis refuses the whole command: kv had set the pairs before the one
  // that did not fit, and answered OOM all the same.
  const clock = new ManualClock(1_700_000_000_000);
  const store = new MemoryStore({ maxArenaBytes: CAP, clock });
  await using server = startTestServer({ store, clock });
  await using conn = await RawConn.connect(server.port);
  await using line = await RawConn.connect(server.port);
  await line.send("PUT, t, x\ry\n"); // A line client's \r: its value stays line text.
  assertEquals(await line.readLine(), "Success!");
  const big = "x".repeat(5000);
  await conn.send(
    resp("SET", "a", "old", "EX", "100") + resp("MSET", "a", "new", "c", "1", "t", "z", "d", big) +
      resp("MSETNX", "c", "1", "e", "2", "d", big) + resp("MGET", "a", "c", "d", "e") +
      resp("TTL", "a") + resp("DBSIZE"),
  );
  assertEquals(await within("answers", conn.readLines(11)), [
    "+OK\r",
    OOM,
    OOM,
    "*4\r",
    "$3\r",
    "old\r",
    "$-1\r",
    "$-1\r",
    "$-1\r",
    ":100\r",
    ":2\r",
  ]);
  await line.send("GET, t\n");
  assertEquals(await line.readLine(), "x\ry");
  // With room, as ever.
  await conn.send(
    resp("MSET", "a", "1", "c", "2") + resp("MSETNX", "d", "3") + resp("MGET", "a", "c", "d"),
  );
  assertEquals(await within("answers", conn.readLines(9)), [
    "+OK\r",
    ":1\r",
    "*3\r",
    "$1\r",
    "1\r",
    "$1\r",
    "2\r",
    "$1\r",
    "3\r",
  ]);
});

/** `writer` sets a to "old", then `watcher` WATCHes a. */
async function setAndWatch(writer: RawConn, watcher: RawConn): Promise<void> {
  await writer.send(resp("SET", "a", "old"));
  assertEquals(await within("SET", writer.readLines(1)), ["+OK\r"]);
  await watcher.send(resp("WATCH", "a"));
  assertEquals(await within("WATCH", watcher.readLines(1)), ["+OK\r"]);
}

/** `watcher` runs MULTI, GET a, EXEC: EXEC's first line (`*-1` if a watched key changed). */
async function execGetA(watcher: RawConn): Promise<string | undefined> {
  await watcher.send(resp("MULTI") + resp("GET", "a") + resp("EXEC"));
  const [multi, queued, exec] = await within("EXEC", watcher.readLines(3));
  assertEquals([multi, queued], ["+OK\r", "+QUEUED\r"]);
  return exec;
}

Deno.test("serve() keeps a refused MSET from another client's WATCH: its put-back changed nothing", async () => {
  // Redis refuses such an MSET before it runs; kv sets a, finds no room
  // for d, puts a back. A watcher of a must still be able to EXEC.
  const store = new MemoryStore({ maxArenaBytes: CAP });
  await using server = startTestServer({ store });
  await using watcher = await RawConn.connect(server.port);
  await using writer = await RawConn.connect(server.port);
  await setAndWatch(writer, watcher);
  await writer.send(resp("MSET", "a", "new", "d", "x".repeat(5000)));
  assertEquals(await within("MSET", writer.readLines(1)), [OOM]);
  assertEquals(await execGetA(watcher), "*1\r");
  assertEquals(await within("GET", watcher.readLines(2)), ["$3\r", "old\r"]);
  // An MSET that is set does mark it.
  await watcher.send(resp("WATCH", "a"));
  assertEquals(await within("WATCH", watcher.readLines(1)), ["+OK\r"]);
  await writer.send(resp("MSET", "a", "new", "d", "x".repeat(2000)));
  assertEquals(await within("MSET", writer.readLines(1)), ["+OK\r"]);
  assertEquals(await execGetA(watcher), "*-1\r");
});

Deno.test("serve() marks a watcher of a key a refused MSET could not put back: it keeps the MSET's value", async () => {
  // A store that cannot reclaim (WriteOptions.reclaim, a Store of one's
  // own): a's put-back fails, so a keeps "new". That is a change, and an
  // EXEC watching a must not run (it ran, and read "new").
  class NoReclaim extends MemoryStore {
    override set(...args: Parameters<MemoryStore["set"]>): ReturnType<MemoryStore["set"]> {
      if (args[6]?.reclaim) throw new StoreFullError("Cannot reclaim");
      return super.set(...args);
    }
  }
  await using server = startTestServer({ store: new NoReclaim({ maxArenaBytes: CAP }) });
  await using watcher = await RawConn.connect(server.port);
  await using writer = await RawConn.connect(server.port);
  await setAndWatch(writer, watcher);
  await writer.send(resp("MSET", "a", "new", "d", "x".repeat(5000)) + resp("GET", "a"));
  assertEquals(await within("MSET", writer.readLines(3)), [OOM, "$3\r", "new\r"]);
  assertEquals(await execGetA(watcher), "*-1\r");
});

Deno.test("serve() marks a watcher of a key an MSET set before a store's failure other than a full one", async () => {
  // Such a failure puts nothing back: a keeps "new", a change.
  class Failing extends MemoryStore {
    override set(...args: Parameters<MemoryStore["set"]>): ReturnType<MemoryStore["set"]> {
      if (args[2] - args[1] === 1 && args[0][args[1]] === 0x64) throw new Error("disk on fire");
      return super.set(...args);
    }
  }
  await using server = startTestServer({ store: new Failing({ maxArenaBytes: CAP }) });
  await using watcher = await RawConn.connect(server.port);
  await using writer = await RawConn.connect(server.port);
  await setAndWatch(writer, watcher);
  await writer.send(resp("MSET", "a", "new", "d", "x".repeat(5000)));
  // The server logs it and closes the connection, as for any failure of its store.
  await assertRejects(() => within("MSET", writer.readLines(1)), Error, "connection closed");
  assertEquals(await execGetA(watcher), "*-1\r");
});

Deno.test("serve() puts back an MSET's pairs when the store is at its cap with little garbage", async () => {
  // The arena at its cap (4096) with under an eighth of it garbage: the set
  // of a (412-byte record to 112) fits, b does not; putting a's 412 bytes
  // back needs room the arena would not make (a compaction for a few bytes
  // is refused), and a kept its new value behind the OOM error.
  const store = new MemoryStore({ maxArenaBytes: CAP });
  await using server = startTestServer({ store });
  await using conn = await RawConn.connect(server.port);
  await conn.send(
    resp("SET", "a", "o".repeat(400)) + resp("SET", "f", "f".repeat(2000)) +
      resp("SET", "g", "g".repeat(1200)) +
      resp("MSET", "a", "n".repeat(100), "b", "x".repeat(5000)) + resp("STRLEN", "a") +
      resp("EXISTS", "b"),
  );
  assertEquals(await within("answers", conn.readLines(6)), [
    "+OK\r",
    "+OK\r",
    "+OK\r",
    OOM,
    ":400\r",
    ":0\r",
  ]);
});

Deno.test("serve() sets an MSET that names a key twice when only its last value needs room", async () => {
  // The fuzz's find (tests/store_full_fuzz_test.ts): Redis sets the pairs
  // in order, so the last value of a key is the one that stays; kv set the
  // first too, and a first value the store had no room for refused the
  // whole MSET with OOM, though what it leaves fits easily.
  const store = new MemoryStore({ maxArenaBytes: CAP });
  await using server = startTestServer({ store });
  await using conn = await RawConn.connect(server.port);
  await conn.send(
    resp("SET", "f", "f".repeat(1000)) + resp("MSET", "a", "x".repeat(3500), "a", "small") +
      resp("MSETNX", "b", "y".repeat(3500), "b", "tiny") + resp("MGET", "a", "b"),
  );
  assertEquals(await within("answers", conn.readLines(3)), ["+OK\r", "+OK\r", ":1\r"]);
  assertEquals(await within("MGET", conn.readLines(5)), [
    "*2\r",
    "$5\r",
    "small\r",
    "$4\r",
    "tiny\r",
  ]);
});

Deno.test("serve() with a log: an MSET the store has no room for leaves the log holding the old values", async () => {
  const fs = new FakeFs();
  const store = await openTestLog(fs, { newStore: () => new MemoryStore({ maxArenaBytes: CAP }) });
  {
    await using server = startTestServer({ store });
    await using conn = await RawConn.connect(server.port);
    await conn.send(resp("SET", "a", "old") + resp("MSET", "a", "new", "b", "x".repeat(5000)));
    assertEquals(await within("answers", conn.readLines(2)), [
      "+OK\r",
      "-OOM command not allowed when used memory > 'maxmemory'.\r",
    ]);
  }
  await store.close();
  assertEquals(await logContents(fs), ["a=old"]);
});
