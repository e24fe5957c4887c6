/**
 * Tests of the process streams' writer: all of a text is written, and once
 * the reader has gone (a broken pipe) the rest is dropped, not thrown.
 *
 * @module
 */

import { assertEquals, assertThrows } from "@std/assert";
import { processStream } from "./io.ts";

/** A stream that takes at most `chunk` bytes a call, and then breaks after `breakAfter` calls. */
function fakeFile(
  chunk: number,
  breakAfter = Infinity,
  error: Error = new Deno.errors.BrokenPipe(),
) {
  const written: number[] = [];
  let calls = 0;
  return {
    written,
    writeSync(bytes: Uint8Array): number {
      if (++calls > breakAfter) throw error;
      const n = Math.min(chunk, bytes.length);
      written.push(...bytes.subarray(0, n));
      return n;
    },
  };
}

Deno.test({
  name: "processStream() writes all of a text, in as many calls as the stream needs",
  permissions: "none",
  fn() {
    const file = fakeFile(3);
    processStream(file)("안녕, kv\n");
    assertEquals(new TextDecoder().decode(new Uint8Array(file.written)), "안녕, kv\n");
  },
});

Deno.test({
  name: "processStream() drops what follows a broken pipe without throwing (kv check | head)",
  permissions: "none",
  fn() {
    const file = fakeFile(100, 1);
    const write = processStream(file);
    write("first\n");
    write("second\n"); // The reader has gone.
    write("third\n");
    assertEquals(new TextDecoder().decode(new Uint8Array(file.written)), "first\n");
  },
});

Deno.test({
  name: "processStream() tells readerGone once the pipe broke, and only then",
  permissions: "none",
  fn() {
    let told = 0;
    const write = processStream(fakeFile(100, 1), undefined, () => told++);
    write("first\n");
    assertEquals(told, 0);
    write("second\n");
    write("third\n");
    assertEquals(told, 1);
  },
});

Deno.test({
  name: "processStream() still throws any other error",
  permissions: "none",
  fn() {
    const write = processStream(fakeFile(100, 0, new Deno.errors.PermissionDenied("no")));
    assertThrows(() => write("x"), Deno.errors.PermissionDenied);
  },
});

Deno.test({
  name:
    "processStream() with failed: another error is told once, and the rest dropped (> a full disk)",
  permissions: "none",
  fn() {
    const told: unknown[] = [];
    const write = processStream(
      fakeFile(100, 0, new Deno.errors.WriteZero("No space left on device")),
      (error) => told.push(error),
    );
    write("x");
    write("y");
    assertEquals(told.length, 1);
    assertEquals((told[0] as Error).message, "No space left on device");
  },
});
