/**
 * What every {@linkcode Store} must do, as one suite a backend runs against
 * itself: `storeContract("MyStore", (clock) => new MyStore({ clock }))` in
 * its test file registers one test whose steps cover the interface
 * (store/store.ts): bytes in and out at any position, overwrites, flags,
 * expiry on a clock the test moves, the optional `getSet`/`getDelete`,
 * SCAN's cursor across growth, `clear`, the change listener, `sweep` and
 * `commit`. The in-memory store and the log store both run it, so a new
 * backend (or a wrapper) can be held to the same behaviour.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "@std/assert";
import { ManualClock } from "../store/clock.ts";
import {
  LINE_TEXT,
  NO_EXPIRY,
  NO_KEY,
  type Store,
  type ValueSink,
  type WriteOptions,
} from "../store/store.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const START_MS = 1_800_000_000_000;

/** Opens a fresh, empty store on `clock`; `close` (if given) releases it after each step. */
export interface StoreMaker {
  (clock: ManualClock): Store | Promise<Store>;
}

/** What a {@linkcode ValueSink} was handed. */
interface Seen {
  value: string;
  flags: number;
  expireAtMs: number | undefined;
}

/** A sink that keeps what it is handed (at most once). */
class Sink implements ValueSink {
  seen: Seen | undefined;
  calls = 0;
  addBytes(bytes: Uint8Array, start: number, end: number, flags = 0, expireAtMs?: number): void {
    this.calls++;
    this.seen = { value: decoder.decode(bytes.subarray(start, end)), flags, expireAtMs };
  }
}

/** `text` in the middle of a larger array, so a store that ignores `start` or `end` is caught. */
function framed(text: string): [Uint8Array, number, number] {
  const inner = encoder.encode(text);
  const bytes = new Uint8Array(inner.length + 6).fill(0x7e);
  bytes.set(inner, 3);
  return [bytes, 3, 3 + inner.length];
}

/** The store seen through strings, for the steps below. */
class View {
  constructor(readonly store: Store) {}

  set(key: string, value: string, options?: WriteOptions): void {
    const [k, ks, ke] = framed(key);
    const [v, vs, ve] = framed(value);
    this.store.set(k, ks, ke, v, vs, ve, options);
  }

  get(key: string): string | undefined {
    return this.seen(key)?.value;
  }

  seen(key: string): Seen | undefined {
    const sink = new Sink();
    const [k, ks, ke] = framed(key);
    const found = this.store.get(k, ks, ke, sink);
    assertEquals(sink.calls, found ? 1 : 0, `get("${key}") returned ${found}`);
    return sink.seen;
  }

  delete(key: string): boolean {
    return this.store.delete(...framed(key));
  }

  expiry(key: string): number {
    return this.store.expiry(...framed(key));
  }

  expire(key: string, at: number): boolean {
    return this.store.expire(...framed(key), at);
  }

  /** Every pair, by a scan of `count` slots a call, as `key=value` (each pair once). */
  pairs(count = 3): string[] {
    const out: string[] = [];
    let cursor = 0;
    do {
      cursor = this.store.scan(cursor, count, (bytes, ks, ke, vs, ve) => {
        out.push(
          `${decoder.decode(bytes.subarray(ks, ke))}=${decoder.decode(bytes.subarray(vs, ve))}`,
        );
      });
    } while (cursor !== 0);
    return out.sort();
  }
}

/**
 * Registers the contract's test for a store made by `make`; `close` is
 * awaited after each step (a log store's file, for example).
 */
