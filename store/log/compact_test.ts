/**
 * Tests for compact.ts's walk, on a fake file system: what the new file
 * holds. (Compaction as the log runs it, with its switch, crashes and
 * failures, is tested in store/log_test.ts.) Pure: `permissions: "none"`.
 */

import { assert, assertEquals } from "@std/assert";
import { FakeFs } from "../../testing/mod.ts";
import type { Clock } from "../clock.ts";
import { MemoryStore } from "../memory.ts";
import { TextStore } from "../text.ts";
import { Compaction } from "./compact.ts";
import { MAGIC, OP, readRecord, RecordView } from "./format.ts";

Deno.test({
  name: "Compaction never writes back a key whose time comes during the walk",
  permissions: "none",
  fn: async () => {
    // The walk's scan reads the clock once per step; looking up each pair's
    // expiry reads it again. Here the time passes every key's expiry in
    // between, as a tick of the real clock may.
    let calls = -1; // Counted from the walk's start.
    const clock: Clock = { now: () => calls < 0 ? 1_000 : calls++ === 0 ? 1_000 : 9_000 };
    const memory = new MemoryStore({ clock });
    const text = new TextStore(memory);
    for (let i = 0; i < 50; i++) text.set(`temp:${i}`, "v", { expireAtMs: 5_000 });
    text.set("kept", "forever");
    assertEquals(memory.size, 51);
    calls = 0;
    const fs = new FakeFs();
    const compaction = new Compaction({
      fs,
      path: "/data/kv.log",
      dir: "/data",
      tempPath: "/data/kv.log.compact",
      store: () => memory,
      hook: undefined,
    });
    assert(await compaction.writeSnapshot());
    const bytes = fs.read("/data/kv.log.compact");
    const view = new RecordView();
    const written: string[] = [];
    for (let at = MAGIC.length; at < bytes.length;) {
      at = readRecord(bytes, at, bytes.length, view);
      assert(at > 0);
      assertEquals(view.op, OP.set);
      written.push(new TextDecoder().decode(bytes.subarray(view.keyStart, view.keyEnd)));
    }
    assertEquals(written, ["kept"]);
    compaction.file.close();
  },
});
