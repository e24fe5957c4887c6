/**
 * APPEND over real sockets on port 0 (command/redis/strings.ts): many
 * appends to one key, or interleaved across keys, end in the right value in
 * both protocols, and hand the store only the bytes they add (the whole
 * value set again each time made n appends O(n^2)); the key keeps its TTL,
 * WATCH sees each append, a value appended with bytes the line protocol
 * cannot show is no longer line text, and at the store's cap APPEND answers
 * OOM and changes nothing.
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
  for (const key of keys) {
    const value = expected.get(key)!;
    await redis.send(resp("GET", key) + resp("STRLEN", key));
    assertEquals(await redis.readLines(3), [
      `$${value.length}\r`,
      `${value}\r`,
      `:${value.length}\r`,
    ]);
  }
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
  const clock = new ManualClock(1_700_000_000_000);
  const store = new MemoryStore({ maxArenaBytes: 4096, clock });
  await using server = startTestServer({ store, clock });
  await using redis = await RawConn.connect(server.port);
  const a = "x".repeat(1500);
  const b = "y".repeat(1500);
  await redis.send(resp("SET", "a", a, "EX", "100") + resp("SET", "b", b));
  assertEquals(await redis.readLines(2), ["+OK\r", "+OK\r"]);
  const before = store.info();
  await redis.send(resp("APPEND", "a", "z".repeat(1200)));
  assertEquals(await redis.readLine(), OOM);
  assertEquals(store.info(), before, "nothing counted");
  await redis.send(resp("GET", "a") + resp("TTL", "a") + resp("GET", "b"));
  assertEquals(await redis.readLines(5), ["$1500\r", `${a}\r`, ":100\r", "$1500\r", `${b}\r`]);
  // With room again (the old value and the new one both fit), APPEND goes through.
  await redis.send(resp("DEL", "b") + resp("APPEND", "a", "z".repeat(500)) + resp("TTL", "a"));
  assertEquals(await redis.readLines(3), [":1\r", ":2000\r", ":100\r"]);
});
