/**
 * RENAME where a value changes key: the line protocol's LIST must still
 * frame every pair it shows, and a key whose time passes during the rename
 * must not come back without one. Over real sockets on port 0.
 */

import { assert, assertEquals } from "@std/assert";
import { ManualClock } from "../../store/clock.ts";
import { MemoryStore } from "../../store/memory.ts";
import type { ValueSink } from "../../store/store.ts";
import { RawConn, respBytes as resp, startTestServer } from "../../testing/mod.ts";

Deno.test("RENAME of a line client's pair to a key no line can carry: LIST leaves it out, and stays framed", async () => {
  await using server = startTestServer();
  await using line = await RawConn.connect(server.port);
  await using redis = await RawConn.connect(server.port);
  await line.send("PUT, a, 1\nPUT, b, 2\nPUT, c, 3\nPUT, d, 4\nPUT, e, x\ry\n");
  assertEquals(await line.readLines(5), Array(5).fill("Success!"));
  // A newline (LIST's end), a comma (the separator), bytes that are not UTF-8, no key at all.
  await redis.send(
    Uint8Array.from([
      ...resp("RENAME", "a", "new\nline"),
      ...resp("RENAME", "b", "x,y"),
      ...resp("RENAME", "c", new Uint8Array([0xff])),
      ...resp("RENAME", "d", ""),
      ...resp("RENAME", "e", "kept"),
    ]),
  );
  assertEquals(await redis.readLines(5), Array(5).fill("+OK\r"));
  await line.send("LIST\nPING\n");
  // Only the pair a line can still show, its \r as a line client stored it; then PING's own answer.
  assertEquals(await line.readList(), ["kept, x\ry"]);
  assertEquals(await line.readLine(), "PONG");
  // The value moved whole, readable by key from either protocol.
  await line.send("GET, kept\n");
  assertEquals(await line.readLine(), "x\ry");
  await redis.send(resp("GET", "x,y"));
  assertEquals(await redis.readLines(2), ["$1\r", "2\r"]);
});

/** A store whose clock moves on by `advanceMs` right after the next get of a key. */
class ClockAfterGet extends MemoryStore {
  advanceMs = 0;
  readonly #clock: ManualClock;

  constructor(clock: ManualClock) {
    super({ clock });
    this.#clock = clock;
  }

  override get(key: Uint8Array, start: number, end: number, out: ValueSink): boolean {
    const found = super.get(key, start, end, out);
    this.#clock.advance(this.advanceMs);
    this.advanceMs = 0;
    return found;
  }
}

Deno.test("RENAME of a key whose time passes midway does not leave the new key without an expiry", async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const store = new ClockAfterGet(clock);
  await using server = startTestServer({ store, clock });
  await using redis = await RawConn.connect(server.port);
  await redis.send(resp("SET", "a", "1", "PX", "1000"));
  assertEquals(await redis.readLine(), "+OK\r");
  // The real clock can tick between two lookups of one command: here it does, to the key's end.
  store.advanceMs = 1000;
  await redis.send(resp("RENAME", "a", "b"));
  await redis.readLine(); // +OK or no such key: either is a moment's truth.
  await redis.send(Uint8Array.from([...resp("PTTL", "b"), ...resp("EXISTS", "a")]));
  assertEquals(await redis.readLines(2), [":-2\r", ":0\r"]);
});

Deno.test("KEYS and SCAN MATCH with a pattern made to be slow answer at once, and the others are served", async () => {
  await using server = startTestServer();
  await using redis = await RawConn.connect(server.port);
  await using other = await RawConn.connect(server.port);
  // Redis tries what follows a * at every position of the key, at the cost of
  // its length each time: 5 * 10^9 steps for the first pattern, every client waiting.
  const n = 100_000;
  await redis.send(resp("SET", "a".repeat(n), "1"));
  assertEquals(await redis.readLine(), "+OK\r");
  const anchored = `*${"?".repeat(n - 1)}b`;
  const lateFailing = `*${"[a]".repeat(n / 4)}b*`;
  const timed = async (request: Uint8Array, lines: number) => {
    const started = performance.now();
    await redis.send(request);
    await other.send("PING\n");
    const answer = await redis.readLines(lines);
    assertEquals(await other.readLine(), "PONG");
    const ms = performance.now() - started;
    assert(ms < 2000, `answered after ${Math.round(ms)} ms`);
    return answer;
  };
  // After the last * the pattern has one place to match: its answer is Redis's.
  assertEquals(await timed(resp("KEYS", anchored), 1), ["*0\r"]);
  assertEquals(await timed(resp("SCAN", "0", "MATCH", anchored), 4), [
    "*2\r",
    "$1\r",
    "0\r",
    "*0\r",
  ]);
  // One that must be tried everywhere is refused once it has cost more than the key's length allows.
  const [refused] = await timed(resp("KEYS", lateFailing), 1);
  assert(refused!.startsWith("-ERR pattern too costly to match"), refused);
  const [scanRefused] = await timed(resp("SCAN", "0", "MATCH", lateFailing, "COUNT", "10"), 1);
  assertEquals(scanRefused, refused);
  // The connection goes on, and a pattern a person writes still matches the long key.
  await redis.send(Uint8Array.from([...resp("KEYS", "*a"), ...resp("PING")]));
  assertEquals(await redis.readLines(4), ["*1\r", `$${n}\r`, `${"a".repeat(n)}\r`, "+PONG\r"]);
});

