/**
 * Tests of the connection loop through a stand-in socket, where the order
 * of a read's completion and a shutdown can be set exactly. Pure.
 */

import { assertEquals } from "@std/assert";
import { Watches } from "../command/watch.ts";
import { MemoryStore } from "../store/memory.ts";
import { TextStore } from "../store/text.ts";
import { testContext } from "../testing/store_harness.ts";
import { Connection } from "./connection.ts";

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
    const addr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 1 };
    const conn = {
      localAddr: addr,
      remoteAddr: { ...addr, port: 2 },
      read(buffer: Uint8Array) {
        buffer.set(new TextEncoder().encode("PUT, k, v\n"));
        reading.resolve();
        return read.promise;
      },
      write: (bytes: Uint8Array) => (written.push(bytes.length), Promise.resolve(bytes.length)),
      closeWrite: () => Promise.resolve(),
      close() {},
    } as unknown as Deno.Conn;
    const config = {
      maxLineBytes: 1024,
      idleTimeoutMs: 0,
      unframedPauseMs: 0,
      handshakeTimeoutMs: 0,
      shutdownGraceMs: 0,
      verbose: false,
    };
    const store = new MemoryStore();
    const { clock, stats, guard } = testContext(store);
    const connection = new Connection(
      conn,
      1,
      config,
      { store, clock, stats, guard, watches: new Watches(store), turns: { count: 0 } },
      () => {},
    );
    const ran = new Promise<void>((resolve) => connection.run(() => resolve()));
    await reading.promise;
    read.resolve(10);
    connection.stop();
    await ran;
    assertEquals(new TextStore(store).get("k"), undefined, "not applied");
    assertEquals(written, [], "nothing answered");
  },
});
