/**
 * Tests of {@linkcode resetAfter}'s connect timeout over real sockets on
 * port 0: a stall of the checker's own process while the connect completes
 * is not a server that does not accept.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { nextTick } from "node:process";
import type { PlayConfig } from "./context.ts";
import { resetAfter } from "./reset.ts";
import { stallUntil } from "../testing/mod.ts";

Deno.test("resetAfter: a stall of the checker's own process is not a connect that timed out", async (t) => {
  // The kernel completes the handshake with the listener while the process
  // is stalled (a busy loop here; a loaded machine in life) past the
  // timeout. A plain setTimeout fired first when it ran again: the step
  // failed with "cannot connect: connect timed out (has the server stopped?)".
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const config = { hostname: "127.0.0.1", port: listener.addr.port, timeoutMs: 100 };
  for (const stallMs of [300, 130]) {
    await t.step(`a stall of ${stallMs} ms past a timeout of 100 ms`, async () => {
      // The server's side, closed once the test is done with it (the reset
      // may come before this accept returns: Deno then throws NotConnected).
      const accepting = listener.accept().then((conn) => conn.close(), () => {});
      const reset = resetAfter(config as PlayConfig, new TextEncoder().encode("PING\n"), 0);
      // node:net begins the connect on the next tick, not in connect(): once that tick has run
      // (no turn of the event loop yet), the SYN is out and the kernel completes the handshake
      // during the stall. Stalled on microtasks only, the connect began after the stall, and the
      // test depended on the kernel completing it within one turn of the loop: on a loaded machine
      // it did not (the whole suite failed here once), though the checker had done no wrong.
      await new Promise<void>((resolve) => nextTick(resolve));
      stallUntil(Date.now() + stallMs);
      assertEquals(await reset, undefined, "connected, sent and reset: no StepFailure");
      await accepting;
    });
  }
});
