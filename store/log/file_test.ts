/**
 * Tests of the log's file helpers.
 *
 * @module
 */

import { assertEquals, assertThrows } from "@std/assert";
import { type LogFile, writeAllSync } from "./file.ts";

Deno.test({
  name:
    "writeAllSync() continues a short write, and throws on a write of nothing instead of spinning",
  permissions: "none",
  fn: () => {
    const taken: number[] = [];
    const halves = { writeSync: (bytes: Uint8Array) => (taken.push(bytes[0]!), 1) };
    writeAllSync(halves as unknown as LogFile, new Uint8Array([1, 2, 3]));
    assertEquals(taken, [1, 2, 3]);
    const none = { writeSync: () => 0 };
    assertThrows(
      () => writeAllSync(none as unknown as LogFile, new Uint8Array([1])),
      Deno.errors.WriteZero,
    );
  },
});
