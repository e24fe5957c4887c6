/**
 * APPEND, SETRANGE, GETRANGE and STRLEN over real sockets on port 0
 * (command/redis/string_range.ts). APPEND: many appends to one key, or
 * interleaved across keys, end in the right value in both protocols and
 * hand the store only the bytes they add (the whole value set again each
 * time made n appends O(n^2)); the key keeps its TTL, WATCH sees each
 * append, a value appended with bytes the line protocol cannot show is no
 * longer line text, and at the store's cap APPEND answers OOM and changes
 * nothing. SETRANGE hands the store only the bytes
 * it writes (setting the whole value made a few bytes into 1 MB copy it
 * twice, and a value grown at its end O(n^2) bytes), pads with zero bytes,
 * keeps the TTL, is seen by WATCH, leaves a value no longer line text, and
 * at the store's cap answers OOM and changes nothing; GETRANGE and STRLEN
 * of values past 64 KiB (read where they lie, not copied) answer as Redis.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { ManualClock } from "../../store/clock.ts";
import { MemoryStore } from "../../store/memory.ts";
import type { WriteOptions } from "../../store/store.ts";
import { RawConn, resp, startTestServer, within } from "../../testing/mod.ts";

const OOM = "-OOM command not allowed when used memory > 'maxmemory'.\r";

/** A MemoryStore that counts the value bytes handed to its writes. */
class CountingStore extends MemoryStore {
  valueBytes = 0;
  override set(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
    options?: WriteOptions,
  ): void {
    this.valueBytes += valueEnd - valueStart;
    super.set(key, keyStart, keyEnd, value, valueStart, valueEnd, options);
  }
  override setRange(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    offset: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
  ): number {
    this.valueBytes += valueEnd - valueStart;
    return super.setRange(key, keyStart, keyEnd, offset, value, valueStart, valueEnd);
  }
  override append(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
    options?: WriteOptions,
  ): number {
    this.valueBytes += valueEnd - valueStart;
    return super.append(key, keyStart, keyEnd, value, valueStart, valueEnd, options);
  }
}

/** Sends `commands` in batches of 1,000 and reads one reply line each. */
async function pipeline(conn: RawConn, commands: string[]): Promise<string[]> {
  const replies: string[] = [];
  for (let i = 0; i < commands.length; i += 1000) {
    const batch = commands.slice(i, i + 1000);
    await conn.send(batch.join(""));
    replies.push(...await within("replies", conn.readLines(batch.length)));
  }
  return replies;
}

/** Each key's GET and STRLEN answer `expected`'s value for it (ASCII values). */
async function assertValues(redis: RawConn, expected: Map<string, string>): Promise<void> {
  for (const [key, value] of expected) {
    await redis.send(resp("GET", key) + resp("STRLEN", key));
    assertEquals(await redis.readLines(3), [
      `$${value.length}\r`,
      `${value}\r`,
      `:${value.length}\r`,
    ]);
  }
}

/** `text` with `piece` written over it from `offset` on, zero-padded as SETRANGE pads. */
function overwrite(text: string, offset: number, piece: string): string {
  const padded = text.padEnd(offset, "\0");
  return padded.slice(0, offset) + piece + padded.slice(offset + piece.length);
}

Deno.test("SETRANGE into a 200 KB value and past its end: the value in both protocols, and only the written bytes handed to the store", async () => {
  const store = new CountingStore();
  await using server = startTestServer({ store });
  await using redis = await RawConn.connect(server.port);
  await using line = await RawConn.connect(server.port);
  let expected = "a".repeat(200_000);
  await redis.send(resp("SET", "big", expected));
  assertEquals(await redis.readLine(), "+OK\r");
  store.valueBytes = 0;
  const commands: string[] = [];
  const lengths: string[] = [];
  for (let i = 0; i < 2_000; i++) {
    // Mostly inside the value, now and then past its end (a gap padded with zeros).
    const offset = i % 50 === 49 ? expected.length + (i % 3) * 1000 : (i * 7919) % expected.length;
    const piece = String.fromCharCode(98 + (i % 25)).repeat(1 + (i % 4));
    expected = overwrite(expected, offset, piece);
    commands.push(resp("SETRANGE", "big", String(offset), piece));
    lengths.push(`:${expected.length}\r`);
  }
  const written = commands.reduce((n, _, i) => n + 1 + (i % 4), 0);
  assertEquals(await pipeline(redis, commands), lengths);
  // Setting the whole value each time handed it over 400,000,000 bytes.
  assertEquals(store.valueBytes, written, "each SETRANGE hands the store only what it writes");
  await redis.send(resp("STRLEN", "big") + resp("GET", "big"));
  assertEquals(await redis.readLines(3), [
    `:${expected.length}\r`,
    `$${expected.length}\r`,
    `${expected}\r`,
  ]);
  await redis.send(resp("SETRANGE", "big", "0", "\n"));
  assertEquals(await redis.readLine(), `:${expected.length}\r`);
  await line.send("GET, big\n");
  const shown = await line.readLine();
  assert(shown?.startsWith("Error: "), "a \\n in it: the line protocol cannot show it");
});

