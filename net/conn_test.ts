/** Tests for conn.ts: writeAll() loops over partial writes; errors are sorted. Pure. */

import { assert, assertEquals, assertFalse } from "@std/assert";
import { closeQuietly, isDisconnect, writeAll } from "./conn.ts";

Deno.test({
  name: "writeAll() writes every byte through a writer that takes a few at a time",
  permissions: "none",
  fn: async () => {
    const taken: number[] = [];
    const writer = {
      write(bytes: Uint8Array): Promise<number> {
        const n = Math.min(3, bytes.length);
        taken.push(...bytes.subarray(0, n));
        return Promise.resolve(n);
      },
    };
    const data = Uint8Array.from({ length: 100 }, (_, i) => i);
    await writeAll(writer, data);
    assertEquals(taken, [...data]);
  },
});

Deno.test({
  name: "isDisconnect() tells a peer that went away from a bug; closeQuietly() closes once",
  permissions: "none",
  fn: () => {
    assert(isDisconnect(new Deno.errors.ConnectionReset("reset")));
    assert(isDisconnect(new Deno.errors.BrokenPipe("pipe")));
    assert(isDisconnect(new Deno.errors.BadResource("closed")));
    assertFalse(isDisconnect(new TypeError("a bug")));
    assertFalse(isDisconnect(new Deno.errors.PermissionDenied("no")));
    let closes = 0;
    const closer = {
      close() {
        if (closes++ > 0) throw new Deno.errors.BadResource("closed twice");
      },
    };
    closeQuietly(closer);
    closeQuietly(closer);
    assertEquals(closes, 2);
  },
});
