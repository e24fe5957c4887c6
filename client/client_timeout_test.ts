/**
 * Tests of {@linkcode KvClient}'s answer timeout over real sockets on port
 * 0: silence, bytes without end and never a `\n` (trickled or flooded), a
 * long line that comes slowly but steadily, and a stall of the client's own
 * process, which is not the server's silence.
 *
 * @module
 */

import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { KvClient } from "./client.ts";
import { KvConnectionError, KvTimeoutError } from "./errors.ts";
import { readRawLines, scriptedServer, send, stallUntil } from "../testing/mod.ts";

const decoder = new TextDecoder();

Deno.test("KvClient: after a timeout, a later call says the connection closed, not that it waited", async () => {
  await using server = scriptedServer(async (conn) => {
    while (await conn.read(new Uint8Array(64)) !== null); // Never answers.
  });
  await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 100 });
  const timeout = await assertRejects(() => kv.ping(), KvTimeoutError, "within 0.1 s");
  assertEquals(timeout.timeoutMs, 100);
  assert(timeout.waitedMs !== undefined && timeout.waitedMs > 50, `${timeout.waitedMs}`);
  const later = await assertRejects(() => kv.ping(), KvConnectionError);
  assertEquals(later instanceof KvTimeoutError, false);
  assertStringIncludes(later.message, "is closed: an earlier request timed out");
});

Deno.test("KvClient: an answer timeout past setTimeout's 24.8 days waits, not fires at once", async () => {
  // A slow server: 20 ms per answer. A timer of 3e9 ms left uncapped fires after 1 ms.
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await send(conn, "PONG\n");
  });
  await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 3e9 });
  await kv.ping();
  await server.done;
});

Deno.test("KvClient: a server that sends bytes without end and never a \\n still times out", async () => {
  // A textbook loop that goes on once recv() returns b"": it answers the
  // end of the requests with an error, again and again, with no \n.
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    for (let i = 0; i < 200; i++) {
      await send(conn, "Wrong request!");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
  await using kv = await KvClient.connect({
    port: server.port,
    answerTimeoutMs: 300,
    answerPauseMs: 100,
  });
  const error = await assertRejects(() => kv.ping(), KvTimeoutError);
  assert(error.flowing, "the bytes were still coming");
  assert(decoder.decode(error.received).startsWith("Wrong request!Wrong request!"));
  assertStringIncludes(error.message, "no whole answer");
});

/**
 * The answer to a PING (a 100 ms pause) from a textbook server that sends
 * "PO" with no `\n`, waits until the client has it, then runs `rest`.
 */
async function pingTextbook(rest: (conn: Deno.Conn) => Promise<void>): Promise<string[]> {
  const waiting = Promise.withResolvers<void>();
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, "PO");
    await waiting.promise; // "PO" came: the client waits for the pause.
    await rest(conn);
  });
  await using kv = await KvClient.connect({
    port: server.port,
    answerTimeoutMs: 5_000,
    answerPauseMs: 100,
    trace: (event) => {
      if (event.event === "recv") waiting.resolve();
    },
  });
  const answer = await kv.request("PING");
  await server.done;
  return answer;
}

