/**
 * Tests of {@linkcode LogStore.append}: an APPEND is logged as the bytes it
 * added (an `append` record), replayed as an append with the key's expiry,
 * undone by cutting the value back, cut off cleanly when torn, and written
 * whole by a compaction. On the fake disk of testing/fake_fs.ts.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "@std/assert";
import { FakeFs, gate, LogCollector, within } from "../testing/mod.ts";
import { committed, LOG_PATH, logContents, openTestLog } from "../testing/log_store.ts";
import type { FsyncMode, LogStore } from "./log.ts";
import { MAGIC, OP, readRecord, RecordView } from "./log/format.ts";
import { ManualClock } from "./clock.ts";
import { MemoryStore } from "./memory.ts";
import type { Store } from "./store.ts";
import { TextStore } from "./text.ts";

const test = (name: string, fn: (t: Deno.TestContext) => void | Promise<void>) =>
  Deno.test({ name, permissions: "none", fn });

const MODES: FsyncMode[] = ["always", "everysec", "no"];
const encoder = new TextEncoder();

/** APPEND of `piece` to `key` (line text if `lineText`); returns the new length. */
function append(store: Store, key: string, piece: string, lineText = false): number {
  const k = encoder.encode(key);
  const v = encoder.encode(piece);
  return store.append!(k, 0, k.length, v, 0, v.length, { lineText });
}

/** The ops of the records in a log file, in order. */
function ops(file: Uint8Array): number[] {
  const view = new RecordView();
  const found: number[] = [];
  for (let at = MAGIC.length; at < file.length;) {
    at = readRecord(file, at, file.length, view);
    assert(at >= 0, "every record reads");
    found.push(view.op);
  }
  return found;
}

/** The pairs a store holds now, as logContents() shows them. */
function contents(store: Store): string[] {
  const decoder = new TextDecoder();
  const pairs: string[] = [];
  let cursor = 0;
  do {
    cursor = store.scan(cursor, 1024, (bytes, ks, ke, vs, ve, flags) => {
      pairs.push(
        `${decoder.decode(bytes.subarray(ks, ke))}=${decoder.decode(bytes.subarray(vs, ve))}${
          flags & 1 ? "*" : ""
        }`,
      );
    });
  } while (cursor !== 0);
  return pairs.sort();
}

test("LogStore: 10,000 appends log what they add (O(n) bytes), and a restart loads the value they made", async () => {
  for (const fsync of MODES) {
    const fs = new FakeFs();
    const store = await openTestLog(fs, { fsync });
    let expected = "";
    for (let i = 0; i < 10_000; i++) {
      const piece = String.fromCharCode(97 + i % 26).repeat(1 + i % 3);
      expected += piece;
      assertEquals(append(store, "grown", piece), expected.length);
      if (i % 100 === 99) assertEquals(await committed(store), true);
    }
    assertEquals(await committed(store), true);
    // Each record: 12 bytes of header, op and flags, two lengths, the key, the piece.
    const file = fs.read(LOG_PATH);
    assert(file.length < MAGIC.length + 10_000 * 32, `${file.length} bytes logged`);
    assertEquals(new Set(ops(file)), new Set([OP.append]));
    assertEquals(await logContents(fs.afterKill()), [`grown=${expected}`], fsync);
    await store.close();
    assertEquals(await logContents(fs.afterPowerCut()), [`grown=${expected}`], fsync);
  }
});

test("LogStore: appends among SET, DEL, EXPIRE, PERSIST and a clear come back after a restart, expiries and flags too", async () => {
  const clock = new ManualClock(1_000_000);
  const fs = new FakeFs();
  const open = (at: number) =>
    openTestLog(fs.afterKill(), {
      clock: new ManualClock(at),
      newStore: () => new MemoryStore({ clock: new ManualClock(at) }),
    });
  const store = await openTestLog(fs, { clock, newStore: () => new MemoryStore({ clock }) });
  const text = new TextStore(store);
  append(store, "new", "made"); // A missing key: the append makes it.
  append(store, "new", "+more");
  text.set("line", "typed", { lineText: true });
  append(store, "line", " text", true); // Line text added to line text stays so.
  text.set("mixed", "typed", { lineText: true });
  append(store, "mixed", "\u0000"); // Bytes of a Redis client: no longer line text.
  text.set("ttl", "v", { expireAtMs: 1_010_000 });
  append(store, "ttl", "+"); // Keeps the expiry.
  text.set("kept", "v", { expireAtMs: 1_010_000 });
  text.expire("kept", 0); // PERSIST
  append(store, "kept", "+");
  text.set("later", "v");
  append(store, "later", "+");
  text.expire("later", 1_020_000);
  append(store, "later", "+");
  text.set("deleted", "v");
  append(store, "deleted", "+");
  text.delete("deleted");
  append(store, "deleted", "again"); // Made anew after its delete.
  text.set("reset", "long value");
  append(store, "reset", "+");
  text.set("reset", "short"); // A whole set after appends, then more appends.
  append(store, "reset", "!");
  text.set("empty", "");
  append(store, "empty", "x");
  assertEquals(await committed(store), true);
  const now = [
    "deleted=again",
    "empty=x",
    "kept=v+",
    "later=v++",
    "line=typed text*",
    "mixed=typed\u0000",
    "new=made+more",
    "reset=short!",
    "ttl=v+",
  ];
  assertEquals(contents(store), now);

  const early = await open(1_000_000);
  assertEquals(contents(early), now);
  const earlyText = new TextStore(early);
  assertEquals(earlyText.expiry("ttl"), 1_010_000);
  assertEquals(earlyText.expiry("later"), 1_020_000);
  assertEquals(earlyText.expiry("kept"), -1);
  await early.close();
  // Past the expiry the append kept: the key is gone, not made anew by the append.
  const late = await open(1_015_000);
  assertEquals(contents(late), now.filter((pair) => !pair.startsWith("ttl=")));
  await late.close();
  const later = await open(1_030_000);
  assertEquals(
    contents(later),
    now.filter((pair) => !pair.startsWith("ttl=") && !pair.startsWith("later=")),
  );
  await later.close();

  // An append whose key expired meanwhile makes it anew, with no expiry.
  clock.advance(15_000);
  append(store, "ttl", "fresh");
  store.clear();
  append(store, "after", "clear");
  assertEquals(await committed(store), true);
  assertEquals(contents(store), ["after=clear"]);
  await store.close();
  assertEquals(await logContents(fs.afterPowerCut()), ["after=clear"]);
});

