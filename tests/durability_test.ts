/**
 * The server with a durable store (PROTOCOL.md, Durability), in-process over
 * real sockets on port 0: the log runs on an in-memory file system
 * (testing/fake_fs.ts) that can run out of space and hold a sync, so these
 * tests need only --allow-net. The crash tests with real processes and
 * kill -9 are in e2e/.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "@std/assert";
import { MAGIC, OP, readRecord, RecordView } from "../store/log/format.ts";
import { openLogWith } from "../store/log/open.ts";
import type { FsyncMode, LogStore } from "../store/log.ts";
import { MemoryStore } from "../store/memory.ts";
import { TextStore } from "../store/text.ts";
import { setImmediate } from "node:timers";
import {
  ask,
  FakeFs,
  gate,
  LogCollector,
  ObservedStore,
  RawConn,
  resp,
  RespHarness,
  startTestServer,
  TraceCollector,
  UdpPeer,
  within,
} from "../testing/mod.ts";

const PATH = "/data/kv.log";
const NOT_SAVED = /^Error: not saved: the data file could not be written/;

async function durableServer(fs: FakeFs, fsync: FsyncMode = "always") {
  const logs = new LogCollector();
  const store = await openLogWith(PATH, { fsync, log: logs.log }, { fs });
  const server = startTestServer({ store });
  return {
    store,
    port: server.port,
    logs,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await store.close();
    },
  };
}

/** A pending read whose settling a test can look at. */
function watched(
  promise: Promise<string | null>,
): { promise: Promise<string | null>; done: boolean } {
  const watch = { promise, done: false };
  promise.then(() => watch.done = true, () => watch.done = true);
  return watch;
}

Deno.test("serve() with a full disk answers writes with an error and keeps them out; reads go on; writes work again once there is room", async () => {
  const fs = new FakeFs();
  await using server = await durableServer(fs, "everysec");
  await using conn = await RawConn.connect(server.port);
  await conn.send("PUT, a, old\nPUT, gone, x\n");
  assertEquals(await conn.readLines(2), ["Success!", "Success!"]);
  fs.capacity = fs.usedBytes() + 5;
  // One batch: two writes that cannot be saved, and reads between them.
  await conn.send("PUT, a, new\nGET, a\nDELETE, gone\nGET, gone\nPING\n");
  const [put, get, del, getGone, pong] = await conn.readLines(5);
  assertMatch(put!, NOT_SAVED);
  assertMatch(del!, NOT_SAVED);
  // The reads ran before the batch was found not durable: they saw its changes.
  assertEquals([get, getGone, pong], ["new", "Not exist!", "PONG"]);
  await conn.send("GET, a\nGET, gone\nLIST\n");
  assertEquals(await conn.readLines(2), ["old", "x"], "the changes were undone");
  assertEquals((await conn.readList()).sort(), ["a, old", "gone, x"]);
  assertMatch(server.logs.errors()[0]!, /cannot write data file \/data\/kv\.log: No space left/);
  fs.capacity = Infinity;
  await conn.send("PUT, a, new\nGET, a\n");
  assertEquals(await conn.readLines(2), ["Success!", "new"]);
});

Deno.test("serve() on a store closed before the server: writes say the data file is closed, in both protocols", async () => {
  const fs = new FakeFs();
  await using server = await durableServer(fs, "everysec");
  await using conn = await RawConn.connect(server.port);
  await conn.send("PUT, a, 1\n");
  assertEquals(await conn.readLine(), "Success!");
  await server.store.close(); // The wrong order: the store before the server.
  await conn.send("PUT, a, 2\nGET, a\n");
  assertEquals(await conn.readLines(2), [
    "Error: not saved: the data file is closed (it was closed before the server), so nothing changed",
    "2", // The read ran before the batch was found not durable.
  ]);
  await using redis = await RawConn.connect(server.port);
  await redis.send("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n3\r\n");
  assertEquals(
    await redis.readLine(),
    "-ERR not saved: the data file is closed (the change was not made)\r",
  );
});

