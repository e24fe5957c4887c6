/**
 * Unit tests of the log's record format and its checksum: pure, no
 * permissions.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { crc32c } from "./crc32c.ts";
import { MemoryStore } from "../memory.ts";
import { TextStore } from "../text.ts";
import { ManualClock } from "../clock.ts";
import { LINE_TEXT, type Store } from "../store.ts";
import { mulberry32 } from "../../testing/random.ts";
import {
  BAD_BODY,
  BAD_HEADER,
  beginRecord,
  encodeAppend,
  encodeClear,
  encodeDelete,
  encodeSet,
  endGroup,
  endRecord,
  INCOMPLETE,
  LogBuffer,
  OP,
  readRecord,
  RECORD_HEADER_BYTES,
  RecordView,
  setRecordBytes,
  UNKNOWN,
} from "./format.ts";
import { applyRecord } from "./apply.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const test = (name: string, fn: (t: Deno.TestContext) => void | Promise<void>) =>
  Deno.test({ name, permissions: "none", fn });

test("crc32c() matches the published check values", () => {
  // RFC 3720 (iSCSI), B.4, and the "123456789" check value of CRC-32C.
  assertEquals(crc32c(encoder.encode("123456789")), 0xe3069283);
  assertEquals(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assertEquals(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assertEquals(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assertEquals(crc32c(new Uint8Array(0)), 0);
});

test("crc32c() of a range equals that of the same bytes alone, at every alignment", () => {
  const bytes = Uint8Array.from({ length: 100 }, (_, i) => (i * 37) & 0xff);
  for (let start = 0; start < 20; start++) {
    for (let end = start; end <= 100; end += 7) {
      assertEquals(crc32c(bytes, start, end), crc32c(bytes.slice(start, end)));
    }
  }
});

function key(text: string): Uint8Array {
  return encoder.encode(text);
}

test("readRecord() reads back each kind of record", () => {
  const out = new LogBuffer(16); // Small: encoding must grow it.
  const k = key("fruit");
  const v = encoder.encode("사과, and more");
  encodeSet(out, k, 0, k.length, v, 0, v.length, true, 0);
  encodeSet(out, k, 0, k.length, new Uint8Array([0, 255, 10]), 0, 3, false, 2 ** 41 + 5);
  encodeDelete(out, k, 0, k.length);
  encodeClear(out);
  const view = new RecordView();
  const seen: string[] = [];
  let at = 0;
  while (at < out.length) {
    const next = readRecord(out.bytes, at, out.length, view);
    assert(next > at, `a record at ${at}`);
    const keyText = decoder.decode(view.bytes.subarray(view.keyStart, view.keyEnd));
    const value = [...view.bytes.subarray(view.valueStart, view.valueEnd)].join(".");
    seen.push(`${view.op} ${keyText} ${value} ${view.lineText} ${view.expireAtMs}`);
    at = next;
  }
  assertEquals(seen, [
    `${OP.set} fruit ${[...v].join(".")} true 0`,
    `${OP.set} fruit 0.255.10 false ${2 ** 41 + 5}`,
    `${OP.delete} fruit  false 0`,
    `${OP.clear}   false 0`,
  ]);
});

test("endGroup() makes one record of several, leaves one as it is, and none as nothing", () => {
  const a = key("a");
  const one = new LogBuffer(16);
  encodeSet(one, a, 0, 1, a, 0, 1, false, 0);
  for (const records of [0, 1, 3]) {
    const out = new LogBuffer(16);
    encodeClear(out); // What came before stays.
    const before = out.length;
    const start = beginRecord(out, OP.group, 0);
    for (let i = 0; i < records; i++) encodeSet(out, a, 0, 1, a, 0, 1, false, 0);
    endGroup(out, start);
    if (records === 0) assertEquals(out.length, before);
    if (records === 1) {
      assertEquals(out.bytes.subarray(before, out.length), one.bytes.subarray(0, one.length));
    }
    if (records === 3) {
      const view = new RecordView();
      assertEquals(readRecord(out.bytes, before, out.length, view), out.length, "one record");
      assertEquals(view.op, OP.group);
      const store = new TextStore(new MemoryStore());
      store.set("a", "old");
      store.set("b", "kept");
      applyRecord(store.store, view);
      assertEquals([store.get("a"), store.get("b")], ["a", "kept"]);
    }
  }
});

test("endGroup() leaves records apart that would make a group past the most a record may hold", () => {
  const out = new LogBuffer(16);
  const start = beginRecord(out, OP.group, 0);
  for (const name of ["a", "b"]) encodeSet(out, key(name), 0, 1, key("v"), 0, 1, false, 0);
  const apart = out.bytes.slice(start + RECORD_HEADER_BYTES + 2, out.length);
  // The group's body: op and flags, then each record's length and body (8 bytes of checksums less).
  const body = 2 + apart.length - 2 * 8;
  endGroup(out, start, body - 1);
  assertEquals(out.bytes.subarray(start, out.length), apart);
});

test("readRecord() refuses a group that is empty, cut short, or holds an unknown record or a group", () => {
  // A group's body: op, flags, then each record's length and body (no checksums).
  const group = (...bodies: number[][]) => {
    const out = new LogBuffer(16);
    const start = beginRecord(out, OP.group, 0);
    for (const body of bodies) {
      out.addU32(body.length);
      out.add(Uint8Array.from(body), 0, body.length);
    }
    endRecord(out, start);
    return out;
  };
  const view = new RecordView();
  const read = (out: LogBuffer) => readRecord(out.bytes, 0, out.length, view);
  const set = [OP.set, 0, 1, 0, 0, 0, 0x61, 0x62]; // a=b
  const del = [OP.delete, 0, 0x61];
  const good = group(set, del);
  assertEquals(read(good), good.length);
  assertEquals(view.op, OP.group);
  assertEquals(read(group()), UNKNOWN, "empty");
  assertEquals(read(group(set, [9, 0])), UNKNOWN, "a kind it does not know");
  assertEquals(read(group(set, [OP.group, 0, ...del])), UNKNOWN, "a group in a group");
  const cut = group(set, del);
  cut.bytes[RECORD_HEADER_BYTES + 2 + 4 + set.length]! += 1; // del's length runs past the end
  endRecord(cut, 0);
  assertEquals(read(cut), UNKNOWN, "cut short");
});

test("no part of a group reads as a record of its own (a repair scanning past damage keeps none of it)", () => {
  const out = new LogBuffer(16);
  const start = beginRecord(out, OP.group, 0);
  for (const name of ["a", "b", "c"]) encodeSet(out, key(name), 0, 1, key("v"), 0, 1, false, 0);
  endGroup(out, start);
  const view = new RecordView();
  assertEquals(readRecord(out.bytes, 0, out.length, view), out.length);
  for (let at = 1; at < out.length; at++) {
    assert(readRecord(out.bytes, at, out.length, view) < 0, `a record at ${at}`);
  }
});

test("setRecordBytes() is the size encodeSet() writes", () => {
  for (const expires of [false, true]) {
    const out = new LogBuffer();
    encodeSet(out, key("abc"), 0, 3, key("hello"), 0, 5, false, expires ? 99 : 0);
    assertEquals(out.length, setRecordBytes(3, 5, expires));
  }
});

test("readRecord() tells a short record, a bad header, a bad body and an unknown kind apart", async (t) => {
  const out = new LogBuffer();
  encodeSet(out, key("k"), 0, 1, key("value"), 0, 5, false, 0);
  const record = out.bytes.slice(0, out.length);
  const view = new RecordView();
  await t.step("every prefix is incomplete", () => {
    for (let cut = 0; cut < record.length; cut++) {
      assertEquals(readRecord(record, 0, cut, view), INCOMPLETE, `cut at ${cut}`);
    }
  });
  await t.step("a flipped bit in the header fails the header's checksum", () => {
    for (let i = 0; i < RECORD_HEADER_BYTES; i++) {
      const bad = record.slice();
      bad[i]! ^= 0x10;
      assertEquals(readRecord(bad, 0, bad.length, view), BAD_HEADER, `byte ${i}`);
    }
  });
  await t.step("a flipped bit in the body fails the body's checksum", () => {
    for (let i = RECORD_HEADER_BYTES; i < record.length; i++) {
      const bad = record.slice();
      bad[i]! ^= 0x01;
      assertEquals(readRecord(bad, 0, bad.length, view), BAD_BODY, `byte ${i}`);
    }
  });
  await t.step("a valid record of an unknown kind is unknown", () => {
    const other = new LogBuffer();
    encodeClear(other);
    other.bytes[RECORD_HEADER_BYTES] = 9; // An op this version lacks; re-seal it.
    endRecord(other, 0);
    assertEquals(readRecord(other.bytes, 0, other.length, view), UNKNOWN);
  });
});

test("an append record reads back its fields, and replays as the value's first bytes and then its own", () => {
  const out = new LogBuffer(64);
  const key = encoder.encode("k");
  encodeAppend(out, key, 0, 1, 3, encoder.encode("+tail"), 0, 5, true, 2 ** 40 + 5);
  const view = new RecordView();
  assertEquals(readRecord(out.bytes, 0, out.length, view), out.length);
  assertEquals(
    [view.op, view.oldLength, view.expireAtMs, view.lineText],
    [OP.append, 3, 2 ** 40 + 5, true],
  );
  assertEquals(decoder.decode(out.bytes.subarray(view.keyStart, view.keyEnd)), "k");
  assertEquals(decoder.decode(out.bytes.subarray(view.valueStart, view.valueEnd)), "+tail");
  const store = new MemoryStore({ clock: new ManualClock(1000) });
  const text = new TextStore(store);
  applyRecord(store, view); // No value of 3 bytes to follow: nothing changes.
  assertEquals(store.size, 0);
  text.set("k", "ab");
  applyRecord(store, view);
  assertEquals(text.get("k"), "ab");
  text.set("k", "abcdef"); // Longer: cut back to 3 bytes, then the record's.
  applyRecord(store, view);
  assertEquals([text.get("k"), text.expiry("k")], ["abc+tail", 2 ** 40 + 5]);
  // A flag bit it does not know is not a record of this version.
  out.bytes[RECORD_HEADER_BYTES + 1] = out.bytes[RECORD_HEADER_BYTES + 1]! | 4;
  endRecord(out, 0);
  assertEquals(readRecord(out.bytes, 0, out.length, view), UNKNOWN);
});

/** A store without truncate and append: replay reads values and sets them whole. */
function plain(inner: MemoryStore): Store {
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
}

