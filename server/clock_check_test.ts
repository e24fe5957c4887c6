/**
 * A clock of the embedder's own that shows something else than whole
 * milliseconds after `serve()` has started on it (server/clock_check.ts),
 * spoken to over real sockets by a Redis client and a line client.
 */

import { assertEquals, assertMatch } from "@std/assert";
import { ManualClock } from "../store/clock.ts";
import { wholeMsClock } from "./clock_check.ts";
import { SYSTEM_CLOCK } from "../store/clock.ts";
import { LogCollector, RawConn, startTestServer, talk } from "../testing/mod.ts";

Deno.test("a clock of one's own that shows a fraction after serve(): its commands read whole ms, no connection is lost, and the log says so once", async () => {
  // Before: PTTL answered :9885 for 99.5 ms left, and SET ... PX threw in the
  // connection (BigInt of 5000.5), which closed it.
  let now = 5000;
  const logs = new LogCollector();
  await using server = startTestServer({ clock: { now: () => now }, log: logs.log });
  await using redis = await RawConn.connect(server.port);
  await using line = await RawConn.connect(server.port);
  assertEquals(await talk(redis, [["SET", "s", "v", "PX", "100"]], 1), ["+OK"]);
  now += 0.1 * 3; // 5000.3
  assertEquals(
    await talk(redis, [["PTTL", "s"], ["SET", "t", "v", "PX", "200"], ["PTTL", "t"], ["TIME"]], 8),
    [":100", "+OK", ":200", "*2", "$1", "5", "$1", "0"],
  );
  now = 5099.9; // 5099: "s" has 1 ms left
  assertEquals(await talk(redis, [["PTTL", "s"]], 1), [":1"]);
  now = 5100.5;
  await line.send("GET, s\n");
  assertEquals(await line.readLine(), "Not exist!");
  // No time at all: the last good reading (5100) stands in for it.
  for (const bad of [NaN, -1, Infinity, 2 ** 53]) {
    now = bad;
    assertEquals(await talk(redis, [["PTTL", "t"], ["EXISTS", "t"]], 2), [":100", ":1"]);
  }
  now = 5200;
  assertEquals(await talk(redis, [["EXISTS", "t"], ["PING"]], 2), [":0", "+PONG"]);
  const errors = logs.errors();
  assertEquals(errors.length, 1, errors.join("\n"));
  assertMatch(
    errors[0]!,
    /^the clock's now\(\) showed 5000\.3: expected whole milliseconds .*; the server reads 5000 instead/,
  );
});

Deno.test("wholeMsClock() leaves the clocks that show whole ms only as they are", () => {
  const manual = new ManualClock(0);
  assertEquals(wholeMsClock(manual, () => {}), manual);
  assertEquals(wholeMsClock(SYSTEM_CLOCK, () => {}), SYSTEM_CLOCK);
});
