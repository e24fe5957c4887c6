/**
 * Tests that `serve({ udp: true })` gives back what its datagrams borrowed
 * from the pool (wire/buffer_pool.ts's `sharedPool`: a last line past 4 KiB
 * with no `\n`, an answer past 4 KiB) once it has shut down, over real UDP
 * sockets on port 0.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { startTestServer, UdpPeer, within } from "../testing/mod.ts";
import { sharedPool } from "../wire/buffer_pool.ts";

Deno.test("serve() with udp gives back the buffers its datagrams borrowed once it has shut down", async () => {
  const lentBefore = sharedPool.lent;
  const server = startTestServer({ udp: true });
  using peer = new UdpPeer();
  const value = "v".repeat(10_000);
  // The datagram's end ends its last line, gathered in a buffer of the pool's.
  assertEquals(await peer.exchange(server.port, `PUT, k, ${value}`), "Success!\n");
  // An answer gathered in one.
  assertEquals(await peer.exchange(server.port, "GET, k\n"), `${value}\n`);
  assertEquals(sharedPool.lent, lentBefore + 2, "both held while it serves");
  await within("finished", server.shutdown());
  assertEquals(sharedPool.lent, lentBefore);
});