Deno.test("KvClient: a stall of its own process is not the server's silence", async (t) => {
  // The answer (or its rest) arrives while the process is stalled (a busy
  // loop here; a loaded machine in life) past the timer: when the process
  // runs again, the timer is due and the bytes are there.
  await t.step("the answer timeout", async () => {
    await using server = scriptedServer(async (conn) => {
      await readRawLines(conn, 1);
      await send(conn, "PONG\n");
      stallUntil(Date.now() + 300);
    });
    await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 100 });
    assertEquals(await kv.request("PING"), ["PONG"]);
    await server.done;
  });
  await t.step("a textbook answer's pause", async () => {
    assertEquals(
      await pingTextbook(async (conn) => {
        await send(conn, "NG");
        stallUntil(Date.now() + 300);
      }),
      ["PONG"],
    );
  });
  // A timer that fires late by half its time or more (pausedLateMs) starts
  // over from the resume: the server has the whole time again. Here the
  // rest comes 10 ms after the stall, which the one look at the I/O that a
  // timer a little late gets cannot see (under load, it was seen to miss
  // bytes that were there).
  await t.step("the answer timeout starts over after a stall past it", async () => {
    await using server = scriptedServer(async (conn) => {
      await readRawLines(conn, 1); // The client's timeout runs.
      stallUntil(Date.now() + 400);
      await new Promise((resolve) => setTimeout(resolve, 10));
      await send(conn, "PONG\n");
    });
    await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 100 });
    assertEquals(await kv.request("PING"), ["PONG"]);
    await server.done;
  });
  await t.step("a timeout after a stall past it says the wait from the resume", async () => {
    await using server = scriptedServer(async (conn) => {
      await readRawLines(conn, 1);
      stallUntil(Date.now() + 400);
      while (await conn.read(new Uint8Array(64)) !== null); // Never answers.
    });
    await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 100 });
    const error = await assertRejects(() => kv.ping(), KvTimeoutError);
    // Not "in 0.5 s: bytes came without a \n": none came, and the stall was ours.
    assertMatch(error.message, /^no answer from 127\.0\.0\.1:\d+ within 0\.1 s$/);
  });
  await t.step("a textbook answer's pause starts over after a stall past it", async () => {
    assertEquals(
      await pingTextbook(async (conn) => {
        // A turn: the client's read loop has taken "PO" and armed the pause.
        await new Promise((resolve) => setTimeout(resolve, 0));
        stallUntil(Date.now() + 400);
        await new Promise((resolve) => setTimeout(resolve, 10));
        await send(conn, "NG");
      }),
      ["PONG"],
    );
  });
});

Deno.test("KvClient: a server that floods bytes without a \\n times out, however fast they come", async () => {
  // 64 KiB every 5 ms, far more than the timeout lets pass as progress
  // each time (and far from the 256 MiB a line may hold): byte progress
  // counts for ten timeouts, then the wait ends. The timeout is long enough
  // that a loaded machine's late timers still leave the last bytes in its
  // final quarter ("flowing").
  const chunk = "Wrong request!".repeat(4681);
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    try {
      for (;;) {
        await send(conn, chunk);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } catch {
      // The client gave up and closed: the flood ends.
    }
  });
  await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 400 });
  const started = performance.now();
  const error = await assertRejects(() => kv.ping(), KvTimeoutError);
  assert(error.flowing, "the bytes were still coming");
  assert(performance.now() - started >= 4000, "bytes counted as progress for ten timeouts");
  // The message says how long it really waited, not the 0.4 s of one timeout.
  assertMatch(
    error.message,
    /^no whole answer from 127\.0\.0\.1:\d+ in [4-9]\.\d s: bytes came without a \\n, and each 64 KiB restarted the 0\.4 s timeout$/,
  );
});

Deno.test("KvClient: a long answer line that arrives slowly but steadily does not time out", async () => {
  const value = "v".repeat(224 * 1024);
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    // 32 KiB every 80 ms: 64 KiB of the line (progress) within every 300 ms, the whole in 560.
    for (let at = 0; at < value.length; at += 32 * 1024) {
      await send(conn, value.slice(at, at + 32 * 1024));
      await new Promise((resolve) => setTimeout(resolve, 80));
    }
    await send(conn, "\n");
  });
  await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 300 });
  assertEquals(await kv.get("big"), value);
});

Deno.test("KvClient: one late answer without \\n times out as silence, not as a server that sends without end", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await send(conn, "PONG");
    while (await conn.read(new Uint8Array(64)) !== null);
  });
  await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 200 });
  const error = await assertRejects(() => kv.ping(), KvTimeoutError);
  assertEquals(error.flowing, false);
  assertEquals(decoder.decode(error.received), "PONG");
});
