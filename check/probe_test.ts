/**
 * Tests of {@linkcode Probe}, the connection a rule reads through, over
 * real sockets on port 0.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { readRawLines, scriptedServer, send, stallUntil } from "../testing/mod.ts";
import { Probe } from "./probe.ts";

Deno.test("Probe.close() lets go of what was received and not taken (the run keeps its probes)", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, "Success!\nand more without end"); // One write: one read takes it all.
    await conn.read(new Uint8Array(1)); // Until the probe closes.
  });
  const probe = await Probe.open("127.0.0.1", server.port, { timeoutMs: 5_000 });
  assertEquals(await probe.write(new TextEncoder().encode("PING\n"), 5_000), "ok");
  const read = await probe.readLine(5_000, 5_000);
  assertEquals(read.kind, "line");
  assertEquals(new TextDecoder().decode(probe.buffered), "and more without end");
  await probe.close();
  assertEquals(probe.buffered.length, 0);
  assertEquals(probe.received, 29, "what it received is still counted");
  await server.done;
});

/**
 * What `Probe.readQuiet()` (a 100 ms pause) reads from a server that sends
 * "AAAA", waits until the probe has it, then runs `rest`.
 */
async function readQuietAfterAAAA(rest: (conn: Deno.Conn) => Promise<void>) {
  const waiting = Promise.withResolvers<void>();
  await using server = scriptedServer(async (conn) => {
    await send(conn, "AAAA");
    await waiting.promise; // The probe has "AAAA" and waits for the pause.
    await rest(conn);
    await conn.read(new Uint8Array(1)); // Until the probe closes.
  });
  const probe = await Probe.open("127.0.0.1", server.port, { timeoutMs: 5_000 });
  let read;
  try {
    read = await probe.readQuiet(5_000, 100, (got) => {
      if (got.length === 4) waiting.resolve();
      return got.at(-1) === 0x0a;
    });
  } finally {
    await probe.close();
  }
  await server.done;
  return read;
}

Deno.test("Probe.readQuiet() does not take a stall of its own process for the server's pause", async () => {
  // The server's next bytes arrive while this process is stalled (a busy
  // loop here; a loaded machine in life) for longer than the pause: the
  // pause's timer is due when the process runs again, and the bytes are there.
  const read = await readQuietAfterAAAA(async (conn) => {
    await send(conn, "BBBB");
    stallUntil(Date.now() + 300);
    await send(conn, "\n");
  });
  assertEquals(read.kind, "answer");
  assertEquals(new TextDecoder().decode(read.got), "AAAABBBB\n");
});

Deno.test("Probe.readQuiet() starts the pause over after a stall of its own past it", async () => {
  // A timer that fires late by half its time or more (pausedLateMs) starts
  // over from the resume: the rest comes 10 ms after the stall, which the one
  // look at the I/O that a timer a little late gets cannot see.
  const read = await readQuietAfterAAAA(async (conn) => {
    // A turn: the probe has "AAAA" and waits for the pause.
    await new Promise((resolve) => setTimeout(resolve, 0));
    stallUntil(Date.now() + 400);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await send(conn, "BBBB\n");
  });
  assertEquals(read.kind, "answer");
  assertEquals(new TextDecoder().decode(read.got), "AAAABBBB\n");
});