test("appends replayed after a pair a compaction walked at any moment since them end as the log does", () => {
  // A compaction writes each pair as it sees it at some moment during its
  // walk, then every record appended since it began (the tail): an append
  // in the tail may find the value it was made to, one that already holds
  // it and more appends, or one a later set or delete made.
  const NOW = 1_000_000;
  const random = mulberry32(0x61707064);
  for (let round = 0; round < 200; round++) {
    type State = { value: string; text: boolean; exp: number } | undefined;
    const records = new LogBuffer(1024);
    // The pair before the compaction began, if any.
    let state =
      (random() < 0.5 ? undefined : { value: "0123", text: random() < 0.5, exp: 0 }) as State;
    const states: State[] = [state];
    const key = encoder.encode("k");
    const appendsOnly = round % 3 === 0;
    for (let i = 0; i < 12; i++) {
      const r = appendsOnly ? 0 : random();
      if (r < 0.6) {
        const piece = "abcdef".slice(0, 1 + Math.floor(random() * 5));
        const text = random() < 0.5;
        const old = state?.value.length ?? 0;
        state = {
          value: (state?.value ?? "") + piece,
          text: (state === undefined || state.text) && text,
          exp: state?.exp ?? 0,
        };
        const bytes = encoder.encode(piece);
        encodeAppend(records, key, 0, 1, old, bytes, 0, bytes.length, state.text, state.exp);
      } else if (r < 0.8) {
        const exp = random() < 0.3 ? NOW + 1000 + Math.floor(random() * 1000) : 0;
        state = { value: "s".repeat(Math.floor(random() * 8)), text: random() < 0.5, exp };
        const bytes = encoder.encode(state.value);
        encodeSet(records, key, 0, 1, bytes, 0, bytes.length, state.text, exp);
      } else if (r < 0.9 && state !== undefined) {
        // EXPIRE or PERSIST: logged as the whole pair.
        state = { ...state, exp: random() < 0.5 ? 0 : NOW + 5000 };
        const bytes = encoder.encode(state.value);
        encodeSet(records, key, 0, 1, bytes, 0, bytes.length, state.text, state.exp);
      } else {
        state = undefined;
        encodeDelete(records, key, 0, 1);
      }
      states.push(state);
    }
    const show = (store: Store) => {
      const text = new TextStore(store);
      const value = text.get("k");
      if (value === undefined) return undefined;
      let flags = 0;
      store.get(key, 0, 1, { addBytes: (_b, _s, _e, f = 0) => flags = f });
      const exp = text.expiry("k");
      return { value, text: (flags & LINE_TEXT) !== 0, exp: exp === -1 ? 0 : exp };
    };
    for (const seen of states) {
      for (const fast of [true, false]) {
        const inner = new MemoryStore({ clock: new ManualClock(NOW) });
        const store = fast ? inner : plain(inner);
        if (seen !== undefined) {
          const bytes = encoder.encode(seen.value);
          inner.set(key, 0, 1, bytes, 0, bytes.length, {
            lineText: seen.text,
            expireAtMs: seen.exp,
          });
        }
        const view = new RecordView();
        for (let at = 0; at < records.length;) {
          at = readRecord(records.bytes, at, records.length, view);
          applyRecord(store, view);
        }
        assertEquals(show(store), state, `round ${round}, walk saw ${JSON.stringify(seen)}`);
      }
    }
  }
});
