/**
 * Unit tests of {@linkcode LogStore} on an in-memory file system that
 * knows what a kill -9 and a power cut leave behind: group commit, what
 * each fsync mode promises, undoing changes that could not be made durable,
 * and compaction (including a crash at each of its steps). No permissions.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import { setImmediate } from "node:timers";
import { FakeFs, gate, LogCollector, within } from "../testing/mod.ts";
import type { FsyncMode, LogStore } from "./log.ts";
import type { CompactionHook, CompactionStep } from "./log/compact.ts";
import { MAGIC } from "./log/format.ts";
import { type OpenLogOptions, openLogWith } from "./log/open.ts";
import { ManualClock } from "./clock.ts";
import { MemoryStore } from "./memory.ts";
import { LINE_TEXT, NO_KEY, StoreFullError } from "./store.ts";
import { TextStore } from "./text.ts";

const PATH = "/data/kv.log";
const MODES: FsyncMode[] = ["always", "everysec", "no"];
const test = (name: string, fn: (t: Deno.TestContext) => void | Promise<void>) =>
  Deno.test({ name, permissions: "none", fn });

function open(
  fs: FakeFs,
  options: OpenLogOptions = {},
  compactionHook?: CompactionHook,
): Promise<LogStore> {
  return openLogWith(PATH, options, { fs, compactionHook });
}

/** Every pair a fresh open of `fs` loads, as sorted `key=value` strings (`*` marks line text). */
async function contents(fs: FakeFs): Promise<string[]> {
  const store = await open(fs);
  const pairs: string[] = [];
  const decoder = new TextDecoder();
  let cursor = 0;
  do {
    cursor = store.scan(cursor, 1024, (bytes, ks, ke, vs, ve, flags) => {
      const mark = flags & LINE_TEXT ? "*" : "";
      pairs.push(
        `${decoder.decode(bytes.subarray(ks, ke))}=${
          decoder.decode(bytes.subarray(vs, ve))
        }${mark}`,
      );
    });
  } while (cursor !== 0);
  await store.close();
  return pairs.sort();
}

/** Whether the changes so far are durable: `commit()`'s answer, `undefined` meaning nothing to wait for. */
async function committed(store: LogStore): Promise<boolean> {
  return (await store.commit()) ?? true;
}

/** `commit()`'s promise, which must be there: `what` is still being made durable. */
function mustWait(commit: Promise<boolean> | undefined, what: string): Promise<boolean> {
  if (commit === undefined) throw new Error(`commit() found nothing to wait for, but ${what}`);
  return commit;
}

