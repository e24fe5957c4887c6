/**
 * Tests of {@linkcode connectTcp}'s timeout over real sockets on port 0: a
 * stall of this process while the connect completes is not the peer's
 * slowness.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { connectTcp } from "./connect.ts";
import { stallUntil } from "../testing/mod.ts";

Deno.test("connectTcp: a stall of its own process is not a connect that timed out", async (t) => {
  // The kernel completes the handshake with the listener (its SYN-ACK came)
  // while the process is stalled (a busy loop here; a stopped process or a
  // loaded machine in life) past the timeout: when it runs again, the
  // timer is due and the connection is there. A plain setTimeout fired
  // first and aborted it ("timed out"), whatever the stall. Past half the
  // timeout late, the timer starts over; a little late, it looks first.
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  for (const stallMs of [300, 130]) {
    await t.step(`a stall of ${stallMs} ms past a timeout of 100 ms`, async () => {
      const connecting = connectTcp("127.0.0.1", listener.addr.port, { timeoutMs: 100 });
      // Microtasks only, no turn of the event loop: connectTcp has begun the
      // connect, and cannot see it end before the stall.
      for (let i = 0; i < 10; i++) await null;
      stallUntil(Date.now() + stallMs);
      using conn = await connecting;
      using accepted = await listener.accept();
      assertEquals(conn.localAddr, accepted.remoteAddr);
    });
  }
});