Deno.test("SETRANGE at a value's end, interleaved across keys: each key holds its own bytes", async () => {
  const store = new CountingStore();
  await using server = startTestServer({ store });
  await using redis = await RawConn.connect(server.port);
  const keys = ["x", "y", "z:a-longer-key"];
  const expected = new Map(keys.map((k) => [k, ""]));
  const commands: string[] = [];
  const lengths: string[] = [];
  let written = 0;
  for (let i = 0; i < 6_000; i++) {
    const key = keys[i % 3]!;
    const value = expected.get(key)!;
    // At the end, or a gap past it now and then, so values move past their room to spare.
    const offset = value.length + (i % 97 === 0 ? 900 : 0);
    const piece = String.fromCharCode(97 + (i % 26)).repeat(1 + (i % 5));
    written += piece.length;
    expected.set(key, overwrite(value, offset, piece));
    commands.push(resp("SETRANGE", key, String(offset), piece));
    lengths.push(`:${expected.get(key)!.length}\r`);
  }
  assertEquals(await pipeline(redis, commands), lengths);
  assertEquals(
    store.valueBytes,
    written,
    "O(n) bytes: a missing key's first write counts its bytes",
  );
  await assertValues(redis, expected);
});

Deno.test("SETRANGE keeps the TTL, WATCH sees it, and an expired key starts again", async () => {
  const clock = new ManualClock(1_700_000_000_000);
  await using server = startTestServer({ store: new MemoryStore({ clock }), clock });
  await using redis = await RawConn.connect(server.port);
  await using other = await RawConn.connect(server.port);
  await redis.send(resp("SET", "k", "hello", "EX", "100") + resp("SETRANGE", "k", "1", "E"));
  assertEquals(await redis.readLines(2), ["+OK\r", ":5\r"]);
  for (const [offset, length] of [[0, 5], [5, 6], [8, 9]]) {
    await redis.send(resp("WATCH", "k"));
    assertEquals(await redis.readLine(), "+OK\r");
    await other.send(resp("SETRANGE", "k", String(offset), "!"));
    assertEquals(await other.readLine(), `:${length}\r`);
    await redis.send(resp("MULTI") + resp("GET", "k") + resp("EXEC"));
    assertEquals(await redis.readLines(3), ["+OK\r", "+QUEUED\r", "*-1\r"], "EXEC voided");
  }
  await redis.send(resp("PTTL", "k") + resp("GET", "k"));
  assertEquals(await redis.readLines(3), [":100000\r", "$9\r", "!Ello!\0\0!\r"]);
  clock.advance(100_000);
  await redis.send(resp("SETRANGE", "k", "2", "new") + resp("TTL", "k") + resp("GET", "k"));
  assertEquals(
    await redis.readLines(4),
    [":5\r", ":-1\r", "$5\r", "\0\0new\r"],
    "an expired key starts again, zero-padded, with no TTL",
  );
});

Deno.test("SETRANGE of a line client's value leaves it no longer line text", async () => {
  await using server = startTestServer({ store: new MemoryStore() });
  await using redis = await RawConn.connect(server.port);
  await using line = await RawConn.connect(server.port);
  // A line client's \r stays in its value, which the line protocol may show back.
  await line.send("PUT, t, x\ry\nPUT, u, plain\n");
  assertEquals(await line.readLines(2), ["Success!", "Success!"]);
  await redis.send(resp("SETRANGE", "t", "0", "z") + resp("SETRANGE", "u", "5", "\r\n"));
  assertEquals(await redis.readLines(2), [":3\r", ":7\r"]);
  await line.send("GET, t\nGET, u\n");
  const [t, u] = await line.readLines(2);
  assert(t?.startsWith("Error: "), `GET, t: ${t}`);
  assertEquals(u, t, "both hold bytes a line cannot carry");
});

/** The two pairs {@linkcode fullStore} starts with. */
const A = "x".repeat(1500);
const B = "y".repeat(1500);

/**
 * A server on a 4 KiB store at its cap: `a` (1,500 bytes, 100 s to live)
 * and `b` (1,500 bytes), a RESP connection to it, and a check that both are
 * as they were (after a write the store refused).
 */
