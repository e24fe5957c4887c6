/**
 * Tests of {@linkcode SYSTEM_CLOCK}: one time per task. Over real sockets
 * on port 0 for what it is for: a command that reads a key and writes it
 * again sees one time, even when the real clock passes the key's expiry
 * between the two.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { SYSTEM_CLOCK } from "./clock.ts";
import { MemoryStore } from "./memory.ts";
import type { ValueSink } from "./store.ts";
import { RawConn, startTestServer } from "../testing/mod.ts";

function busyUntil(ms: number): void {
  while (Date.now() <= ms) { /* the real clock passes ms */ }
}

Deno.test("SYSTEM_CLOCK reads one time per task, and the next task reads it anew", async () => {
  const first = SYSTEM_CLOCK.now();
  busyUntil(first + 2);
  assertEquals(SYSTEM_CLOCK.now(), first, "the same task: the same time");
  await Promise.resolve();
  assert(SYSTEM_CLOCK.now() > first, "a later task: the time now");
});

/** A store on the real clock that, once armed, holds each get until the real time passes `untilMs`. */
class SlowGet extends MemoryStore {
  untilMs = 0;
  aliveAtGet = false;
  override get(key: Uint8Array, start: number, end: number, out: ValueSink): boolean {
    const found = super.get(key, start, end, out);
    if (this.untilMs > 0) {
      this.aliveAtGet = found;
      busyUntil(this.untilMs);
      this.untilMs = 0;
    }
    return found;
  }
}

const encoder = new TextEncoder();
const resp = (...words: string[]) =>
  encoder.encode(
    `*${words.length}\r\n` +
      words.map((word) => `$${encoder.encode(word).length}\r\n${word}\r\n`).join(""),
  );

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