Deno.test("serve() with always writes no answer before the sync that covers it, not even a read's", async () => {
  const fs = new FakeFs();
  const logs = new LogCollector();
  const log = await openLogWith(PATH, { fsync: "always", log: logs.log }, { fs });
  const store = new ObservedStore(log);
  const ran = gate();
  store.onGet = () => ran.open();
  await using server = startTestServer({ store });
  const held = gate();
  const entered = gate();
  fs.beforeSync = () => (entered.open(), held.wait);
  await using writer = await RawConn.connect(server.port);
  await using reader = await RawConn.connect(server.port);
  await writer.send("PUT, k, v\n");
  const put = watched(writer.readLine());
  await within("the sync", entered.wait);
  // The GET sees a value that is not durable yet: its answer waits too.
  await reader.send("GET, k\n");
  const get = watched(reader.readLine());
  await within("the GET", ran.wait);
  // A round trip to another server: any answer already written would have
  // arrived meanwhile.
  await using clock = startTestServer();
  assertEquals(await ask(clock.port, "PING"), "PONG");
  assertEquals([put.done, get.done], [false, false]);
  fs.beforeSync = undefined;
  held.open();
  assertEquals([await put.promise, await get.promise], ["Success!", "v"]);
  await server.shutdown();
  await log.close();
});

Deno.test("serve() with always: writes of many connections that come during a sync share the next one", async () => {
  const fs = new FakeFs();
  const log = await openLogWith(PATH, { fsync: "always" }, { fs });
  const store = new ObservedStore(log);
  let sets = 0;
  const allRan = gate();
  store.onSet = () => ++sets === 11 && allRan.open();
  await using server = startTestServer({ store });
  const held = gate();
  const entered = gate();
  fs.beforeSync = () => (entered.open(), held.wait);
  const conns = await Promise.all(Array.from({ length: 6 }, () => RawConn.connect(server.port)));
  try {
    const syncs = fs.syncs;
    await conns[0]!.send("PUT, first, 1\n");
    await within("the first sync", entered.wait);
    for (let i = 1; i < conns.length; i++) {
      await conns[i]!.send(`PUT, k${i}, ${i}\nPUT, j${i}, ${i}\n`);
    }
    await within("the other writes", allRan.wait);
    await new Promise((resolve) => setImmediate(resolve)); // Their records are written at the turn's end.
    fs.beforeSync = undefined;
    held.open();
    assertEquals(await conns[0]!.readLine(), "Success!");
    for (let i = 1; i < conns.length; i++) {
      assertEquals(await conns[i]!.readLines(2), ["Success!", "Success!"]);
    }
    assertEquals(fs.syncs - syncs, 2, "the first sync, and one for the other ten writes");
  } finally {
    for (const conn of conns) conn.close();
  }
  const afterPowerCut: LogStore = await openLogWith(PATH, {}, { fs: fs.afterPowerCut() });
  assertEquals(afterPowerCut.size, 11);
  await afterPowerCut.close();
  await server.shutdown();
  await log.close();
});

/** A RESP answer line as RawConn reads it, without its `\r`. */
function withoutCr(line: string): string {
  return line.replace(/\r$/, "");
}

Deno.test("serve() with a durable store logs Redis clients' writes and expiries; a restart after kill -9 has them", async () => {
  const fs = new FakeFs();
  const log = await openLogWith(PATH, { fsync: "always" }, { fs });
  await using server = startTestServer({ store: log });
  const later = Date.now() + 3_600_000;
  await using conn = await RawConn.connect(server.port);
  await conn.send(
    resp("SET", "s", "v", "EX", "3600") + resp("SET", "n", "41") + resp("INCR", "n") +
      resp("APPEND", "s", "+") + resp("SET", "s", "w", "KEEPTTL") + resp("SET", "gone", "x") +
      resp("DEL", "gone") + resp("SET", "p", "1", "PX", "10") + resp("PERSIST", "p") +
      resp("PEXPIREAT", "n", String(later)) + resp("SET", "b", "\u0000\r\n") +
      resp("CONFIG", "GET", "appendonly"),
  );
  const answers = (await conn.readLines(16)).map(withoutCr);
  assertEquals(answers, [
    "+OK",
    "+OK",
    ":42",
    ":2",
    "+OK",
    "+OK",
    ":1",
    "+OK",
    ":1",
    ":1",
    "+OK",
    ...["*2", "$10", "appendonly", "$3", "yes"], // CONFIG GET sees an append-only file.
  ]);
  const reloaded = await openLogWith(PATH, {}, { fs: fs.afterKill() });
  const text = new TextStore(reloaded);
  assertEquals(text.entries().sort(), [["b", "\u0000\r\n"], ["n", "42"], ["p", "1"], ["s", "w"]]);
  assert(text.expiry("s") > Date.now() + 3_500_000, "KEEPTTL kept the absolute expiry");
  assertEquals(text.expiry("n"), later);
  assertEquals(text.expiry("p"), -1);
  await reloaded.close();
  await conn.send(resp("FLUSHDB"));
  assertEquals(await conn.readLine(), "+OK\r");
  const flushed = await openLogWith(PATH, {}, { fs: fs.afterKill() });
  assertEquals(flushed.size, 0);
  await flushed.close();
  await server.shutdown();
  await log.close();
});