async function fullStore() {
  const clock = new ManualClock(1_700_000_000_000);
  const store = new MemoryStore({ maxArenaBytes: 4096, clock });
  const server = startTestServer({ store, clock });
  const redis = await RawConn.connect(server.port);
  await redis.send(resp("SET", "a", A, "EX", "100") + resp("SET", "b", B));
  assertEquals(await redis.readLines(2), ["+OK\r", "+OK\r"]);
  return {
    store,
    redis,
    async assertUnchanged() {
      await redis.send(resp("GET", "a") + resp("TTL", "a") + resp("GET", "b"));
      assertEquals(await redis.readLines(5), ["$1500\r", `${A}\r`, ":100\r", "$1500\r", `${B}\r`]);
    },
    async [Symbol.asyncDispose]() {
      await redis[Symbol.asyncDispose]();
      await server[Symbol.asyncDispose]();
    },
  };
}

Deno.test("SETRANGE at the store's cap: written where the value lies if it fits, else OOM and nothing changed", async () => {
  await using full = await fullStore();
  const { store, redis } = full;
  const before = store.info();
  await redis.send(resp("SETRANGE", "a", "2600", "z"));
  assertEquals(await redis.readLine(), OOM);
  assertEquals(store.info(), before, "nothing counted");
  await full.assertUnchanged();
  // Inside the value: no room needed, whatever the cap.
  await redis.send(
    resp("SETRANGE", "a", "1000", "z".repeat(500)) + resp("GETRANGE", "a", "998", "1001"),
  );
  assertEquals(await redis.readLines(3), [":1500\r", "$4\r", "xxzz\r"]);
  assertEquals(store.info().datasetBytes, before.datasetBytes, "no new record");
});

