/**
 * Unit tests of {@linkcode LogStore}'s compaction, on an in-memory file
 * system that knows what a kill -9 and a power cut leave behind: when it
 * starts, the writes made while it runs, a crash at each of its steps, a
 * log whose keys have all expired, a compaction that fails, and a rename
 * whose folder sync failed. No permissions.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "@std/assert";
import { FakeFs, gate, LogCollector, within } from "../testing/mod.ts";
import { committed, LOG_PATH, logContents, openTestLog } from "../testing/log_store.ts";
import type { FsyncMode, LogStore } from "./log.ts";
import type { CompactionStep } from "./log/compact.ts";
import { ManualClock } from "./clock.ts";
import { TextStore } from "./text.ts";

const test = (name: string, fn: (t: Deno.TestContext) => void | Promise<void>) =>
  Deno.test({ name, permissions: "none", fn });

/** Opens a log that compacts at 4 KiB, and calls `onStep` at each compaction step. */
async function compacting(
  fs: FakeFs,
  onStep: (step: CompactionStep) => Promise<void> | void = () => {},
  fsync: FsyncMode = "always",
  log: LogCollector["log"] = () => {},
): Promise<LogStore> {
  return await openTestLog(fs, {
    fsync,
    compactMinBytes: 4096,
    log,
  }, onStep);
}

/** Overwrites 20 keys until the log has compacted once. */
async function churn(store: LogStore, done: Promise<void>): Promise<void> {
  const text = new TextStore(store);
  let finished = false;
  done.then(() => finished = true);
  for (let i = 0; !finished; i++) {
    text.set(`key:${i % 20}`, `value ${i}`);
    if (i % 10 === 9) assertEquals(await committed(store), true);
    if (i > 100_000) throw new Error("no compaction");
  }
}

test("LogStore compacts the log once it is twice its live data, keeping every pair", async () => {
  const fs = new FakeFs();
  const switched = gate();
  const store = await compacting(fs, (step) => {
    if (step === "switched") switched.open();
  });
  await churn(store, switched.wait);
  const expected = await contentsOf(store);
  assert(fs.read(LOG_PATH).length < 4096, `compacted to ${fs.read(LOG_PATH).length} bytes`);
  assert(fs.releases >= 1, "the replaced file was let go once the rename was durable");
  assertEquals(await logContents(fs.afterKill()), expected);
  await store.close();
  assertEquals(await logContents(fs.afterPowerCut()), expected);
  assert(!fs.names.has(`${LOG_PATH}.compact`));
});

