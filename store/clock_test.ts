/**
 * Tests of {@linkcode SYSTEM_CLOCK}: one time per command, the time now
 * outside one. Over real sockets on port 0 for what it is for: a command that
 * reads a key and writes it again sees one time, even when the real clock
 * passes the key's expiry between the two; the next command, its own time.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { holdCommandTime, releaseCommandTime, SYSTEM_CLOCK } from "./clock.ts";
import { MemoryStore } from "./memory.ts";
import { TextStore } from "./text.ts";
import type { ValueSink, WriteOptions } from "./store.ts";
import { RawConn, respBytes as resp, stallUntil, startTestServer } from "../testing/mod.ts";

Deno.test("SYSTEM_CLOCK reads one time while a command holds it, and the time now outside one", () => {
  const first = SYSTEM_CLOCK.now();
  stallUntil(first + 2);
  assert(SYSTEM_CLOCK.now() > first, "no command: the time now, even in one synchronous run");
  holdCommandTime();
  try {
    const held = SYSTEM_CLOCK.now();
    stallUntil(held + 2);
    assertEquals(SYSTEM_CLOCK.now(), held, "within a command: the one time");
  } finally {
    releaseCommandTime();
  }
  assert(SYSTEM_CLOCK.now() > first + 2, "after it: the time now");
});

Deno.test("a store used as a library sees its keys expire within one synchronous run", () => {
  const store = new TextStore(new MemoryStore());
  const expireAtMs = Date.now() + 2;
  store.set("session", "abc", { expireAtMs });
  stallUntil(expireAtMs);
  assertEquals(store.get("session"), undefined);
});

/** A store on the real clock that, once armed, holds each get until the real time passes `untilMs`. */
class SlowGet extends MemoryStore {
  untilMs = 0;
  aliveAtGet = false;
  override get(key: Uint8Array, start: number, end: number, out: ValueSink): boolean {
    const found = super.get(key, start, end, out);
    if (this.untilMs > 0) {
      this.aliveAtGet = found;
      stallUntil(this.untilMs);
      this.untilMs = 0;
    }
    return found;
  }
}

Deno.test("a command that reads a key and writes it keeps the key's expiry when the real clock passes it midway", async (t) => {
  const store = new SlowGet();
  await using server = startTestServer({ store });
  await using redis = await RawConn.connect(server.port);
  for (
    const command of [["INCR", "k"], ["APPEND", "k", "1"], ["INCRBYFLOAT", "k", "1"], [
      "SETRANGE",
      "k",
      "0",
      "7",
    ]]
  ) {
    await t.step(command[0]!, async () => {
      // The key must be alive when the command reads it: a loaded machine
      // that comes later than its end tries again with more time.
      for (let marginMs = 200;; marginMs *= 4) {
        const expireAt = Date.now() + marginMs;
        await redis.send(resp("SET", "k", "5", "PXAT", String(expireAt)));
        assertEquals(await redis.readLine(), "+OK\r");
        store.untilMs = expireAt; // Its get waits until the key's time has passed.
        await redis.send(resp(...command));
        const answer = await redis.readLine();
        if (answer?.startsWith("$")) await redis.readLine(); // A bulk string's bytes.
        if (!store.aliveAtGet) continue;
        // A later request, a later time: the key's time has passed, and it is gone.
        await redis.send(resp("PTTL", "k"));
        assertEquals(await redis.readLine(), ":-2\r");
        break;
      }
    });
  }
});

/** A store on the real clock whose get of `slow` takes `slowMs`, and that tells whether each set with an expiry came after it. */
class SlowKey extends MemoryStore {
  slowMs = 0;
  expiredAtSet: boolean[] = [];
  override get(key: Uint8Array, start: number, end: number, out: ValueSink): boolean {
    const found = super.get(key, start, end, out);
    if (new TextDecoder().decode(key.subarray(start, end)) === "slow") {
      stallUntil(Date.now() + this.slowMs);
    }
    return found;
  }
  override set(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
    options?: WriteOptions,
  ): void {
    const expireAtMs = options?.expireAtMs ?? 0;
    if (expireAtMs > 0) this.expiredAtSet.push(expireAtMs <= Date.now());
    super.set(key, keyStart, keyEnd, value, valueStart, valueEnd, options);
  }
}

Deno.test("a SET PX pipelined after a slow command counts its expiry from its own start, as Redis does", async () => {
  const store = new SlowKey();
  await using server = startTestServer({ store });
  await using redis = await RawConn.connect(server.port);
  // A key with an expiry: its GET reads the clock, before the 200 ms it takes.
  await redis.send(resp("SET", "slow", "x", "PX", "600000"));
  assertEquals(await redis.readLine(), "+OK\r");
  store.slowMs = 200;
  store.expiredAtSet.length = 0;
  // One write: the slow GET, then a lock for 100 ms (a KEYS over a big store, then SET PX).
  await redis.send(
    new Uint8Array([...resp("GET", "slow"), ...resp("SET", "lock", "me", "PX", "100")]),
  );
  assertEquals(await redis.readLine(), "$1\r");
  assertEquals(await redis.readLine(), "x\r");
  assertEquals(await redis.readLine(), "+OK\r");
  // It was written with 100 ms to live, not already expired by the GET's time.
  assertEquals(store.expiredAtSet, [false]);
});
