/**
 * Unit tests of {@linkcode LogStore} when the disk fails it, on an
 * in-memory file system that can run out of space and fail a sync on cue:
 * the changes that could not be made durable are undone (a clear() too),
 * the file is cut back to its last good record, a failed everysec sync
 * rewrites the log from memory, and WATCH's listener hears of every undo.
 * No permissions.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "@std/assert";
import { FakeFs, gate, LogCollector, within } from "../testing/mod.ts";
import { committed, LOG_PATH, logContents, openTestLog, turn } from "../testing/log_store.ts";
import type { FsyncMode } from "./log.ts";
import { TextStore } from "./text.ts";
import { MemoryStore } from "./memory.ts";

const MODES: FsyncMode[] = ["always", "everysec", "no"];
const test = (name: string, fn: (t: Deno.TestContext) => void | Promise<void>) =>
  Deno.test({ name, permissions: "none", fn });

test("LogStore with everysec: after a failed sync, the log is rewritten from memory even if no write comes", async () => {
  const fs = new FakeFs();
  const logs = new LogCollector();
  const store = await openTestLog(fs, { fsync: "everysec", log: logs.log });
  new TextStore(store).set("a", "1");
  assertEquals(await committed(store), true);
  fs.failSyncs = 1;
  await within(
    "the failed sync's report",
    logs.waitFor(/cannot sync data file .*rewriting it from memory/),
  );
  // No write follows: the timer starts the rewrite.
  await within("the rewrite", logs.waitFor(/compacted/));
  await store.close();
  assertEquals(await logContents(fs.afterPowerCut()), ["a=1"]);
});

test("LogStore undoes changes it cannot write (disk full) and cuts the file back; writes work again once there is room", async () => {
  for (const fsync of MODES) {
    const fs = new FakeFs();
    const logs = new LogCollector();
    const store = await openTestLog(fs, { fsync, log: logs.log });
    const text = new TextStore(store);
    text.set("a", "old", { lineText: true });
    text.set("d", "kept", { expireAtMs: Date.now() + 60_000 });
    assertEquals(await committed(store), true);
    const before = fs.read(LOG_PATH);
    fs.capacity = fs.usedBytes() + 10; // The first record fits in part only.
    text.set("a", "new");
    text.set("n", "1");
    text.delete("d");
    text.expire("a", Date.now() + 1000);
    assertEquals(await committed(store), false, fsync);
    assertEquals(text.get("a"), "old");
    assertEquals(text.get("n"), undefined);
    assertEquals(text.get("d"), "kept");
    assert(store.expiry(new TextEncoder().encode("d"), 0, 1) > Date.now());
    assertEquals(text.expiry("a"), -1);
    assertEquals(fs.read(LOG_PATH), before, "no half record left behind");
    assertMatch(
      logs.errors()[0]!,
      /cannot write data file \/data\/kv\.log: No space left on device .* 4 change\(s\) undone/,
    );
    // Still full: a second try fails the same way.
    text.set("n", "1");
    assertEquals(await committed(store), false);
    fs.capacity = Infinity;
    text.set("n", "1");
    assertEquals(await committed(store), true, `${fsync}: room again`);
    assertMatch(logs.lines.at(-1)!.message, /writes succeed again \(5 changes refused\)/);
    await store.close();
    assertEquals(await logContents(fs.afterKill()), ["a=old*", "d=kept", "n=1"]);
  }
});

test("LogStore with always undoes every change past the last sync when a sync fails", async () => {
  const fs = new FakeFs();
  const store = await openTestLog(fs, { fsync: "always", log: () => {} });
  const text = new TextStore(store);
  text.set("a", "1");
  assertEquals(await committed(store), true);
  const held = gate();
  fs.beforeSync = () => held.wait;
  fs.failSyncs = 1;
  text.set("a", "2");
  const first = store.commit()!;
  await turn();
  text.set("b", "3"); // Written by a later turn, while the failing sync runs.
  const second = store.commit()!;
  await turn();
  fs.beforeSync = undefined;
  held.open();
  assertEquals([await first, await second], [false, false]);
  assertEquals([text.get("a"), text.get("b")], ["1", undefined]);
  assertEquals(await logContents(fs.afterKill()), ["a=1"], "the file was cut back");
  text.set("b", "4");
  assertEquals(await committed(store), true);
  await store.close();
  assertEquals(await logContents(fs.afterPowerCut()), ["a=1", "b=4"]);
});

test("LogStore puts the whole store back when a clear() cannot be made durable", async () => {
  const fs = new FakeFs();
  const store = await openTestLog(fs, { log: () => {} });
  const text = new TextStore(store);
  for (let i = 0; i < 100; i++) text.set(`k${i}`, `v${i}`);
  assertEquals(await committed(store), true);
  fs.capacity = fs.usedBytes();
  store.clear();
  text.set("new", "x");
  assertEquals(store.size, 1);
  assertEquals(await committed(store), false);
  assertEquals(store.size, 100);
  assertEquals(text.get("k42"), "v42");
  assertEquals(text.get("new"), undefined);
  await store.close();
});

test("LogStore tells its listener of each change, of a rollback's too, and of a clear and its undoing", async () => {
  const fs = new FakeFs();
  const store = await openTestLog(fs, { log: () => {} });
  const text = new TextStore(store);
  text.set("k", "1");
  assertEquals(await committed(store), true);
  const seen: string[] = [];
  const decoder = new TextDecoder();
  store.listen({
    keyChanged: (key, start, end) => seen.push(decoder.decode(key.subarray(start, end))),
    changedAll: (all) => seen.push(`all of ${all.size}`),
  });
  fs.capacity = fs.usedBytes();
  text.set("k", "2"); // Applied, then undone: both are changes a WATCH must see.
  assertEquals(await committed(store), false);
  assertEquals(text.get("k"), "1");
  assertEquals(seen, ["k", "k"]);
  seen.length = 0;
  store.clear(); // Cleared, then put back whole.
  assertEquals(await committed(store), false);
  assertEquals(seen, ["all of 1", "all of 1"]);
  fs.capacity = Infinity;
  seen.length = 0;
  store.listen(undefined);
  text.set("k", "3");
  assertEquals(seen, [], "no listener, no call");
  await store.close();
});

test("LogStore puts back what it cannot write even when the store is at its cap with little garbage", async () => {
  const fs = new FakeFs();
  const logs = new LogCollector();
  const store = await openTestLog(fs, {
    fsync: "always",
    log: logs.log,
    newStore: () => new MemoryStore({ maxArenaBytes: 4096 }),
  });
  const text = new TextStore(store);
  const old = "o".repeat(400);
  text.set("a", old);
  text.set("f", "f".repeat(2000));
  text.set("g", "g".repeat(1200));
  assertEquals(await committed(store), true);
  fs.capacity = fs.usedBytes() + 10; // The next record does not fit on the disk.
  // Fits in memory (a 100-byte record in the room left); its undo needs the
  // 400 bytes back, with less garbage than a store at its cap compacts for.
  text.set("a", "n".repeat(100));
  assertEquals(await committed(store), false);
  assertEquals(text.get("a"), old);
  assertEquals([text.get("f")?.length, text.get("g")?.length], [2000, 1200]);
  fs.capacity = Infinity;
  await store.close();
});
