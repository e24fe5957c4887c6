/**
 * Unit tests of telling a torn tail from corruption, and of `kv repair`'s
 * core, on logs built in memory: pure, no permissions.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { sampleLog } from "../../testing/mod.ts";
import { encodeAppend, encodeSet, LogBuffer, MAGIC, OP, readRecord, RecordView } from "./format.ts";
import { applyRecord } from "./apply.ts";
import { MemoryStore } from "../memory.ts";
import { TextStore } from "../text.ts";
import { findRecord, isTornTail, repairLog } from "./recover.ts";

const test = (name: string, fn: (t: Deno.TestContext) => void | Promise<void>) =>
  Deno.test({ name, permissions: "none", fn });

/** The first bad record of `bytes` (offset and readRecord's code), or undefined. */
function firstBad(bytes: Uint8Array): { offset: number; code: number } | undefined {
  const view = new RecordView();
  for (let at = MAGIC.length; at < bytes.length;) {
    const next = readRecord(bytes, at, bytes.length, view);
    if (next < 0) return { offset: at, code: next };
    at = next;
  }
  return undefined;
}

function verdict(bytes: Uint8Array): "clean" | "torn" | "corrupt" {
  const bad = firstBad(bytes);
  if (bad === undefined) return "clean";
  const rest = bytes.subarray(bad.offset);
  return isTornTail(rest, rest.length, bad.code) ? "torn" : "corrupt";
}

test("isTornTail(): a log cut at any byte of its last records is a torn tail", () => {
  const { bytes, starts } = sampleLog(6);
  // The last write may have held several records: cut anywhere in the last three.
  for (let cut = starts[3]! + 1; cut < bytes.length; cut++) {
    if (starts.includes(cut)) continue; // A record boundary: nothing torn.
    assertEquals(verdict(bytes.subarray(0, cut)), "torn", `cut at ${cut}`);
    const bad = firstBad(bytes.subarray(0, cut))!;
    assertEquals(bad.offset, Math.max(...starts.filter((s) => s < cut)), `cut at ${cut}`);
  }
});

test("isTornTail(): zeros or stale bytes after the last record (a power cut) are a torn tail", () => {
  const { bytes } = sampleLog(4);
  for (const tail of [new Uint8Array(4096), Uint8Array.from({ length: 999 }, (_, i) => i * 7)]) {
    const grown = new Uint8Array(bytes.length + tail.length);
    grown.set(bytes);
    grown.set(tail, bytes.length);
    assertEquals(verdict(grown), "torn");
  }
});

test("isTornTail(): a flipped byte in any record before the last is corruption", () => {
  const { bytes, starts } = sampleLog(5);
  for (let record = 0; record < starts.length - 1; record++) {
    for (let i = starts[record]!; i < starts[record + 1]!; i++) {
      const bad = bytes.slice();
      bad[i]! ^= 0x40;
      assertEquals(verdict(bad), "corrupt", `byte ${i} of record ${record}`);
      assertEquals(firstBad(bad)!.offset, starts[record], `byte ${i}`);
    }
  }
});

test("isTornTail(): a flipped byte in the last record reads as a torn tail (the two cannot be told apart)", () => {
  const { bytes, starts } = sampleLog(3);
  for (let i = starts.at(-1)!; i < bytes.length; i++) {
    const bad = bytes.slice();
    bad[i]! ^= 0x40;
    assertEquals(verdict(bad), "torn", `byte ${i}`);
  }
});

test("isTornTail(): the last record failing its body is a torn tail, even past the scan limit", () => {
  const { bytes, starts } = sampleLog(3);
  const damaged = bytes.slice();
  damaged[damaged.length - 1]! ^= 1;
  const bad = firstBad(damaged)!;
  assertEquals(bad.offset, starts[2]);
  const rest = damaged.subarray(bad.offset);
  // Only its first bytes were read: the record's own length says it ends the file.
  assertEquals(isTornTail(rest.subarray(0, 20), rest.length, bad.code), true);
});

test("isTornTail(): past the scan limit, a bad record that is not cut short is corruption", () => {
  const { bytes, starts } = sampleLog(3);
  const bad = bytes.slice();
  bad[starts[0]!]! ^= 1; // Header damage: its length cannot be trusted.
  const rest = bad.subarray(starts[0]!);
  const code = firstBad(bad)!.code;
  assertEquals(isTornTail(rest, rest.length, code), false);
  assertEquals(isTornTail(rest.subarray(0, 5), 10 ** 9, code), false);
});

