/**
 * Tests of the connection loop through a stand-in socket, where the order
 * of a read's completion and a shutdown can be set exactly. Pure.
 */

import { assertEquals } from "@std/assert";
import { TextStore } from "../store/text.ts";
import { standInConnection } from "../testing/stand_in.ts";

Deno.test({
  name: "Connection runs nothing of a read that completes as shutdown closes it",
  permissions: "none",
  fn: async () => {
    // The read's bytes are in, and its promise settled, when stop() closes
    // the connection (it was waiting for bytes): its PUT must not be applied
    // unanswered.
    const read = Promise.withResolvers<number | null>();
    const reading = Promise.withResolvers<void>();
    const written: number[] = [];
    const { connection, store } = standInConnection({
      read(buffer: Uint8Array) {
        buffer.set(new TextEncoder().encode("PUT, k, v\n"));
        reading.resolve();
        return read.promise;
      },
      write: (bytes: Uint8Array) => (written.push(bytes.length), Promise.resolve(bytes.length)),
    });
    const ran = new Promise<void>((resolve) => connection.run(() => resolve()));
    await reading.promise;
    read.resolve(10);
    connection.stop();
    await ran;
    assertEquals(new TextStore(store).get("k"), undefined, "not applied");
    assertEquals(written, [], "nothing answered");
  },
});