Deno.test("GETRANGE, STRLEN, SETNX and SET NX/XX of a value past 64 KiB answer as Redis", async () => {
  await using server = startTestServer({ store: new MemoryStore() });
  await using redis = await RawConn.connect(server.port);
  const value = Array.from({ length: 100_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(
    "",
  );
  await redis.send(resp("SET", "v", value));
  assertEquals(await redis.readLine(), "+OK\r");
  const ranges: [string, string, string][] = [
    ["0", "3", value.slice(0, 4)],
    ["-4", "-1", value.slice(-4)],
    ["99990", "200000", value.slice(99_990)],
    ["-200000", "2", value.slice(0, 3)],
    ["50000", "49999", ""],
    ["-1", "-5", ""],
    ["100000", "100005", ""],
  ];
  for (const [start, end, bytes] of ranges) {
    await redis.send(resp("GETRANGE", "v", start, end) + resp("SUBSTR", "v", start, end));
    const answer = bytes === "" ? ["$0\r", "\r"] : [`$${bytes.length}\r`, `${bytes}\r`];
    assertEquals(await redis.readLines(4), [...answer, ...answer], `GETRANGE v ${start} ${end}`);
  }
  await redis.send(
    resp("STRLEN", "v") + resp("STRLEN", "none") + resp("GETRANGE", "none", "0", "-1") +
      resp("GETRANGE", "v", "x", "1"),
  );
  assertEquals(await redis.readLines(5), [
    ":100000\r",
    ":0\r",
    "$0\r",
    "\r",
    "-ERR value is not an integer or out of range\r",
  ]);
  await redis.send(
    resp("SETNX", "v", "new") + resp("SET", "v", "new", "NX") + resp("SET", "w", "new", "XX") +
      resp("EXISTS", "w") + resp("SETNX", "w", "1") + resp("SET", "w", "2", "NX") +
      resp("SET", "v", "3", "XX") + resp("GET", "v"),
  );
  assertEquals(await redis.readLines(9), [
    ":0\r",
    "$-1\r",
    "$-1\r",
    ":0\r",
    ":1\r",
    "$-1\r",
    "+OK\r",
    "$1\r",
    "3\r",
  ]);
});

Deno.test("APPEND 20,000 times to one key: the value in both protocols, and O(n) bytes handed to the store", async () => {
  const store = new CountingStore();
  await using server = startTestServer({ store });
  await using redis = await RawConn.connect(server.port);
  await using line = await RawConn.connect(server.port);
  let expected = "";
  const commands: string[] = [];
  const lengths: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const piece = String.fromCharCode(97 + (i % 26));
    expected += piece;
    commands.push(resp("APPEND", "a", piece));
    lengths.push(`:${expected.length}\r`);
  }
  assertEquals(await pipeline(redis, commands), lengths);
  // Setting the whole value again on each append handed it 200,010,000 bytes.
  assertEquals(store.valueBytes, 20_000, "each append hands the store only what it adds");
  await redis.send(resp("STRLEN", "a") + resp("GET", "a"));
  assertEquals(await redis.readLines(3), [":20000\r", "$20000\r", `${expected}\r`]);
  await line.send("GET, a\n");
  assertEquals(await line.readLine(), expected);
});

Deno.test("APPEND interleaved across keys: each key holds its own bytes", async () => {
  await using server = startTestServer({ store: new MemoryStore() });
  await using redis = await RawConn.connect(server.port);
  const keys = ["x", "y", "z:a-longer-key"];
  const expected = new Map(keys.map((k) => [k, ""]));
  const commands: string[] = [];
  const lengths: string[] = [];
  for (let i = 0; i < 6_000; i++) {
    const key = keys[i % 3 === 2 && i % 7 === 0 ? 0 : i % 3]!;
    // Now and then a longer piece, so values move past their room to spare.
    const piece = String.fromCharCode(97 + (i % 26)).repeat(i % 100 === 0 ? 700 : 1 + (i % 5));
    expected.set(key, expected.get(key)! + piece);
    commands.push(resp("APPEND", key, piece));
    lengths.push(`:${expected.get(key)!.length}\r`);
  }
  assertEquals(await pipeline(redis, commands), lengths);
  await assertValues(redis, expected);
});

Deno.test("APPEND keeps the TTL, and WATCH sees each append", async () => {
  const clock = new ManualClock(1_700_000_000_000);
  await using server = startTestServer({ store: new MemoryStore({ clock }), clock });
  await using redis = await RawConn.connect(server.port);
  await using other = await RawConn.connect(server.port);
  await redis.send(resp("SET", "k", "v", "EX", "100") + resp("APPEND", "k", "w"));
  assertEquals(await redis.readLines(2), ["+OK\r", ":2\r"]);
  for (let i = 0; i < 3; i++) {
    await redis.send(resp("WATCH", "k"));
    assertEquals(await redis.readLine(), "+OK\r");
    await other.send(resp("APPEND", "k", "xyz"));
    assertEquals(await other.readLine(), `:${5 + 3 * i}\r`);
    await redis.send(resp("MULTI") + resp("GET", "k") + resp("EXEC"));
    assertEquals(await redis.readLines(3), ["+OK\r", "+QUEUED\r", "*-1\r"], "EXEC voided");
  }
  await redis.send(resp("PTTL", "k") + resp("GET", "k"));
  assertEquals(await redis.readLines(3), [":100000\r", "$11\r", "vwxyzxyzxyz\r"]);
  clock.advance(100_000);
  await redis.send(resp("APPEND", "k", "new") + resp("TTL", "k"));
  assertEquals(
    await redis.readLines(2),
    [":3\r", ":-1\r"],
    "an expired key starts again, with no TTL",
  );
});

Deno.test("APPEND of bytes the line protocol cannot show leaves the value no longer line text", async () => {
  await using server = startTestServer({ store: new MemoryStore() });
  await using redis = await RawConn.connect(server.port);
  await using line = await RawConn.connect(server.port);
  // A line client's \r stays in its value, which the line protocol may show back.
  await line.send("PUT, t, x\ry\nPUT, u, plain\n");
  assertEquals(await line.readLines(2), ["Success!", "Success!"]);
  await redis.send(
    resp("APPEND", "t", "z") + resp("APPEND", "u", "\r\n") + resp("APPEND", "u", "q"),
  );
  assertEquals(await redis.readLines(3), [":4\r", ":7\r", ":8\r"]);
  await line.send("GET, t\nGET, u\n");
  const [t, u] = await line.readLines(2);
  assert(t?.startsWith("Error: "), `GET, t: ${t}`);
  assertEquals(u, t, "both hold bytes a line cannot carry");
});

Deno.test("APPEND at the store's cap answers OOM and changes nothing", async () => {
  await using full = await fullStore();
  const { store, redis } = full;
  const before = store.info();
  await redis.send(resp("APPEND", "a", "z".repeat(1200)));
  assertEquals(await redis.readLine(), OOM);
  assertEquals(store.info(), before, "nothing counted");
  await full.assertUnchanged();
  // With room again (the old value and the new one both fit), APPEND goes through.
  await redis.send(resp("DEL", "b") + resp("APPEND", "a", "z".repeat(500)) + resp("TTL", "a"));
  assertEquals(await redis.readLines(3), [":1\r", ":2000\r", ":100\r"]);
});
