/**
 * Unit tests of {@linkcode LogStore} on an in-memory file system that
 * knows what a kill -9 and a power cut leave behind: every kind of change
 * logged, group commit, what each fsync mode promises, and closing. Undoing
 * changes that could not be made durable is in log_failure_test.ts,
 * compaction (including a crash at each of its steps) in
 * log_compaction_test.ts. No permissions.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "@std/assert";
import { FakeFs, gate, within } from "../testing/mod.ts";
import {
  committed,
  LOG_PATH,
  logContents,
  mustWait,
  openTestLog,
  turn,
} from "../testing/log_store.ts";
import type { FsyncMode } from "./log.ts";
import { MAGIC } from "./log/format.ts";
import { ManualClock } from "./clock.ts";
import { MemoryStore } from "./memory.ts";
import { NO_KEY, StoreFullError } from "./store.ts";
import { TextStore } from "./text.ts";

const MODES: FsyncMode[] = ["always", "everysec", "no"];
const test = (name: string, fn: (t: Deno.TestContext) => void | Promise<void>) =>
  Deno.test({ name, permissions: "none", fn });

test("LogStore logs every kind of change; a restart after kill -9 loads them all", async () => {
  for (const fsync of MODES) {
    const fs = new FakeFs();
    const store = await openTestLog(fs, { fsync });
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
    assertEquals(await logContents(fs.afterKill()), ["after=clear*"], fsync);
    text.set("line", "typed", { lineText: true });
    text.set("binary", "bytes");
    assertEquals(await committed(store), true);
    const expected = ["after=clear*", "binary=bytes", "line=typed*"];
    assertEquals(await logContents(fs.afterKill()), expected, fsync);
    await store.close();
    assertEquals(await logContents(fs.afterPowerCut()), expected, `${fsync}: close() syncs`);
  }
});

test("LogStore logs an EXPIRE whose time passes while it runs as the delete the store made of it", async () => {
  // A clock that ticks 1 ms at each reading: for some of these deadlines
  // the store takes the expiry, and the time has passed by the time the
  // log reads the pair back to write it (the store then drops the key).
  let now = 1_000;
  const clock = { now: () => now++ };
  const fs = new FakeFs();
  const store = await openTestLog(fs, { clock, newStore: () => new MemoryStore({ clock }) });
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
  const reopened = await openTestLog(fs, { clock: new ManualClock(0) });
  const expiries = deadlines.map((_, i) => new TextStore(reopened).expiry(`k${i + 1}`));
  await reopened.close();
  expiries.forEach((expiry, i) => {
    assert(expiry === NO_KEY || expiry === deadlines[i], `k${i + 1}: ${expiry}`);
  });
  assert(expiries.includes(NO_KEY), "some deadline passed while its EXPIRE ran");
});

test("LogStore.together(): a crash at any byte of its record keeps all of its changes or none", async () => {
  const fs = new FakeFs();
  const store = await openTestLog(fs, { fsync: "always" });
  const text = new TextStore(store);
  text.set("a", "old");
  text.set("c", "old");
  assertEquals(await committed(store), true);
  const before = fs.read(LOG_PATH).length;
  store.together(() => {
    text.set("a", "new");
    text.set("b", "x".repeat(300));
    text.delete("c");
  });
  assertEquals(await committed(store), true);
  await store.close();
  const whole = fs.read(LOG_PATH);
  const old = ["a=old", "c=old"];
  const next = ["a=new", `b=${"x".repeat(300)}`];
  for (let cut = before; cut <= whole.length; cut++) {
    const torn = new FakeFs();
    torn.put(LOG_PATH, whole.subarray(0, cut));
    assertEquals(await logContents(torn), cut === whole.length ? next : old, `cut at ${cut}`);
  }
});

test("LogStore tells the clock its store reads, newStore's as openLog's", async () => {
  const clock = new ManualClock(1_000);
  const fs = new FakeFs();
  const store = await openTestLog(fs, { clock });
  assert(store.clock === clock);
  await store.close();
  const other = new ManualClock(5_000);
  const made = await openTestLog(new FakeFs(), {
    newStore: () => new MemoryStore({ clock: other }),
  });
  assert(made.clock === other, "the clock expiry reads, not openLog's default");
  await made.close();
});

test("LogStore.commit() is undefined with nothing to wait for, and one promise per turn", async () => {
  const fs = new FakeFs();
  const store = await openTestLog(fs, { fsync: "always" });
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
  const store = await openTestLog(fs, { fsync: "always" });
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
  assertEquals(await logContents(fs.afterKill()), ["a=1"], "written");
  assertEquals(await logContents(fs.afterPowerCut()), [], "not synced yet");
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
  assertEquals(await logContents(fs.afterPowerCut()), ["a=1", "b=2", "c=3"]);
  await store.close();
});

test("LogStore with everysec answers once written, and syncs about once a second", async () => {
  const fs = new FakeFs();
  const store = await openTestLog(fs, { fsync: "everysec" });
  new TextStore(store).set("a", "1");
  const syncs = fs.syncs;
  assertEquals(await committed(store), true);
  assertEquals(fs.syncs, syncs, "not synced before the answer");
  assertEquals(await logContents(fs.afterKill()), ["a=1"], "a kill -9 keeps it");
  assertEquals(await logContents(fs.afterPowerCut()), [], "a power cut may lose it");
  const synced = gate();
  fs.beforeSync = () => Promise.resolve(synced.open());
  await within("the once-a-second sync", synced.wait);
  fs.beforeSync = undefined;
  await store.close();
  assertEquals(await logContents(fs.afterPowerCut()), ["a=1"]);
});

test("LogStore with everysec writes at the turn's end on the event loop, on a thread only while its sync runs or past 1 MiB", async () => {
  for (const fsync of ["everysec", "no"] as const) {
    const fs = new FakeFs();
    const store = await openTestLog(fs, { fsync });
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
    assertEquals((await logContents(fs.afterPowerCut())).length, fsync === "everysec" ? 3 : 2);
  }
});

test("LogStore.commit() called after the turn's write began still waits for it, and says false if it fails", async () => {
  // always: the write is done and its sync held when commit() comes.
  {
    const fs = new FakeFs();
    const store = await openTestLog(fs, { fsync: "always" });
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
    assertEquals(await logContents(fs.afterPowerCut()), ["a=1"]);
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
    const store = await openTestLog(fs, { fsync });
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

test("LogStore while close() runs: a change before it is kept, one after its last write undone; no commit hangs", async () => {
  const fs = new FakeFs();
  const store = await openTestLog(fs, { log: () => {} });
  const text = new TextStore(store);
  text.set("a", "1");
  const first = store.commit()!;
  const closing = store.close();
  text.set("b", "late"); // Before close() writes: it is written with a.
  const second = store.commit()!;
  assertEquals(await within("the first commit", first), true);
  assertEquals(await within("the second commit", second), true);
  await closing;
  assertEquals(await logContents(fs), ["a=1", "b=late"]);
});

test("LogStore after close(): a change is undone and its commit resolves false, never hangs", async () => {
  const fs = new FakeFs();
  const store = await openTestLog(fs, { log: () => {} });
  const text = new TextStore(store);
  text.set("a", "1");
  await store.close();
  text.set("b", "late");
  assertEquals(await within("the commit after close", store.commit()!), false);
  assertEquals([text.get("a"), text.get("b")], ["1", undefined]);
  assertEquals(await logContents(fs), ["a=1"]);
});

test("LogStore logs nothing for a write the store refuses (full arena)", async () => {
  const fs = new FakeFs();
  const store = await openTestLog(fs, { newStore: () => new MemoryStore({ maxArenaBytes: 1024 }) });
  const size = fs.read(LOG_PATH).length;
  assertThrows(() => new TextStore(store).set("big", "x".repeat(2000)), StoreFullError);
  assertEquals(store.commit(), undefined);
  await store.close();
  assertEquals(fs.read(LOG_PATH).length, size);
});

test("LogStore.close() writes and syncs what is pending, in every mode", async () => {
  for (const fsync of MODES) {
    const fs = new FakeFs();
    const store = await openTestLog(fs, { fsync });
    new TextStore(store).set("a", "1");
    await store.close();
    assertEquals(await logContents(fs.afterPowerCut()), ["a=1"], fsync);
    assertEquals(fs.handles.size, 0);
    assertEquals(fs.read(LOG_PATH).subarray(0, MAGIC.length), MAGIC);
  }
});
