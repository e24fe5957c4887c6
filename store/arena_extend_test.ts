/**
 * Unit tests of {@linkcode MemoryStore.append} (store/arena_extend.ts): a
 * value grows where it lies or moves once with room to spare, and whatever
 * else happens to the record (a same-length overwrite, an expiry that comes
 * or goes, a compaction, a full store), the store answers like a Map and
 * its byte count comes back to 0 once every key is deleted.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "@std/assert";
import { ManualClock } from "./clock.ts";
import { MemoryStore } from "./memory.ts";
import { LINE_TEXT, NO_EXPIRY, NO_KEY, StoreFullError, type ValueSink } from "./store.ts";
import { mulberry32 } from "../testing/random.ts";

const test = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NOW = 1_700_000_000_000;

/** A store on a manual clock, with string helpers. */
function harness(maxArenaBytes?: number) {
  const clock = new ManualClock(NOW);
  const store = new MemoryStore({ clock, maxArenaBytes });
  const k = (key: string) => encoder.encode(key);
  const append = (key: string, value: string, lineText = false) => {
    const v = encoder.encode(value);
    return store.append(k(key), 0, k(key).length, v, 0, v.length, { lineText });
  };
  const read = (key: string): { value: string; flags: number } | undefined => {
    let got: { value: string; flags: number } | undefined;
    const sink: ValueSink = {
      addBytes(bytes, start, end, flags = 0) {
        got = { value: decoder.decode(bytes.subarray(start, end)), flags };
      },
    };
    store.get(k(key), 0, k(key).length, sink);
    return got;
  };
  const set = (key: string, value: string, expireAtMs = 0, lineText = false) => {
    const v = encoder.encode(value);
    store.set(k(key), 0, k(key).length, v, 0, v.length, { expireAtMs, lineText });
  };
  const expiry = (key: string) => store.expiry(k(key), 0, k(key).length);
  return { clock, store, k, append, read, set, expiry };
}

test("MemoryStore.append: 20,000 appends to one key leave one live record, not a trail of copies", () => {
  const { store, append, read } = harness();
  let expected = "";
  for (let i = 0; i < 20_000; i++) {
    const piece = String.fromCharCode(97 + (i % 26));
    expected += piece;
    assertEquals(append("a", piece), expected.length);
  }
  assertEquals(read("a")?.value, expected);
  // The record holds the value and at most as much again to spare (and its header).
  const held = store.info().datasetBytes;
  assert(held <= 2 * expected.length + 64, `${held} bytes held for a value of ${expected.length}`);
});

test("MemoryStore.append keeps the expiry, drops TEXT unless both parts are line text, and makes a missing key", () => {
  const { clock, append, read, set, expiry } = harness();
  assertEquals(append("new", "ab", true), 2);
  assertEquals(read("new"), { value: "ab", flags: LINE_TEXT });
  assertEquals(expiry("new"), NO_EXPIRY);
  set("t", "x", NOW + 5000, true);
  assertEquals(append("t", "yz", true), 3);
  assertEquals(read("t"), { value: "xyz", flags: LINE_TEXT });
  assertEquals(append("t", "\n"), 4);
  assertEquals(read("t"), { value: "xyz\n", flags: 0 }, "bytes not vouched for: no TEXT");
  assertEquals(append("t", "w", true), 5);
  assertEquals(read("t")?.flags, 0, "TEXT does not come back");
  assertEquals(expiry("t"), NOW + 5000);
  clock.advance(5000);
  assertEquals(expiry("t"), NO_KEY);
  assertEquals(append("t", "q"), 1, "an expired key is missing: a new value, no expiry");
  assertEquals(expiry("t"), NO_EXPIRY);
});

test("MemoryStore.append at its cap throws StoreFullError and changes nothing", () => {
  const { store, append, read, set } = harness(4096);
  set("a", "x".repeat(1500));
  set("b", "y".repeat(1500)); // After a: a cannot grow above the top.
  const before = store.info();
  assertThrows(() => append("a", "z".repeat(1200)), StoreFullError);
  assertEquals(read("a")?.value, "x".repeat(1500));
  assertEquals(read("b")?.value, "y".repeat(1500));
  assertEquals(store.info(), before);
  // The last record may still grow where it lies, to the cap.
  assertEquals(append("b", "w".repeat(500)), 2000);
  assertEquals(read("b")?.value, "y".repeat(1500) + "w".repeat(500));
});