test("findRecord() finds the next valid record after garbage", () => {
  const { bytes, starts } = sampleLog(3);
  const bad = bytes.slice();
  bad[starts[1]! + 2]! ^= 0xff;
  assertEquals(findRecord(bad, starts[1]! + 1, bad.length), starts[2]);
  assertEquals(findRecord(bad, starts[2]! + 1, bad.length), -1);
});

test("repairLog() keeps every valid record and skips a damaged one", async (t) => {
  const { bytes, starts } = sampleLog(6);
  const bad = bytes.slice();
  bad[starts[2]! + 14]! ^= 0x01; // The body of record 2.
  await t.step("skipping to the next valid record", () => {
    const repaired = repairLog(bad);
    assertEquals(repaired.records, 5);
    assertEquals(repaired.dropped, [{
      offset: starts[2]!,
      bytes: starts[3]! - starts[2]!,
      reason: "the record's body fails its checksum",
    }]);
    assertEquals(verdict(repaired.bytes), "clean");
    const expected = new Uint8Array(bytes.length - (starts[3]! - starts[2]!));
    expected.set(bytes.subarray(0, starts[2]!));
    expected.set(bytes.subarray(starts[3]!), starts[2]!);
    assertEquals(repaired.bytes, expected);
  });
  await t.step("with truncate, everything from the bad record on is dropped", () => {
    const repaired = repairLog(bad, { truncate: true });
    assertEquals(repaired.records, 2);
    assertEquals(repaired.bytes, bytes.subarray(0, starts[2]!));
    assertEquals(repaired.dropped[0]!.bytes, bytes.length - starts[2]!);
    // It says that records which may be valid went too, and from where.
    assertEquals(
      repaired.dropped[0]!.reason,
      `the record's body fails its checksum; and from byte ${
        starts[3]
      } on, records that may be valid (--truncate)`,
    );
    // A bad last record has nothing after it to speak of.
    const torn = repairLog(bytes.subarray(0, bytes.length - 3), { truncate: true });
    assertEquals(torn.dropped[0]!.reason, "the record is incomplete");
  });
  await t.step("a torn tail is cut off; a clean log is kept whole", () => {
    assertEquals(
      repairLog(bytes.subarray(0, bytes.length - 3)).bytes,
      bytes.subarray(0, starts[5]!),
    );
    const clean = repairLog(bytes);
    assertEquals(clean.dropped, []);
    assertEquals(clean.bytes, bytes);
  });
  await t.step("a damaged file header is replaced", () => {
    const foreign = bytes.slice();
    foreign[0] = 0x58;
    const repaired = repairLog(foreign);
    assertEquals(repaired.records, 6);
    assert(repaired.dropped[0]!.offset === 0);
    assertEquals(repaired.bytes, bytes);
  });
});

test("repairLog() keeps append records; one whose value was in a dropped record changes nothing on load", () => {
  const encoder = new TextEncoder();
  const log = new LogBuffer();
  log.add(MAGIC, 0, MAGIC.length);
  const starts: number[] = [];
  const set = (key: string, value: string) => {
    starts.push(log.length);
    const k = encoder.encode(key);
    const v = encoder.encode(value);
    encodeSet(log, k, 0, k.length, v, 0, v.length, false, 0);
  };
  const append = (key: string, old: number, piece: string) => {
    starts.push(log.length);
    const k = encoder.encode(key);
    const v = encoder.encode(piece);
    encodeAppend(log, k, 0, k.length, old, v, 0, v.length, false, 0);
  };
  set("a", "1");
  append("a", 1, "2");
  set("b", "xy"); // Damaged below.
  append("b", 2, "z");
  append("a", 2, "3");
  const bad = log.bytes.slice(0, log.length);
  bad[starts[2]! + 16]! ^= 0x01;
  const repaired = repairLog(bad);
  assertEquals(repaired.records, 4);
  assertEquals(repaired.dropped.map((d) => d.offset), [starts[2]]);
  const view = new RecordView();
  const store = new MemoryStore();
  const ops: number[] = [];
  for (let at = MAGIC.length; at < repaired.bytes.length;) {
    at = readRecord(repaired.bytes, at, repaired.bytes.length, view);
    ops.push(view.op);
    applyRecord(store, view);
  }
  assertEquals(ops, [OP.set, OP.append, OP.append, OP.append]);
  // "b"'s append follows 2 bytes the repaired log does not hold: it is left out, not made "z".
  assertEquals(new TextStore(store).entries(), [["a", "123"]]);
});
