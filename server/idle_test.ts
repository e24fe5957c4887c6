/**
 * Tests of the idle timeout (server/idle.ts) across a stall of the server's
 * process, as SIGSTOP, a suspended VM or a debugger makes one: the server
 * runs in this process, and the test holds its event loop.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { PAUSED_LATE_MS } from "./idle.ts";
import { RawConn, startTestServer, textStore, within } from "../testing/mod.ts";

/** Holds this process's event loop for `ms`, as SIGSTOP holds a server's: nothing is read meanwhile. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* Stopped. */ }
}

Deno.test("serve() answers a request sent while it was stopped past --idle-timeout, and gives a silent client its whole timeout from the resume", async () => {
  const idleMs = 200;
  await using server = startTestServer({ store: textStore().store, idleTimeoutMs: idleMs });
  await using active = await RawConn.connect(server.port);
  await using silent = await RawConn.connect(server.port);
  for (const conn of [active, silent]) {
    await conn.send("PING\n");
    assertEquals(await within("PONG", conn.readLine()), "PONG");
  }
  // Both timers come due during the stall, and fire a second late.
  const sent = active.send("PING\n");
  stall(PAUSED_LATE_MS + 2 * idleMs);
  const resumedAt = performance.now();
  await sent;
  assertEquals(await within("PONG after the stop", active.readLine()), "PONG");
  assertEquals(await within("the silent client's close", silent.readToEnd()), "");
  const silentMs = performance.now() - resumedAt;
  assert(silentMs >= idleMs - 2, `closed ${silentMs.toFixed(0)} ms after the resume`);
});