test("MemoryStore.append against a model: overwrites, expiries, deletes, compaction and a full store", () => {
  for (const cap of [4096, 65536]) {
    const random = mulberry32(cap);
    const int = (below: number) => Math.floor(random() * below);
    const { clock, store, append, read, set, expiry, k } = harness(cap);
    const model = new Map<string, { value: string; exp: number }>();
    let fulls = 0;
    for (let step = 0; step < 20_000; step++) {
      const key = `k${int(12)}`;
      const old = model.get(key);
      const letter = String.fromCharCode(97 + int(26));
      const roll = int(100);
      const where = `cap ${cap}, step ${step}, key ${key}`;
      try {
        if (roll < 55) {
          const piece = letter.repeat(int(10) === 0 ? int(cap / 4) : 1 + int(6));
          const value = (old?.value ?? "") + piece;
          assertEquals(append(key, piece), value.length, where);
          model.set(key, { value, exp: old?.exp ?? 0 });
        } else if (roll < 65 && old !== undefined) {
          // Same length: overwritten in place, a record with room to spare too.
          const value = letter.repeat(old.value.length);
          set(key, value, old.exp);
          model.set(key, { value, exp: old.exp });
        } else if (roll < 75) {
          const value = letter.repeat(int(40));
          const exp = int(2) ? clock.now() + 1000 + int(1000) : 0;
          set(key, value, exp);
          model.set(key, { value, exp });
        } else if (roll < 85) {
          const exp = int(3) === 0 ? 0 : clock.now() + 1000 + int(1000);
          if (store.expire(k(key), 0, key.length, exp) && old) old.exp = exp;
        } else {
          store.delete(k(key), 0, key.length);
          model.delete(key);
        }
      } catch (error) {
        if (!(error instanceof StoreFullError)) throw error;
        fulls++;
      }
      if (int(500) === 0) {
        clock.advance(500);
        for (const [key, e] of model) if (e.exp !== 0 && e.exp <= clock.now()) model.delete(key);
      }
      for (let n = 0; n < 12; n++) {
        const e = model.get(`k${n}`);
        assertEquals(read(`k${n}`)?.value, e?.value, `${where}: k${n}`);
        assertEquals(expiry(`k${n}`), e === undefined ? NO_KEY : e.exp || NO_EXPIRY, where);
      }
    }
    assert(fulls > 0, `cap ${cap}: the store was never full`);
    for (let n = 0; n < 12; n++) store.delete(k(`k${n}`), 0, `k${n}`.length);
    assertEquals(store.info().datasetBytes, 0, `cap ${cap}: every byte counted back`);
    assertEquals(store.info().expiringKeys, 0, `cap ${cap}: every expiry counted back`);
  }
});

test("MemoryStore.append past 64 MiB: records with room to spare survive a compaction in place", () => {
  const { store, append, read, k } = harness(96 * 1024 * 1024);
  const half = "h".repeat(512 * 1024);
  // Each value moves once with as much again to spare: about 2 MiB a key.
  for (let n = 0; n < 40; n++) {
    append(`k${n}`, half);
    append(`k${n}`, String(n).padEnd(512 * 1024, "t"));
  }
  for (let n = 0; n < 40; n += 2) store.delete(k(`k${n}`), 0, `k${n}`.length);
  // Past the cap unless the deleted half is reclaimed: the arena compacts where it lies.
  for (let n = 40; n < 60; n++) append(`k${n}`, half + half);
  for (let n = 1; n < 60; n += n < 40 ? 2 : 1) {
    const value = read(`k${n}`)?.value;
    const tail = n < 40 ? String(n).padEnd(512 * 1024, "t") : half;
    assertEquals(value?.length, 1024 * 1024, `k${n}`);
    assert(value?.endsWith(tail), `k${n}`);
    assertEquals(append(`k${n}`, "!"), 1024 * 1024 + 1, `k${n} grows again`);
    assert(read(`k${n}`)?.value.endsWith(`${tail}!`), `k${n} after a compaction`);
  }
  for (let n = 0; n < 60; n++) store.delete(k(`k${n}`), 0, `k${n}`.length);
  assertEquals(
    store.info().datasetBytes,
    0,
    "every record's size, spare room included, counted back",
  );
});

test("MemoryStore.truncate cuts a value back where it lies, keeping its expiry; appends then grow it again", () => {
  const { clock, store, k, append, read, set, expiry } = harness(64 * 1024);
  const truncate = (key: string, length: number, lineText = false) =>
    store.truncate(k(key), 0, k(key).length, length, { lineText });
  set("a", "typed", NOW + 60_000, true);
  append("a", "\u0000added"); // No longer line text.
  const held = store.info().datasetBytes;
  assertEquals(truncate("a", 5, true), true);
  assertEquals(read("a"), { value: "typed", flags: LINE_TEXT });
  assertEquals(expiry("a"), NOW + 60_000);
  assertEquals(store.info().datasetBytes, held, "the bytes cut off stay as room to spare");
  assertEquals(truncate("a", 6), false, "longer than the value: nothing changes");
  assertEquals(truncate("missing", 0), false);
  assertEquals(read("a"), { value: "typed", flags: LINE_TEXT });
  for (let i = 0; i < 100; i++) append("a", "xyz");
  assertEquals(read("a")?.value, "typed" + "xyz".repeat(100));
  assertEquals(truncate("a", 0), true);
  assertEquals(read("a"), { value: "", flags: 0 });
  // Whatever moves it later (an expiry that goes, a compaction), it reads the same.
  store.expire(k("a"), 0, 1, 0);
  assertEquals(expiry("a"), NO_EXPIRY);
  for (let i = 0; i < 2000; i++) set(`filler:${i % 50}`, "f".repeat(i % 300));
  assertEquals(read("a"), { value: "", flags: 0 });
  append("a", "again");
  assertEquals(read("a")?.value, "again");
  clock.advance(1);
  store.delete(k("a"), 0, 1);
  for (let i = 0; i < 50; i++) store.delete(k(`filler:${i}`), 0, k(`filler:${i}`).length);
  assertEquals(store.info().datasetBytes, 0);
  assertEquals(expiry("a"), NO_KEY);
});