Deno.test("serve() with a full disk answers a Redis client's write with MISCONF, as Redis does", async () => {
  const fs = new FakeFs();
  const log = await openLogWith(PATH, { log: () => {} }, { fs });
  await using server = startTestServer({ store: log });
  await using conn = await RawConn.connect(server.port);
  fs.capacity = fs.usedBytes();
  await conn.send(resp("SET", "k", "v") + resp("GET", "k") + resp("INCR", "c"));
  const [set, ...rest] = (await conn.readLines(4)).map(withoutCr);
  assertMatch(set!, /^-MISCONF Errors writing to the AOF file/);
  assertEquals(rest[0], "$1", "the read in the batch saw the write before it was undone");
  assertMatch(rest[2]!, /^-MISCONF/);
  await conn.send(resp("EXISTS", "k", "c"));
  assertEquals(await conn.readLine(), ":0\r");
  await server.shutdown();
  await log.close();
});

Deno.test("serve() with a full disk: a write queued by MULTI stays QUEUED (it changed nothing), and EXEC's answer is the one a failure replaces", async () => {
  const fs = new FakeFs();
  const log = await openLogWith(PATH, { log: () => {} }, { fs });
  await using server = startTestServer({ store: log });
  await using conn = await RawConn.connect(server.port);
  fs.capacity = fs.usedBytes();
  await conn.send(resp("SET", "k", "v") + resp("MULTI") + resp("SET", "a", "1"));
  const [set, multi, queued] = (await conn.readLines(3)).map(withoutCr);
  assertMatch(set!, /^-MISCONF/);
  // Before, the QUEUED became MISCONF too, while EXEC still ran the SET.
  assertEquals([multi, queued], ["+OK", "+QUEUED"]);
  await conn.send(resp("EXEC"));
  assertMatch(withoutCr((await conn.readLines(1))[0]!), /^-MISCONF/);
  fs.capacity = Infinity;
  await conn.send(resp("EXISTS", "a", "k"));
  assertEquals(await conn.readLine(), ":0\r");
  await server.shutdown();
  await log.close();
});

Deno.test("serve() with udp and a durable store answers a datagram once its writes are durable, or with errors", async () => {
  const fs = new FakeFs();
  const log = await openLogWith(PATH, { fsync: "always", log: () => {} }, { fs });
  await using server = startTestServer({ store: log, udp: true });
  using peer = new UdpPeer();
  const syncs = fs.syncs;
  assertEquals(await peer.exchange(server.port, "PUT, a, 1\nGET, a\n"), "Success!\n1\n");
  assertEquals(fs.syncs - syncs, 1, "synced before the answer");
  fs.capacity = fs.usedBytes();
  const answer = await peer.exchange(server.port, "PUT, a, 2\nGET, a\nDELETE, a\n");
  const [put, get, del] = answer.split("\n");
  assertMatch(put!, NOT_SAVED);
  assertEquals(get, "2", "the read in the datagram saw the write before it was undone");
  assertMatch(del!, NOT_SAVED);
  assertEquals(await peer.exchange(server.port, "GET, a\n"), "1\n");
  await server.shutdown();
  await log.close();
});

/** Fills `store` with `count` keys whose values the line protocol can show (`text`) or not. */
async function fill(store: LogStore, count: number, text: boolean): Promise<void> {
  const encoder = new TextEncoder();
  const value = text ? encoder.encode("v") : new Uint8Array([0xff]); // Not UTF-8.
  for (let i = 0; i < count; i++) {
    const key = encoder.encode(`key:${i}`);
    store.set(key, 0, key.length, value, 0, value.length, { lineText: text });
  }
  assertEquals(await store.commit() ?? true, true);
}