/** Lets the event loop finish its turn: the log writes what was appended in it. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

test("LogStore logs every kind of change; a restart after kill -9 loads them all", async () => {
  for (const fsync of MODES) {
    const fs = new FakeFs();
    const store = await open(fs, { fsync });
    const text = new TextStore(store);
    text.set("line", "typed", { lineText: true });
    text.set("binary", "bytes");
    text.set("gone", "x");
    text.delete("gone");
    text.set("ttl", "t", { expireAtMs: Date.now() + 3_600_000 });
    text.expire("ttl", 0);
    text.set("cleared", "c");
    store.clear();
    text.set("after", "clear", { lineText: true });
    assertEquals(text.delete("never there"), false);
    assertEquals(await committed(store), true, fsync);
    assertEquals(await contents(fs.afterKill()), ["after=clear*"], fsync);
    text.set("line", "typed", { lineText: true });
    text.set("binary", "bytes");
    assertEquals(await committed(store), true);
    const expected = ["after=clear*", "binary=bytes", "line=typed*"];
    assertEquals(await contents(fs.afterKill()), expected, fsync);
    await store.close();
    assertEquals(await contents(fs.afterPowerCut()), expected, `${fsync}: close() syncs`);
  }
});

test("LogStore logs an EXPIRE whose time passes while it runs as the delete the store made of it", async () => {
  // A clock that ticks 1 ms at each reading: for some of these deadlines
  // the store takes the expiry, and the time has passed by the time the
  // log reads the pair back to write it (the store then drops the key).
  let now = 1_000;
  const clock = { now: () => now++ };
  const fs = new FakeFs();
  const store = await open(fs, { clock, newStore: () => new MemoryStore({ clock }) });
  const text = new TextStore(store);
  const deadlines: number[] = [];
  for (let ahead = 1; ahead <= 6; ahead++) {
    text.set(`k${ahead}`, "v");
    deadlines.push(now + ahead);
    assertEquals(text.expire(`k${ahead}`, deadlines.at(-1)!), true, `${ahead} ms ahead`);
  }
  assertEquals(await committed(store), true);
  await store.close();
  // Loaded at a time before every deadline: each key is gone, or has its
  // new deadline; never the old pair without one.
  const reopened = await open(fs, { clock: new ManualClock(0) });
  const expiries = deadlines.map((_, i) => new TextStore(reopened).expiry(`k${i + 1}`));
  await reopened.close();
  expiries.forEach((expiry, i) => {
    assert(expiry === NO_KEY || expiry === deadlines[i], `k${i + 1}: ${expiry}`);
  });
  assert(expiries.includes(NO_KEY), "some deadline passed while its EXPIRE ran");
});

test("LogStore.together(): a crash at any byte of its record keeps all of its changes or none", async () => {
  const fs = new FakeFs();
  const store = await open(fs, { fsync: "always" });
  const text = new TextStore(store);
  text.set("a", "old");
  text.set("c", "old");
  assertEquals(await committed(store), true);
  const before = fs.read(PATH).length;
  store.together(() => {
    text.set("a", "new");
    text.set("b", "x".repeat(300));
    text.delete("c");
  });
  assertEquals(await committed(store), true);
  await store.close();
  const whole = fs.read(PATH);
  const old = ["a=old", "c=old"];
  const next = ["a=new", `b=${"x".repeat(300)}`];
  for (let cut = before; cut <= whole.length; cut++) {
    const torn = new FakeFs();
    torn.put(PATH, whole.subarray(0, cut));
    assertEquals(await contents(torn), cut === whole.length ? next : old, `cut at ${cut}`);
  }
});

test("LogStore tells the clock its store reads, newStore's as openLog's", async () => {
  const clock = new ManualClock(1_000);
  const fs = new FakeFs();
  const store = await open(fs, { clock });
  assert(store.clock === clock);
  await store.close();
  const other = new ManualClock(5_000);
  const made = await open(new FakeFs(), { newStore: () => new MemoryStore({ clock: other }) });
  assert(made.clock === other, "the clock expiry reads, not openLog's default");
  await made.close();
});

test("LogStore.commit() is undefined with nothing to wait for, and one promise per turn", async () => {
  const fs = new FakeFs();
  const store = await open(fs, { fsync: "always" });
  assertEquals(store.commit(), undefined);
  const text = new TextStore(store);
  const writes = fs.writes;
  const syncs = fs.syncs;
  // Three connections' batches in one turn of the event loop.
  text.set("a", "1");
  const first = store.commit();
  text.set("b", "2");
  text.delete("a");
  const second = store.commit();
  text.get("b");
  const third = store.commit();
  assert(first !== undefined && first === second && second === third);
  assertEquals(await first, true);
  assertEquals([fs.writes - writes, fs.syncs - syncs], [1, 1], "one write, one sync");
  assertEquals(store.commit(), undefined);
  await store.close();
});

test("LogStore with always resolves a commit only once synced; changes meanwhile share the next write and sync", async () => {
  const fs = new FakeFs();
  const store = await open(fs, { fsync: "always" });
  const text = new TextStore(store);
  let held = gate();
  const entered = gate();
  fs.beforeSync = () => {
    entered.open();
    return held.wait;
  };
  text.set("a", "1");
  let firstDone = false;
  const first = store.commit()!.then((ok) => (firstDone = true, ok));
  await within("the first sync", entered.wait);
  assertEquals(firstDone, false);
  assertEquals(await contents(fs.afterKill()), ["a=1"], "written");
  assertEquals(await contents(fs.afterPowerCut()), [], "not synced yet");
  // While that sync runs: two more turns of changes, gathered for one write.
  text.set("b", "2");
  const second = store.commit()!;
  await turn();
  text.set("c", "3");
  const third = store.commit()!;
  assert(second === third, "one group");
  await turn();
  const writes = fs.writes;
  const syncs = fs.syncs;
  const release = held;
  held = { wait: Promise.resolve(), open: () => {} };
  release.open();
  assertEquals(await first, true);
  assertEquals([await second, await third], [true, true]);
  assertEquals([fs.writes - writes, fs.syncs - syncs], [1, 1], "one write and one sync for both");
  assertEquals(await contents(fs.afterPowerCut()), ["a=1", "b=2", "c=3"]);
  await store.close();
});

test("LogStore with everysec answers once written, and syncs about once a second", async () => {
  const fs = new FakeFs();
  const store = await open(fs, { fsync: "everysec" });
  new TextStore(store).set("a", "1");
  const syncs = fs.syncs;
  assertEquals(await committed(store), true);
  assertEquals(fs.syncs, syncs, "not synced before the answer");
  assertEquals(await contents(fs.afterKill()), ["a=1"], "a kill -9 keeps it");
  assertEquals(await contents(fs.afterPowerCut()), [], "a power cut may lose it");
  const synced = gate();
  fs.beforeSync = () => Promise.resolve(synced.open());
  await within("the once-a-second sync", synced.wait);
  fs.beforeSync = undefined;
  await store.close();
  assertEquals(await contents(fs.afterPowerCut()), ["a=1"]);
});

test("LogStore with everysec writes at the turn's end on the event loop, on a thread only while its sync runs or past 1 MiB", async () => {
  for (const fsync of ["everysec", "no"] as const) {
    const fs = new FakeFs();
    const store = await open(fs, { fsync });
    const text = new TextStore(store);
    let onThread = 0; // beforeWrite is awaited by write(), not by writeSync().
    fs.beforeWrite = () => (onThread++, Promise.resolve());
    text.set("a", "1");
    assertEquals(await committed(store), true);
    assertEquals(onThread, 0, `${fsync}: a small write blocks`);
    text.set("big", "x".repeat((1 << 20) + 1));
    assertEquals(await committed(store), true);
    assertEquals(onThread, 1, `${fsync}: past 1 MiB, on a thread`);
    if (fsync === "everysec") {
      const held = gate();
      const entered = gate();
      fs.beforeSync = () => (entered.open(), held.wait);
      await within("the once-a-second sync", entered.wait);
      text.set("b", "2");
      const during = committed(store);
      assertEquals(await during, true, "written while the sync is held");
      assertEquals(onThread, 2, "while the sync runs, on a thread");
      held.open();
      fs.beforeSync = undefined;
    }
    fs.beforeWrite = undefined;
    await store.close();
    assertEquals((await contents(fs.afterPowerCut())).length, fsync === "everysec" ? 3 : 2);
  }
});

test("LogStore.commit() called after the turn's write began still waits for it, and says false if it fails", async () => {
  // always: the write is done and its sync held when commit() comes.
  {
    const fs = new FakeFs();
    const store = await open(fs, { fsync: "always" });
    const text = new TextStore(store);
    let held = gate();
    let entered = gate();
    fs.beforeSync = () => (entered.open(), held.wait);
    text.set("a", "1");
    await turn(); // The writer writes "a" in this turn; nobody has committed yet.
    await within("the sync of a", entered.wait);
    const late = mustWait(store.commit(), "the sync of a is still running");
    let done = false;
    const result = late.then((ok) => (done = true, ok));
    await turn();
    assertEquals(done, false, "not before the sync");
    held.open();
    assertEquals(await result, true);
    assertEquals(await contents(fs.afterPowerCut()), ["a=1"]);
    // The same with a sync that fails: the late commit hears of it.
    held = gate();
    entered = gate();
    fs.failSyncs = 1;
    text.set("b", "2");
    await turn();
    await within("the sync of b", entered.wait);
    const failing = mustWait(store.commit(), "the sync of b is still running");
    held.open();
    assertEquals(await failing, false);
    assertEquals(text.get("b"), undefined, "undone");
    fs.beforeSync = undefined;
    await store.close();
  }
  // everysec and no: the write itself is in flight (on a worker thread,
  // as a write past 1 MiB is) when commit() comes.
  for (const fsync of ["everysec", "no"] as const) {
    const fs = new FakeFs();
    const store = await open(fs, { fsync });
    const text = new TextStore(store);
    text.set("a", "old");
    assertEquals(await committed(store), true);
    const held = gate();
    const entered = gate();
    fs.beforeWrite = () => (entered.open(), held.wait);
    fs.capacity = fs.usedBytes() + 5; // The write will not fit.
    text.set("a", "a new value that does not fit".padEnd(1 << 20, "."));
    await turn();
    await within("the write", entered.wait);
    const late = mustWait(store.commit(), `${fsync}: the write is in flight`);
    held.open();
    assertEquals(await late, false, fsync);
    assertEquals(text.get("a"), "old", `${fsync}: undone`);
    fs.beforeWrite = undefined;
    fs.capacity = Infinity;
    await store.close();
  }
});

test("LogStore with everysec: after a failed sync, the log is rewritten from memory even if no write comes", async () => {
  const fs = new FakeFs();
  const logs = new LogCollector();
  const store = await open(fs, { fsync: "everysec", log: logs.log });
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
  assertEquals(await contents(fs.afterPowerCut()), ["a=1"]);
});

test("LogStore undoes changes it cannot write (disk full) and cuts the file back; writes work again once there is room", async () => {
  for (const fsync of MODES) {
    const fs = new FakeFs();
    const logs = new LogCollector();
    const store = await open(fs, { fsync, log: logs.log });
    const text = new TextStore(store);
    text.set("a", "old", { lineText: true });
    text.set("d", "kept", { expireAtMs: Date.now() + 60_000 });
    assertEquals(await committed(store), true);
    const before = fs.read(PATH);
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
    assertEquals(fs.read(PATH), before, "no half record left behind");
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
    assertEquals(await contents(fs.afterKill()), ["a=old*", "d=kept", "n=1"]);
  }
});

test("LogStore with always undoes every change past the last sync when a sync fails", async () => {
  const fs = new FakeFs();
  const store = await open(fs, { fsync: "always", log: () => {} });
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
  assertEquals(await contents(fs.afterKill()), ["a=1"], "the file was cut back");
  text.set("b", "4");
  assertEquals(await committed(store), true);
  await store.close();
  assertEquals(await contents(fs.afterPowerCut()), ["a=1", "b=4"]);
});

test("LogStore puts the whole store back when a clear() cannot be made durable", async () => {
  const fs = new FakeFs();
  const store = await open(fs, { log: () => {} });
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
  const store = await open(fs, { log: () => {} });
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

test("LogStore while close() runs: a change before it is kept, one after its last write undone; no commit hangs", async () => {
  const fs = new FakeFs();
  const store = await open(fs, { log: () => {} });
  const text = new TextStore(store);
  text.set("a", "1");
  const first = store.commit()!;
  const closing = store.close();
  text.set("b", "late"); // Before close() writes: it is written with a.
  const second = store.commit()!;
  assertEquals(await within("the first commit", first), true);
  assertEquals(await within("the second commit", second), true);
  await closing;
  assertEquals(await contents(fs), ["a=1", "b=late"]);
});

test("LogStore after close(): a change is undone and its commit resolves false, never hangs", async () => {
  const fs = new FakeFs();
  const store = await open(fs, { log: () => {} });
  const text = new TextStore(store);
  text.set("a", "1");
  await store.close();
  text.set("b", "late");
  assertEquals(await within("the commit after close", store.commit()!), false);
  assertEquals([text.get("a"), text.get("b")], ["1", undefined]);
  assertEquals(await contents(fs), ["a=1"]);
});

test("LogStore logs nothing for a write the store refuses (full arena)", async () => {
  const fs = new FakeFs();
  const store = await open(fs, { newStore: () => new MemoryStore({ maxArenaBytes: 1024 }) });
  const size = fs.read(PATH).length;
  assertThrows(() => new TextStore(store).set("big", "x".repeat(2000)), StoreFullError);
  assertEquals(store.commit(), undefined);
  await store.close();
  assertEquals(fs.read(PATH).length, size);
});

/** Opens a log that compacts at 4 KiB, and calls `onStep` at each compaction step. */
async function compacting(
  fs: FakeFs,
  onStep: (step: CompactionStep) => Promise<void> | void = () => {},
  fsync: FsyncMode = "always",
  log: LogCollector["log"] = () => {},
): Promise<LogStore> {
  return await open(fs, {
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
  assert(fs.read(PATH).length < 4096, `compacted to ${fs.read(PATH).length} bytes`);
  assert(fs.releases >= 1, "the replaced file was let go once the rename was durable");
  assertEquals(await contents(fs.afterKill()), expected);
  await store.close();
  assertEquals(await contents(fs.afterPowerCut()), expected);
  assert(!fs.names.has(`${PATH}.compact`));
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
  assertEquals(await contents(fs.afterKill()), expected);
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
        const found = await contents(copy);
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
  const store = await open(fs, {
    clock,
    compactMinBytes: 4096,
    log: () => {},
  }, (step) => {
    if (step === "switched") switched.open();
  });
  const text = new TextStore(store);
  for (let i = 0; i < 500; i++) text.set(`session:${i}`, "x".repeat(20), { expireAtMs: 1_001_000 });
  assertEquals(await committed(store), true);
  const full = fs.read(PATH).length;
  clock.advance(2_000);
  while (store.sweep(1_000) > 0);
  assertEquals(store.size, 0);
  text.set("after", "expiry"); // The next write checks the trigger.
  assertEquals(await committed(store), true);
  await within("a compaction", switched.wait);
  assert(fs.read(PATH).length < 100, `${full} bytes compacted to ${fs.read(PATH).length}`);
  assertEquals(await contentsOf(store), ["after=expiry"]);
  await store.close();
});

test("LogStore: a compaction that fails leaves the log as it was, and in use", async () => {
  const fs = new FakeFs();
  const logs = new LogCollector();
  fs.failRenames = 1;
  const store = await open(fs, { compactMinBytes: 4096, log: logs.log });
  const failed = logs.waitFor(/compaction of data file .* failed \(the log is unchanged\)/);
  const done = gate();
  failed.then(done.open);
  await churn(store, done.wait);
  new TextStore(store).set("after", "failure");
  assertEquals(await committed(store), true);
  const expected = await contentsOf(store);
  assertEquals(await contents(fs.afterKill()), expected);
  assert(!fs.names.has(`${PATH}.compact`));
  await store.close();
});

test("LogStore: after a rename whose folder sync failed, the next write syncs the folder first", async () => {
  const fs = new FakeFs();
  const paused = gate();
  const resume = gate();
  const switched = gate();
  const logs = new LogCollector();
  const store = await open(fs, {
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
  // The rename may not survive a power cut: the old file is closed whole, not emptied.
  assertEquals(fs.releases, 0);
  assertEquals(fs.handles.size, 1, "only the new file is open");
  const text = new TextStore(store);
  text.set("x", "1");
  assertEquals(await committed(store), false, "the folder is still not synced");
  text.set("x", "2");
  assertEquals(await committed(store), true);
  await store.close();
  const after = await contents(fs.afterPowerCut());
  assert(after.includes("x=2"));
});

test("LogStore.close() writes and syncs what is pending, in every mode", async () => {
  for (const fsync of MODES) {
    const fs = new FakeFs();
    const store = await open(fs, { fsync });
    new TextStore(store).set("a", "1");
    await store.close();
    assertEquals(await contents(fs.afterPowerCut()), ["a=1"], fsync);
    assertEquals(fs.handles.size, 0);
    assertEquals(fs.read(PATH).subarray(0, MAGIC.length), MAGIC);
  }
});