test("LogStore: an append whose key's time passes between its look and its append logs the key made anew", async () => {
  // A clock that ticks 1 ms at each reading: for some deadline the key is
  // there when the log notes its length, and gone when the store appends.
  let now = 1_000;
  const clock = { now: () => now++ };
  const fs = new FakeFs();
  const store = await openTestLog(fs, { clock, newStore: () => new MemoryStore({ clock }) });
  const text = new TextStore(store);
  const lengths: number[] = [];
  const deadlines: number[] = [];
  for (let ahead = 1; ahead <= 6; ahead++) {
    deadlines.push(now + ahead);
    text.set(`k${ahead}`, "old", { expireAtMs: deadlines.at(-1)! });
    lengths.push(append(store, `k${ahead}`, "+"));
  }
  assertEquals(await committed(store), true);
  assert(lengths.includes(1) && lengths.includes(4), `some key made anew, some not: ${lengths}`);
  await store.close();
  // Loaded at a time before every deadline: each key as the append left it.
  const log = await openTestLog(fs, { clock: new ManualClock(0) });
  const reopened = new TextStore(log);
  lengths.forEach((length, i) => {
    const key = `k${i + 1}`;
    if (length === 1) {
      assertEquals([reopened.get(key), reopened.expiry(key)], ["+", -1], key);
    } else {
      assertEquals([reopened.get(key), reopened.expiry(key)], ["old+", deadlines[i]], key);
    }
  });
  await log.close();
});

test("LogStore: a torn append at the log's tail is cut off, the appends before it kept", async () => {
  const fs = new FakeFs();
  const store = await openTestLog(fs, { fsync: "always" });
  new TextStore(store).set("k", "start");
  for (const piece of ["-a", "-b", "-c"]) append(store, "k", piece);
  assertEquals(await committed(store), true);
  await store.close();
  const whole = fs.read(LOG_PATH);
  for (let cut = 1; cut < 12 + 2 + 8 + 1 + 2; cut++) {
    const torn = new FakeFs();
    torn.put(LOG_PATH, whole.subarray(0, whole.length - cut));
    const logs = new LogCollector();
    const reopened = await openTestLog(torn, { log: logs.log });
    assertEquals(contents(reopened), ["k=start-a-b"], `${cut} bytes cut`);
    assertMatch(logs.errors()[0]!, /dropped \d+ bytes at byte \d+, an unfinished last write/);
    append(reopened, "k", "-d");
    assertEquals(await committed(reopened), true);
    await reopened.close();
    assertEquals(await logContents(torn.afterPowerCut()), ["k=start-a-b-d"]);
  }
});

test("LogStore: appends the disk cannot take are undone, the value cut back to its old length, flag and expiry", async () => {
  for (const fsync of MODES) {
    const fs = new FakeFs();
    const logs = new LogCollector();
    const store = await openTestLog(fs, { fsync, log: logs.log });
    const text = new TextStore(store);
    const expiry = Date.now() + 3_600_000;
    text.set("line", "typed", { lineText: true });
    text.set("ttl", "v", { expireAtMs: expiry });
    append(store, "grown", "x".repeat(100));
    assertEquals(await committed(store), true);
    const before = contents(store);
    const file = fs.read(LOG_PATH);
    fs.capacity = fs.usedBytes() + 10;
    append(store, "line", "\u0000 not text");
    append(store, "line", "more");
    append(store, "ttl", "+");
    for (let i = 0; i < 50; i++) append(store, "grown", "y".repeat(i)); // Past its room to spare.
    append(store, "made", "new");
    assertEquals(await committed(store), false, fsync);
    assertEquals(contents(store), before, `${fsync}: memory is what the log holds`);
    assertEquals(text.expiry("ttl"), expiry);
    assertEquals(fs.read(LOG_PATH), file, "no half record left behind");
    assertEquals(await logContents(fs.afterKill()), before);
    fs.capacity = Infinity;
    append(store, "line", " again", true);
    append(store, "grown", "z");
    assertEquals(await committed(store), true, `${fsync}: room again`);
    const after = contents(store);
    assert(after.includes("line=typed again*"), after.join());
    await store.close();
    assertEquals(await logContents(fs.afterPowerCut()), after);
  }
});