Deno.test("serve() with a durable store: a write before a LIST that lets others run is answered only once durable", async () => {
  // A LIST of a few thousand keys lets the event loop turn as it walks; the
  // log writes the PUT's record in that turn. Its answer must still wait
  // for that write (always: and its sync), and say so when it fails.
  for (const fsync of ["always", "everysec"] as const) {
    const fs = new FakeFs();
    await using server = await durableServer(fs, fsync);
    await fill(server.store, 3_000, true);
    await using conn = await RawConn.connect(server.port);
    fs.capacity = fs.usedBytes() + 5;
    await conn.send("PUT, a, new\nLIST\n");
    const [put] = await conn.readLines(1);
    assertMatch(put!, NOT_SAVED, fsync);
    // The LIST may have shown the PUT's pair before it was undone (a read keeps its answer).
    const listed = await conn.readList();
    assertEquals(listed.filter((line) => line.startsWith("key:")).length, 3_000, fsync);
    fs.capacity = Infinity;
    await conn.send("GET, a\nPUT, b, 1\nLIST\n");
    assertEquals(await conn.readLines(2), ["Not exist!", "Success!"], fsync);
    assertEquals((await conn.readList()).length, 3_001, `${fsync}: the keys and b`);
    const reloaded = await openLogWith(PATH, {}, { fs: fs.afterKill() });
    const text = new TextStore(reloaded);
    assertEquals(
      [text.get("a"), text.get("b")],
      [undefined, "1"],
      `${fsync}: what was acknowledged`,
    );
    await reloaded.close();
  }
});

Deno.test("serve() with udp and a durable store: a write before a LIST that lets others run is answered only once durable", async () => {
  const fs = new FakeFs();
  const log = await openLogWith(PATH, { fsync: "everysec", log: () => {} }, { fs });
  // Values the line protocol cannot show: LIST walks them all and answers little.
  await fill(log, 3_000, false);
  const traces = new TraceCollector();
  await using server = startTestServer({ store: log, udp: true, trace: traces.trace });
  using peer = new UdpPeer();
  fs.capacity = fs.usedBytes() + 5;
  const [put, ...list] = (await peer.exchange(server.port, "PUT, a, new\nLIST\n")).split("\n");
  assertMatch(put!, NOT_SAVED);
  // What LIST shows of the PUT depends on whether it walked past it before the
  // PUT was undone (a read keeps its answer); it shows none of the keys.
  assert(["Not exist!", "a, new"].includes(list[0]!), list[0]);
  assertEquals(list.slice(1), ["", ""], "the LIST's end, then the datagram's");
  // The trace shows the LIST's own bytes, though the PUT's answer before them grew into an error.
  const answers = traces.details("d1", "answer");
  assertEquals(answers.length, 2);
  assertMatch(answers[1]!, new RegExp(`^bytes=${list[0]!.length + 2} "${list[0]}\\\\n\\\\n"`));
  fs.capacity = Infinity;
  assertEquals(await peer.exchange(server.port, "GET, a\n"), "Not exist!\n");
  await server.shutdown();
  await log.close();
});

Deno.test("serve() logs an MSET, a DEL of several keys and a transaction each as one record: a crash keeps all of one or none", async () => {
  const fs = new FakeFs();
  await using server = await durableServer(fs, "always");
  await using conn = await RawConn.connect(server.port);
  await conn.send(
    resp("MSET", "a", "1", "b", "2", "c", "3") +
      resp("DEL", "a", "b") +
      resp("MULTI") + resp("SET", "d", "4") + resp("DEL", "c") + resp("EXEC") +
      resp("SET", "e", "5") + resp("DEL", "e"),
  );
  assertEquals((await conn.readLines(9)).map((line) => line.replace(/\r$/, "")), [
    "+OK",
    ":2",
    "+OK",
    "+QUEUED",
    "+QUEUED",
    "*2",
    "+OK",
    ":1",
    "+OK",
  ]);
  assertEquals(await conn.readLine(), ":1\r");
  // What the file holds after its header, record by record.
  const bytes = fs.read(PATH);
  const view = new RecordView();
  const ops: number[] = [];
  for (let at = MAGIC.length; at < bytes.length;) {
    at = readRecord(bytes, at, bytes.length, view);
    assert(at > 0, "every record reads back");
    ops.push(view.op);
  }
  assertEquals(ops, [OP.group, OP.group, OP.group, OP.set, OP.delete]);
});