export function storeContract(
  name: string,
  make: StoreMaker,
  close: (store: Store) => Promise<void> | void = () => {},
): void {
  const step = (
    t: Deno.TestContext,
    what: string,
    fn: (view: View, clock: ManualClock) => void | Promise<void>,
  ) =>
    t.step(what, async () => {
      const clock = new ManualClock(START_MS);
      const store = await make(clock);
      try {
        await fn(new View(store), clock);
      } finally {
        await close(store);
      }
    });

  Deno.test({ name: `${name} keeps the Store contract`, permissions: "none" }, async (t) => {
    await step(t, "a set is read back; a missing key reads as nothing", (s) => {
      assertEquals(s.get("a"), undefined);
      s.set("a", "1");
      assertEquals(s.get("a"), "1");
      assertEquals(s.store.size, 1);
      assertEquals(s.delete("a"), true);
      assertEquals(s.delete("a"), false);
      assertEquals(s.get("a"), undefined);
      assertEquals(s.store.size, 0);
    });

    await step(t, "an overwrite replaces the value, longer, shorter or empty", (s) => {
      for (const value of ["short", "a much longer value than before".repeat(10), "", "x"]) {
        s.set("k", value);
        assertEquals(s.get("k"), value);
      }
      assertEquals(s.store.size, 1);
    });

    await step(t, "keys are bytes: a prefix, a case, a NUL and a 255 are other keys", (s) => {
      const keys = ["key", "ke", "key2", "KEY", "k\0y", "키", "\u00ff"];
      keys.forEach((key, i) => s.set(key, `v${i}`));
      keys.forEach((key, i) => assertEquals(s.get(key), `v${i}`, key));
      assertEquals(s.store.size, keys.length);
      const raw = new Uint8Array([0, 255, 10, 13]);
      s.store.set(raw, 0, 4, raw, 1, 3);
      const sink = new Sink();
      assert(s.store.get(raw, 0, 4, sink));
      assertEquals(sink.seen?.value, decoder.decode(raw.subarray(1, 3)));
    });

    await step(
      t,
      "a PUT's line-text flag is handed back, and a write without it clears it",
      (s) => {
        s.set("k", "v", { lineText: true });
        assertEquals(s.seen("k")?.flags, LINE_TEXT);
        s.set("k", "v");
        assertEquals(s.seen("k")?.flags ?? 0, 0);
      },
    );

    await step(
      t,
      "an expiry is kept, read back, and ends the key when its time comes",
      (s, clock) => {
        s.set("k", "v", { expireAtMs: START_MS + 1_000 });
        assertEquals(s.expiry("k"), START_MS + 1_000);
        assertEquals(s.expiry("none"), NO_KEY);
        clock.advance(999);
        assertEquals(s.get("k"), "v");
        clock.advance(1);
        assertEquals(s.get("k"), undefined);
        assertEquals(s.expiry("k"), NO_KEY);
        assertEquals(s.delete("k"), false);
        assertEquals(s.pairs(), []);
      },
    );

    await step(t, "a plain set clears the expiry; KEEPTTL keeps it; a past time deletes", (s) => {
      s.set("k", "v", { expireAtMs: START_MS + 5_000 });
      s.set("k", "w", { keepTtl: true });
      assertEquals([s.get("k"), s.expiry("k")], ["w", START_MS + 5_000]);
      s.set("k", "x");
      assertEquals(s.expiry("k"), NO_EXPIRY);
      s.set("k", "y", { expireAtMs: START_MS - 1 });
      assertEquals(s.get("k"), undefined);
    });

    await step(
      t,
      "expire() sets, persists with 0, deletes with a past time, and refuses nonsense",
      (s) => {
        assertEquals(s.expire("none", START_MS + 1), false);
        s.set("k", "v");
        assertEquals(s.expire("k", START_MS + 2_000), true);
        assertEquals(s.expiry("k"), START_MS + 2_000);
        assertEquals(s.expire("k", 0), true);
        assertEquals(s.expiry("k"), NO_EXPIRY);
        for (const bad of [-1, Number.NaN, 2 ** 53, Infinity]) {
          assertThrows(() => s.expire("k", bad), RangeError);
          assertThrows(() => s.set("k", "v", { expireAtMs: bad }), RangeError);
        }
        assertEquals([s.get("k"), s.expiry("k")], ["v", NO_EXPIRY]);
        assertEquals(s.expire("k", START_MS), true);
        assertEquals(s.get("k"), undefined);
      },
    );

    await step(t, "getSet and getDelete, where present, hand over the old value first", (s) => {
      const store = s.store;
      if (store.getSet === undefined || store.getDelete === undefined) {
        assertEquals(store.getSet, store.getDelete, "a store has both or neither");
        return;
      }
      const sink = new Sink();
      const [k, ks, ke] = framed("k");
      const [v, vs, ve] = framed("new");
      assertEquals(store.getSet(k, ks, ke, v, vs, ve, undefined, sink), false);
      assertEquals(sink.calls, 0);
      s.set("k", "old", { lineText: true, expireAtMs: START_MS + 9_000 });
      assertEquals(store.getSet(k, ks, ke, v, vs, ve, undefined, sink), true);
      assertEquals(sink.seen?.value, "old");
      assertEquals(sink.seen?.flags, LINE_TEXT);
      assert(sink.seen?.expireAtMs === undefined || sink.seen.expireAtMs === START_MS + 9_000);
      assertEquals([s.get("k"), s.expiry("k")], ["new", NO_EXPIRY]);
      const gone = new Sink();
      assertEquals(store.getDelete(k, ks, ke, gone), true);
      assertEquals(gone.seen?.value, "new");
      assertEquals(store.getDelete(k, ks, ke, gone), false);
      assertEquals(gone.calls, 1);
    });

    await step(t, "a scan visits every pair once, whatever the count a call", (s) => {
      const want: string[] = [];
      for (let i = 0; i < 500; i++) {
        s.set(`key:${i}`, `value ${i}`);
        want.push(`key:${i}=value ${i}`);
      }
      want.sort();
      for (const count of [1, 7, 64, 10_000]) assertEquals(s.pairs(count), want, `count ${count}`);
    });

    await step(t, "a scan across growth still visits every pair that was there throughout", (s) => {
      for (let i = 0; i < 100; i++) s.set(`old:${i}`, "v");
      const seen = new Set<string>();
      let cursor = 0;
      let added = 0;
      do {
        cursor = s.store.scan(cursor, 4, (bytes, ks, ke) => {
          seen.add(decoder.decode(bytes.subarray(ks, ke)));
        });
        // The store grows meanwhile, to many times its size, in the walk's
        // first steps (a walk may take few: count is a hint).
        for (let i = 0; i < 500 && added < 2_000; i++) s.set(`new:${added++}`, "v");
      } while (cursor !== 0);
      for (let i = 0; i < 100; i++) assert(seen.has(`old:${i}`), `old:${i} was not visited`);
    });

    await step(t, "clear() empties the store, and it works on after", (s) => {
      for (let i = 0; i < 20; i++) s.set(`k${i}`, "v", { expireAtMs: START_MS + 100 });
      s.store.clear();
      assertEquals([s.store.size, s.pairs()], [0, []]);
      s.set("k1", "again");
      assertEquals(s.get("k1"), "again");
      assertEquals(s.expiry("k1"), NO_EXPIRY);
    });

    await step(t, "the listener, where present, hears each change and nothing else", (s) => {
      if (s.store.listen === undefined) return;
      const heard: string[] = [];
      s.store.listen({
        keyChanged: (key, start, end) => heard.push(decoder.decode(key.subarray(start, end))),
        changedAll: () => heard.push("*"),
      });
      s.set("a", "1");
      s.set("a", "1"); // The same value is still a change (as Redis counts).
      s.delete("missing");
      s.expire("a", START_MS + 10);
      s.delete("a");
      s.store.clear();
      s.store.listen(undefined);
      s.set("b", "2");
      assertEquals(heard, ["a", "a", "a", "a", "*"]);
    });

    await step(t, "sweep(), where present, reclaims keys whose time has passed", (s, clock) => {
      if (s.store.sweep === undefined) return;
      for (let i = 0; i < 50; i++) s.set(`t${i}`, "v", { expireAtMs: START_MS + 10 });
      s.set("stays", "v");
      clock.advance(10);
      let removed = 0;
      for (let i = 0; i < 100 && s.store.size > 1; i++) removed += s.store.sweep(1_000);
      assertEquals([removed, s.store.size, s.get("stays")], [50, 1, "v"]);
    });

    await step(
      t,
      "commit(), where present, resolves true (or needs no wait) once the changes are made",
      async (s) => {
        if (s.store.commit === undefined) return;
        s.set("a", "1");
        s.delete("a");
        s.set("b", "2");
        assertEquals((await s.store.commit()) ?? true, true);
        assertEquals(s.pairs(), ["b=2"]);
      },
    );
  });
}
