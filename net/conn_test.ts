/** Tests for conn.ts: writeAll() loops over partial writes; errors are sorted; an accept a reset spoiled. */

import { assert, assertEquals, assertFalse, assertRejects } from "@std/assert";
import { connect } from "node:net";
import { accepted } from "../testing/sockets.ts";
import { closeQuietly, isClientGone, isDisconnect, writeAll } from "./conn.ts";

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
    // macOS's write to a socket its peer is closing (EPROTOTYPE, 41), as Deno throws it.
    const eprototype = Object.assign(new Error("Protocol wrong type for socket (os error 41)"), {
      code: "EPROTOTYPE",
    });
    assert(isDisconnect(eprototype));
    assertFalse(isDisconnect(Object.assign(new Error("Message too long"), { code: "EMSGSIZE" })));
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

Deno.test("a client that resets before its accept makes accept() throw what isClientGone() tells; accepted() skips it", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  // Connected (the kernel queued it), then reset (SO_LINGER 0), all before any accept.
  const socket = connect({ host: "127.0.0.1", port });
  await new Promise((resolve) => socket.once("connect", resolve));
  const closed = new Promise((resolve) => socket.once("close", resolve));
  socket.resetAndDestroy();
  await closed;
  const error = await listener.accept().then(
    (conn) => (conn.close(), undefined),
    (error: unknown) => error,
  );
  assert(isClientGone(error), `accept() gave ${error}`);
  // The same again, then a client that stays: accepted() skips the first.
  const again = connect({ host: "127.0.0.1", port });
  await new Promise((resolve) => again.once("connect", resolve));
  const againClosed = new Promise((resolve) => again.once("close", resolve));
  again.resetAndDestroy();
  await againClosed;
  const stays = await Deno.connect({ hostname: "127.0.0.1", port });
  const connections = accepted(listener);
  const first = await connections.next();
  assert(!first.done);
  assertEquals(
    (first.value.remoteAddr as Deno.NetAddr).port,
    (stays.localAddr as Deno.NetAddr).port,
  );
  first.value.close();
  stays.close();
  listener.close();
  assertEquals((await connections.next()).done, true, "closing the listener ends it");
});

Deno.test({
  name: "writeAll() rejects a write of nothing instead of waiting for ever",
  permissions: "none",
  fn: async () => {
    await assertRejects(
      () => writeAll({ write: () => Promise.resolve(0) }, new Uint8Array([1])),
      Deno.errors.WriteZero,
    );
  },
});