Deno.test("KEYS and SCAN MATCH: a text searched for among long runs of zeros is not refused", async () => {
  // 40 zeros, then 8 hex digits: the text after the * fits nearly everywhere
  // and fails late, about 11 steps a byte (it was refused at 2 a byte).
  await using server = startTestServer();
  await using redis = await RawConn.connect(server.port);
  const n = 20_000;
  const key = (i: number) => `blk:${"0".repeat(40)}${i.toString(16).padStart(8, "0")}`;
  const sets: Uint8Array[] = [];
  for (let i = 0; i < n; i++) sets.push(resp("SET", key(i), "1"));
  await redis.send(Uint8Array.from(sets.flatMap((request) => [...request])));
  assertEquals((await redis.readLines(n)).filter((line) => line !== "+OK\r"), []);
  const expected = Array.from({ length: n }, (_, i) => key(i))
    .filter((k) => k.includes("00000000000000000001", 4)).length;
  await redis.send(resp("KEYS", "*00000000000000000001*"));
  assertEquals(await redis.readLine(), `*${expected}\r`);
  assertEquals((await redis.readLines(2 * expected)).length, 2 * expected);
  await redis.send(resp("SCAN", "0", "MATCH", "*00000000000000000001*", "COUNT", String(2 * n)));
  assertEquals(await redis.readLines(3), ["*2\r", "$1\r", "0\r"]);
  assertEquals(await redis.readLine(), `*${expected}\r`);
  assertEquals((await redis.readLines(2 * expected)).length, 2 * expected);
});

Deno.test("KEYS and SCAN in one transaction, and pipelined: each answers its own keys (their lists share a first buffer)", async () => {
  await using server = startTestServer();
  await using redis = await RawConn.connect(server.port);
  await redis.send(resp("MSET", "apple", "1", "avocado", "2", "banana", "3", "blueberry", "4"));
  assertEquals(await redis.readLine(), "+OK\r");
  // Keys longer than the shared buffer's 4 KiB too: a list that grows out of it.
  await redis.send(resp("SET", `c${"x".repeat(5000)}`, "5"));
  assertEquals(await redis.readLine(), "+OK\r");
  await redis.send(resp("MULTI"));
  await redis.send(resp("KEYS", "a*"));
  await redis.send(resp("KEYS", "b*"));
  await redis.send(resp("KEYS", "c*"));
  await redis.send(resp("EXEC"));
  const lines = await redis.readLines(1 + 3 + 1 + 5 + 5 + 3);
  const sorted = (from: number, count: number) =>
    lines.slice(from, from + 2 * count).filter((_, i) => i % 2 === 1).sort();
  assertEquals(lines.slice(0, 4), ["+OK\r", "+QUEUED\r", "+QUEUED\r", "+QUEUED\r"]);
  assertEquals(lines.slice(4, 6), ["*3\r", "*2\r"]);
  assertEquals(sorted(6, 2), ["apple\r", "avocado\r"]);
  assertEquals(lines[10], "*2\r");
  assertEquals(sorted(11, 2), ["banana\r", "blueberry\r"]);
  assertEquals(lines.slice(15, 18), ["*1\r", "$5001\r", `c${"x".repeat(5000)}\r`]);
  await redis.send(
    new Uint8Array([
      ...resp("SCAN", "0", "MATCH", "b*", "COUNT", "1000"),
      ...resp("KEYS", "a*"),
    ]),
  );
  const scan = await redis.readLines(4 + 2 * 2 + 1 + 2 * 2);
  assertEquals(scan.slice(0, 4), ["*2\r", "$1\r", "0\r", "*2\r"]);
  assertEquals([scan[5], scan[7]].sort(), ["banana\r", "blueberry\r"]);
  assertEquals(scan[8], "*2\r");
  assertEquals([scan[10], scan[12]].sort(), ["apple\r", "avocado\r"]);
});