Deno.test("with a log, EXPIRE and PERSIST answer 1 only if the key is still there, though its time passes as they run", async () => {
  // A clock that ticks 1 ms at each reading (as command/redis/commands_test.ts, over a LogStore).
  let now = 1_700_000_000_000;
  const clock = { now: () => now++ };
  const store = await openLogWith(PATH, {
    clock,
    newStore: () => new MemoryStore({ clock }),
  }, { fs: new FakeFs() });
  const kv = new RespHarness(store, clock);
  const seen = new Set<string>();
  for (const command of [["PERSIST"], ["PEXPIRE", "100000"]]) {
    for (let ahead = 2; ahead <= 8; ahead++) {
      assertEquals(kv.command("SET", "k", "v", "PXAT", String(now + ahead)), "+OK\r\n");
      const answer = kv.command(command[0]!, "k", ...command.slice(1));
      assertEquals(answer, kv.command("EXISTS", "k"), `${command[0]}, ${ahead} ms ahead`);
      seen.add(answer);
      kv.command("DEL", "k");
    }
  }
  assertEquals([...seen].sort(), [":0\r\n", ":1\r\n"], "the time passed mid-command");
  await store.close();
});

Deno.test("serve() with a durable store logs each APPEND as the bytes it added; a restart after kill -9 has the value, and a full disk undoes them", async () => {
  const fs = new FakeFs();
  const log = await openLogWith(PATH, { fsync: "always" }, { fs });
  await using server = startTestServer({ store: log });
  await using conn = await RawConn.connect(server.port);
  // Pipelined as redis-benchmark's "append a x -P 16" sends them.
  for (let batch = 0; batch < 20; batch++) {
    await conn.send(resp("APPEND", "a", "x").repeat(16));
    const answers = (await conn.readLines(16)).map(withoutCr);
    assertEquals(answers.at(-1), `:${16 * (batch + 1)}`);
  }
  await conn.send(resp("SET", "t", "v", "EX", "3600") + resp("APPEND", "t", "+"));
  assertEquals((await conn.readLines(2)).map(withoutCr), ["+OK", ":2"]);
  const file = fs.read(PATH);
  const view = new RecordView();
  const ops: number[] = [];
  for (let at = MAGIC.length; at < file.length;) {
    at = readRecord(file, at, file.length, view);
    ops.push(view.op);
  }
  assertEquals(ops, [...new Array(320).fill(OP.append), OP.set, OP.append]);
  assert(file.length < 320 * 24 + 100, `${file.length} bytes for 320 appends of one byte`);
  const reloaded = await openLogWith(PATH, {}, { fs: fs.afterKill() });
  const text = new TextStore(reloaded);
  assertEquals(text.get("a"), "x".repeat(320));
  assertEquals(text.get("t"), "v+");
  assert(text.expiry("t") > Date.now() + 3_500_000, "the append kept the absolute expiry");
  await reloaded.close();
  fs.capacity = fs.usedBytes();
  await conn.send(resp("APPEND", "a", "y") + resp("APPEND", "new", "z") + resp("STRLEN", "a"));
  const [refused, made, length] = (await conn.readLines(3)).map(withoutCr);
  assertMatch(refused!, /^-MISCONF/);
  assertMatch(made!, /^-MISCONF/);
  assertEquals(length, ":321", "the read in the batch saw the append before it was undone");
  await conn.send(resp("STRLEN", "a") + resp("EXISTS", "new"));
  assertEquals((await conn.readLines(2)).map(withoutCr), [":320", ":0"]);
  fs.capacity = Infinity;
  await conn.send(resp("APPEND", "a", "y"));
  assertEquals(await conn.readLine(), ":321\r");
  await server.shutdown();
  await log.close();
  const last = await openLogWith(PATH, {}, { fs: fs.afterPowerCut() });
  assertEquals(new TextStore(last).get("a"), "x".repeat(320) + "y");
  await last.close();
});