test("LogStore: appends in a group (a transaction) are undone together with the group's other changes", async () => {
  const fs = new FakeFs();
  const store = await openTestLog(fs, { fsync: "always", log: () => {} });
  const text = new TextStore(store);
  text.set("a", "1");
  assertEquals(await committed(store), true);
  fs.capacity = fs.usedBytes();
  store.together(() => {
    append(store, "a", "2");
    text.set("b", "x");
    append(store, "a", "3");
    append(store, "b", "y");
  });
  assertEquals(await committed(store), false);
  assertEquals(contents(store), ["a=1"]);
  fs.capacity = Infinity;
  store.together(() => {
    append(store, "a", "2");
    text.set("b", "x");
    append(store, "b", "y");
  });
  assertEquals(await committed(store), true);
  assertEquals(ops(fs.read(LOG_PATH)), [OP.set, OP.group]);
  await store.close();
  assertEquals(await logContents(fs.afterPowerCut()), ["a=12", "b=xy"]);
});

test("LogStore compacts a log of appends into whole values, appends made during the rewrite kept", async () => {
  const fs = new FakeFs();
  const paused = gate();
  const resume = gate();
  const switched = gate();
  let snapshots = 0;
  const store: LogStore = await openTestLog(
    fs,
    { fsync: "always", compactMinBytes: 4096 },
    async (step) => {
      if (step === "snapshot" && snapshots++ === 0) {
        paused.open();
        await resume.wait;
      }
      if (step === "switched") switched.open();
    },
  );
  const text = new TextStore(store);
  let stopped = false;
  paused.wait.then(() => stopped = true);
  // Appends to 20 keys, with a whole set or a delete now and then, until
  // the walk begins (the appends just before it are both walked and in its tail).
  for (let i = 0; !stopped; i++) {
    const key = `key:${i % 20}`;
    if (i % 97 === 0) text.set(key, `reset ${i}`);
    else if (i % 89 === 0) text.delete(key);
    else append(store, key, `${i % 10}`);
    if (i % 10 === 9) assertEquals(await committed(store), true);
    if (i > 100_000) throw new Error("no compaction");
  }
  // The walk has begun: more appends, and a set and a delete among them, while it waits.
  for (let i = 0; i < 200; i++) {
    const key = `key:${i % 20}`;
    if (i === 50) text.set(key, "set during");
    else if (i === 51) text.delete(key);
    else append(store, key, `d${i % 10}`);
  }
  assertEquals(await committed(store), true);
  const expected = contents(store);
  resume.open();
  await within("the compaction", switched.wait);
  const file = fs.read(LOG_PATH);
  assert(ops(file).includes(OP.set), "the walk wrote whole values");
  assertEquals(contents(store), expected);
  assertEquals(await logContents(fs.afterKill()), expected);
  append(store, "key:1", "!");
  assertEquals(await committed(store), true);
  const last = contents(store);
  await store.close();
  assertEquals(await logContents(fs.afterPowerCut()), last);
});

test("LogStore over a store without append or truncate: APPEND sets the value whole, and a restart loads it", async () => {
  const fs = new FakeFs();
  const plain = (): Store => {
    const inner = new MemoryStore();
    return {
      get size() {
        return inner.size;
      },
      get: (k, s, e, out) => inner.get(k, s, e, out),
      set: (k, ks, ke, v, vs, ve, o) => inner.set(k, ks, ke, v, vs, ve, o),
      delete: (k, s, e) => inner.delete(k, s, e),
      expiry: (k, s, e) => inner.expiry(k, s, e),
      expire: (k, s, e, at) => inner.expire(k, s, e, at),
      clear: () => inner.clear(),
      scan: (c, n, visit) => inner.scan(c, n, visit),
    };
  };
  const store = await openTestLog(fs, { newStore: plain });
  const text = new TextStore(store);
  text.set("t", "v", { expireAtMs: Date.now() + 3_600_000, lineText: true });
  assertEquals(append(store, "t", "+", true), 2);
  assertEquals(append(store, "n", "new"), 3);
  assertEquals(await committed(store), true);
  assertEquals(ops(fs.read(LOG_PATH)), [OP.set, OP.set, OP.set]);
  assert(text.expiry("t") > Date.now() + 3_500_000, "the expiry kept");
  await store.close();
  assertEquals(await logContents(fs.afterKill()), ["n=new", "t=v+*"]);
});