function equal(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

/** The pairs a store holds now. */
function contentsOf(store: LogStore): Promise<string[]> {
  return Promise.resolve(new TextStore(store).entries().map(([k, v]) => `${k}=${v}`).sort());
}

test("LogStore keeps the writes made during a compaction", async () => {
  const fs = new FakeFs();
  const paused = gate();
  const resume = gate();
  const switched = gate();
  const logs = new LogCollector();
  const store = await compacting(
    fs,
    async (step) => {
      if (step === "snapshot") {
        paused.open();
        await resume.wait;
      }
      if (step === "switched") switched.open();
    },
    "always",
    logs.log,
  );
  await churn(store, paused.wait);
  // The walk has begun: overwrite, delete, add, clear and refill while it waits.
  const text = new TextStore(store);
  for (let i = 0; i < 20; i += 2) text.set(`key:${i}`, `during ${i}`);
  text.delete("key:1");
  text.set("new", "during");
  assertEquals(await committed(store), true);
  const expected = await contentsOf(store);
  resume.open();
  await within("the compaction", switched.wait);
  assertEquals(await contentsOf(store), expected);
  assertEquals(await logContents(fs.afterKill()), expected);
  // The log line tells the live data from what came during the rewrite.
  const line =
    /compacted data file .*: \d+ -> (\d+) bytes \((\d+) of live data, (\d+) written during the rewrite\) in \d+ ms/;
  await logs.waitFor(line);
  const [, after, live, meanwhile] = logs.lines.map((l) => line.exec(l.message)).find((m) => m)!;
  assertEquals(Number(live) + Number(meanwhile), Number(after));
  await store.close();
});

test("LogStore: a crash at any step of a compaction leaves a file with every acknowledged write", async (t) => {
  for (const step of ["snapshot", "synced", "renamed", "switched"] as const) {
    await t.step(step, async () => {
      const fs = new FakeFs();
      const reached = gate();
      const resume = gate();
      let expected: string[] = [];
      // The batch being committed when the crash came: it may be there too.
      let attempted: string[] = [];
      let killed: FakeFs | undefined;
      let cut: FakeFs | undefined;
      const store = await compacting(fs, async (at) => {
        if (at !== step) return;
        killed = fs.afterKill();
        cut = fs.afterPowerCut();
        reached.open();
        await resume.wait;
      });
      // Each acknowledged state is remembered; the crash copies come at the step.
      const text = new TextStore(store);
      let stop = false;
      reached.wait.then(() => stop = true);
      for (let i = 0; !stop; i++) {
        text.set(`key:${i % 20}`, `value ${i}`);
        if (i % 7 === 0) text.delete(`key:${(i + 3) % 20}`);
        if (i % 10 === 9) {
          // At "synced" and "renamed" appends wait for the switch: the
          // commit of the last batch is not acknowledged before the crash.
          const state = await contentsOf(store);
          if (!stop) attempted = state;
          const acknowledged = await Promise.race([store.commit(), reached.wait]);
          if (acknowledged === true && !stop) expected = state;
        }
      }
      for (
        const [copy, what] of [[killed!, "after kill -9"], [cut!, "after a power cut"]] as const
      ) {
        const found = await logContents(copy);
        assert(
          equal(found, expected) || equal(found, attempted),
          `${what}: ${found.join(" ")} is neither the acknowledged state nor the next`,
        );
      }
      resume.open();
      await store.close();
    });
  }
});

test("LogStore compacts a log whose keys have all expired", async () => {
  // Expiry removes keys without a change to log: the trigger must still see
  // that the live data shrank.
  const fs = new FakeFs();
  const clock = new ManualClock(1_000_000);
  const switched = gate();
  const store = await openTestLog(fs, {
    clock,
    compactMinBytes: 4096,
    log: () => {},
  }, (step) => {
    if (step === "switched") switched.open();
  });
  const text = new TextStore(store);
  for (let i = 0; i < 500; i++) text.set(`session:${i}`, "x".repeat(20), { expireAtMs: 1_001_000 });
  assertEquals(await committed(store), true);
  const full = fs.read(LOG_PATH).length;
  clock.advance(2_000);
  while (store.sweep(1_000) > 0);
  assertEquals(store.size, 0);
  text.set("after", "expiry"); // The next write checks the trigger.
  assertEquals(await committed(store), true);
  await within("a compaction", switched.wait);
  assert(fs.read(LOG_PATH).length < 100, `${full} bytes compacted to ${fs.read(LOG_PATH).length}`);
  assertEquals(await contentsOf(store), ["after=expiry"]);
  await store.close();
});

test("LogStore: a compaction that fails leaves the log as it was, and in use", async () => {
  const fs = new FakeFs();
  const logs = new LogCollector();
  fs.failRenames = 1;
  const store = await openTestLog(fs, { compactMinBytes: 4096, log: logs.log });
  const failed = logs.waitFor(/compaction of data file .* failed \(the log is unchanged\)/);
  const done = gate();
  failed.then(done.open);
  await churn(store, done.wait);
  new TextStore(store).set("after", "failure");
  assertEquals(await committed(store), true);
  const expected = await contentsOf(store);
  assertEquals(await logContents(fs.afterKill()), expected);
  assert(!fs.names.has(`${LOG_PATH}.compact`));
  await store.close();
});

test("LogStore: after a rename whose folder sync failed, the next write syncs the folder first", async () => {
  const fs = new FakeFs();
  const paused = gate();
  const resume = gate();
  const switched = gate();
  const logs = new LogCollector();
  const store = await openTestLog(fs, {
    compactMinBytes: 4096,
    log: logs.log,
  }, async (step) => {
    if (step === "snapshot") {
      paused.open();
      await resume.wait;
    }
    if (step === "renamed") fs.failDirSyncs = 2; // The switch's, then the next write's.
    if (step === "switched") switched.open();
  });
  // Writes stop while the compaction waits, so none is pending at the switch.
  await churn(store, paused.wait);
  resume.open();
  await within("the switch", switched.wait);
  assertMatch(logs.errors().join("\n"), /cannot sync the folder of data file/);
  // The rename may not survive a power cut: the old file is let go whole
  // (release() never empties a file), and its second name removed.
  assertEquals(fs.releases, 1);
  assertEquals([...fs.names.keys()].filter((name) => name.endsWith(".replaced")), []);
  assertEquals(fs.handles.size, 1, "only the new file is open");
  const text = new TextStore(store);
  text.set("x", "1");
  assertEquals(await committed(store), false, "the folder is still not synced");
  text.set("x", "2");
  assertEquals(await committed(store), true);
  await store.close();
  const after = await logContents(fs.afterPowerCut());
  assert(after.includes("x=2"));
});
