/**
 * Tests of {@linkcode KvClient} against servers that send without end,
 * over real sockets on port 0: answer lines no request asked for, and a
 * LIST that never ends. What the client holds is bounded: it stops reading,
 * and says why.
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { readRawLines, scriptedServer, send, within } from "../testing/mod.ts";
import { MAX_EARLY_LINES } from "./answers.ts";
import { KvClient, KvConnectionError } from "./client.ts";

/** Sends `line` for ever (a quarter MiB at a time), until the client goes away. */
async function sendForEver(conn: Deno.Conn, line: string): Promise<void> {
  const chunk = line.repeat(Math.ceil(256 * 1024 / line.length));
  try {
    for (;;) await send(conn, chunk);
  } catch {
    // The client stopped reading and closed: the flood ends.
  }
}

Deno.test("KvClient: a server that answers, then sends lines no request asked for without end, is stopped at 1,000", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, "PONG\n");
    await sendForEver(conn, "x\n");
  });
  await using kv = await KvClient.connect({ port: server.port });
  await kv.ping();
  // Idle: the flood ends the connection by itself, with the reason.
  const ended = (await within("the connection's end", kv.ended))!;
  assertInstanceOf(ended, KvConnectionError);
  assertEquals(ended.unasked, MAX_EARLY_LINES);
  assertEquals(
    ended.message,
    `stopped reading 127.0.0.1:${server.port}: it sent more answer lines than were asked for ` +
      "(past 1,000 lines or 256 KiB with no request waiting): a server that sends without end " +
      '(does its loop stop when recv() returns b""?)',
  );
  // The lines kept are not taken as answers: a later request fails with the reason.
  await assertRejects(() => kv.ping(), KvConnectionError, ended.message);
  const kept = await kv.finish(0);
  assertEquals([kept.length, kept[0]], [MAX_EARLY_LINES, "x"]);
  await server.done;
});

Deno.test("KvClient: unasked lines are also bounded by their bytes (256 KiB), not only by their count", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, "PONG\n");
    await sendForEver(conn, `${"y".repeat(10_000)}\n`);
  });
  await using kv = await KvClient.connect({ port: server.port });
  await kv.ping();
  const ended = await within("the connection's end", kv.ended);
  assertEquals(ended?.unasked, 26); // 26 lines of 10,001 bytes fit in 256 KiB; the 27th does not.
  await server.done;
});

Deno.test("KvClient: a few unasked lines still answer the next requests, as before", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, `PONG\n${"PONG\n".repeat(MAX_EARLY_LINES)}`);
    await readRawLines(conn, 1);
  });
  await using kv = await KvClient.connect({ port: server.port });
  await kv.ping();
  // Exactly as many as are kept: the connection stands, and they answer the next request.
  const line = await kv.request("PING");
  assertEquals(line, ["PONG"]);
  assert(kv.open);
  assertEquals((await kv.finish(0)).length, MAX_EARLY_LINES - 1);
  await kv.closeWrite();
  await server.done;
});

Deno.test("KvClient.list() and request(): a LIST that never ends stops at maxListLines or maxListBytes, not at the heap's end", async (t) => {
  const endlessList = () =>
    scriptedServer(async (conn) => {
      await readRawLines(conn, 1);
      await sendForEver(conn, "x, y\n"); // Each line restarts the answer timeout: only a bound stops it.
    });
  await t.step("list(), by lines", async () => {
    await using server = endlessList();
    await using kv = await KvClient.connect({ port: server.port, maxListLines: 50_000 });
    const error: KvConnectionError = await within(
      "list()",
      assertRejects(() => kv.list(), KvConnectionError),
    );
    assertEquals(
      error.message,
      `stopped reading 127.0.0.1:${server.port}: its LIST answer passed 50,000 lines or ` +
        "1,073,741,824 bytes, more than list() and request() hold whole (maxListLines, " +
        "maxListBytes; requestEach() takes a LIST of any size a few lines at a time; or the " +
        "server sends without end)",
    );
    // The connection is closed: later requests fail with the reason.
    await assertRejects(() => kv.ping(), KvConnectionError, "its LIST answer passed");
    await server.done;
  });
  await t.step('request("LIST"), by bytes', async () => {
    await using server = endlessList();
    await using kv = await KvClient.connect({ port: server.port, maxListBytes: 1024 * 1024 });
    await within(
      'request("LIST")',
      assertRejects(
        () => kv.request("LIST"),
        KvConnectionError,
        "passed 10,000,000 lines or 1,048,576 bytes",
      ),
    );
    await server.done;
  });
});

Deno.test("KvClient.list(): a LIST in lines that came before it was asked for is bounded by maxListLines too", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    // The LIST's lines come with PING's answer, before any LIST was sent.
    await send(conn, "PONG\na, 1\nb, 2\nc, 3\n\n");
    await readRawLines(conn, 1);
  });
  await using kv = await KvClient.connect({ port: server.port, maxListLines: 2 });
  await kv.ping();
  await within(
    "list()",
    assertRejects(() => kv.list(), KvConnectionError, "its LIST answer passed 2 lines"),
  );
  await assertRejects(() => kv.ping(), KvConnectionError, "its LIST answer passed 2 lines");
  await server.done;
});

Deno.test("KvClient.list(): a LIST in lines that came before the server closed is refused for its size, not for the close", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    // The LIST's lines come with PING's answer, then the server closes.
    await send(conn, "PONG\na, 1\nb, 2\nc, 3\n\n");
  });
  await using kv = await KvClient.connect({ port: server.port, maxListLines: 2 });
  await kv.ping();
  await server.done;
  await kv.ended;
  // Read live, this LIST fails for its size: so it does from the lines kept after the close.
  await within(
    "list()",
    assertRejects(() => kv.list(), KvConnectionError, "its LIST answer passed 2 lines"),
  );
});

Deno.test("KvClient: a LIST at maxListLines is whole; requestEach() is not bounded by it", async () => {
  const pairs = (n: number) => Array.from({ length: n }, (_, i) => `k${i}, v${i}\n`).join("");
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 2);
    await send(conn, `${pairs(1_000)}\n${pairs(5_000)}\n`);
    await readRawLines(conn, 1);
  });
  await using kv = await KvClient.connect({ port: server.port, maxListLines: 1_000 });
  const listed = kv.list();
  let streamed = 0;
  const rest = kv.requestEach("LIST", (lines) => {
    streamed += lines.length;
  });
  assertEquals((await listed).size, 1_000);
  assertEquals(streamed + (await rest).length, 5_000);
  await kv.closeWrite();
  await server.done;
});

Deno.test("KvClient.connect(): maxListLines and maxListBytes must be whole numbers from 1", async () => {
  for (const options of [{ maxListLines: 0 }, { maxListBytes: 1.5 }]) {
    await assertRejects(() => KvClient.connect(options), RangeError, "expected an integer from 1");
  }
});
