/**
 * Tests of `--max-pending-bytes` (`maxPendingBytes`): what all connections'
 * unfinished requests may hold together, over real sockets on port 0. Each
 * connection's own request is bounded by `--max-line-bytes`
 * (limits_test.ts); these hold several connections' partial lines or RESP
 * requests until the sum is at a small budget, and check that the next one
 * to grow is refused while the others, and small requests, are answered.
 *
 * A connection's partial request past its own 4 KiB takes a 64 KiB buffer
 * from the pool, and that is what the budget counts: partial requests of
 * 40,000 bytes take 64 KiB each, so four fill a budget of 256 KiB. The
 * server's trace (`recv` events) says when it has read every byte sent.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "@std/assert";
import { serve } from "../server/serve.ts";
import { RawConn, resp, startTestServer, TraceCollector } from "../testing/mod.ts";

const BUDGET = 256 * 1024;
const PARTIAL = 40_000; // Past 4 KiB, within 64 KiB: one pooled buffer each.
const HOLDERS = BUDGET / (64 * 1024);
const NO_ROOM_LINE =
  `Error: line not read: unfinished requests of all clients hold ${BUDGET} bytes ` +
  "already (--max-pending-bytes); send it again later";
const NO_ROOM_RESP = `-ERR kv: unfinished requests of all clients hold ${BUDGET} bytes ` +
  "already (--max-pending-bytes); try again later";

/** A server with the small budget, traced (to know when it has read what was sent). */
function budgetServer() {
  const traced = new TraceCollector();
  // No unframed pause: a partial line with no `\n` waits for its `\n`.
  const server = startTestServer({
    maxPendingBytes: BUDGET,
    unframedPauseMs: 0,
    trace: traced.trace,
  });
  return { server, traced };
}

Deno.test("serve() refuses a maxPendingBytes below 1 before it binds", () => {
  assertThrows(
    () => serve({ port: 0, maxPendingBytes: 0 }),
    RangeError,
    "Cannot use maxPendingBytes 0: expected an integer from 1",
  );
});

Deno.test("a line client whose partial line would pass --max-pending-bytes gets an error, the others are answered", async () => {
  const { server, traced } = budgetServer();
  await using _server = server;
  const holders: RawConn[] = [];
  try {
    for (let i = 0; i < HOLDERS; i++) {
      const holder = await RawConn.connect(server.port);
      holders.push(holder);
      await holder.send("a".repeat(PARTIAL)); // No `\n`: held.
    }
    await traced.received(HOLDERS * PARTIAL);

    await using late = await RawConn.connect(server.port);
    await late.send("b".repeat(PARTIAL));
    assertEquals(await late.readLine(), NO_ROOM_LINE, "refused as soon as it outgrew 4 KiB");
    // Dropped and skipped to its `\n`, as a line too long: the connection goes on.
    await late.send("bbb\nPING\n");
    assertEquals(await late.readLine(), "PONG");
    // A request that fits in a read takes nothing from the budget.
    await late.send(`PUT, k, ${"v".repeat(3000)}\nGET, k\n`);
    assertEquals(await late.readLines(2), ["Success!", "v".repeat(3000)]);

    // One that leaves gives its share back: the next long line fits.
    holders[1]!.close();
    await traced.waitFor("#2", "close");
    await late.send(`PUT, big, ${"c".repeat(PARTIAL)}\nGET, k\n`);
    assertEquals(await late.readLines(2), ["Success!", "v".repeat(3000)]);

    // The others are still served: a line finished is a request.
    await holders[0]!.send("\n");
    const answer = await holders[0]!.readLine();
    assert(answer?.startsWith('Error: unknown command "aaaa'), String(answer));
  } finally {
    for (const holder of holders) holder.close();
  }
});

Deno.test("a Redis client whose partial request would pass --max-pending-bytes gets -ERR and is closed, the others are answered", async () => {
  const { server, traced } = budgetServer();
  await using _server = server;
  const head = `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${PARTIAL}\r\n`;
  const holders: RawConn[] = [];
  try {
    for (let i = 0; i < HOLDERS; i++) {
      const holder = await RawConn.connect(server.port);
      holders.push(holder);
      await holder.send(head + "v".repeat(PARTIAL - 10)); // Ten bytes short, and its CRLF.
    }
    await traced.received(HOLDERS * (head.length + PARTIAL - 10));

    await using late = await RawConn.connect(server.port);
    await late.send(head + "w".repeat(PARTIAL - 10));
    assertEquals(await late.readLine(), `${NO_ROOM_RESP}\r`);
    assert(await late.closedByServer(), "closed, as Redis closes a client past its query buffer");

    // Others are answered: a new client's small request, and a holder that finishes.
    await using other = await RawConn.connect(server.port);
    await other.send(resp("PING"));
    assertEquals(await other.readLine(), "+PONG\r");
    await holders[0]!.send("v".repeat(10) + "\r\n");
    assertEquals(await holders[0]!.readLine(), "+OK\r");
    await other.send(resp("STRLEN", "k"));
    assertEquals(await other.readLine(), `:${PARTIAL}\r`);
  } finally {
    for (const holder of holders) holder.close();
  }
});

Deno.test("an idle line client that sent a big line and the start of another keeps no big buffer", async () => {
  // The big line's buffer is freed once it has run, not by the connection's
  // release when it waits for bytes: that does nothing while a partial line
  // is held (here "PI"), and the buffer counts against no budget. Same
  // process, so what the server keeps is the test's external memory.
  await using server = startTestServer({ unframedPauseMs: 0 });
  const CLIENTS = 16;
  const line = new TextEncoder().encode(`PING, ${"a".repeat(1_000_000)}\nPI`);
  const conns: RawConn[] = [];
  try {
    const before = Deno.memoryUsage().external;
    for (let i = 0; i < CLIENTS; i++) {
      const conn = await RawConn.connect(server.port);
      conns.push(conn);
      await conn.send(line);
      assertEquals(await conn.readLine(), "Error: usage: PING");
    }
    const keptMb = (Deno.memoryUsage().external - before) / 2 ** 20;
    assert(keptMb < CLIENTS / 2, `${keptMb.toFixed(1)} MB kept by ${CLIENTS} idle clients`);
  } finally {
    for (const conn of conns) conn.close();
  }
});

Deno.test("an idle Redis client that sent a big request and the start of another holds none of the budget", async () => {
  // The big request's buffer went once no request was left in it: the start
  // of the next one ("PI" here) kept it, counted, for as long as the client
  // idled, and the others' partial requests were refused for want of room.
  const { server, traced } = budgetServer();
  await using _server = server;
  await using idle = await RawConn.connect(server.port);
  const big = resp("SET", "big", "v".repeat(100_000)) + "*1\r\n$4\r\nPI";
  await idle.send(big); // Past 64 KiB: read in two reads or more, gathered in a big buffer.
  assertEquals(await idle.readLine(), "+OK\r");
  const head = `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${PARTIAL}\r\n`;
  const holders: RawConn[] = [];
  try {
    for (let i = 0; i < HOLDERS; i++) {
      const holder = await RawConn.connect(server.port);
      holders.push(holder);
      await holder.send(head + "v".repeat(PARTIAL - 10));
    }
    await traced.received(big.length + HOLDERS * (head.length + PARTIAL - 10));
    for (const holder of holders) {
      await holder.send("v".repeat(10) + "\r\n");
      assertEquals(await holder.readLine(), "+OK\r", "the budget had room for every holder");
    }
    await idle.send("NG\r\n");
    assertEquals(await idle.readLine(), "+PONG\r");
  } finally {
    for (const holder of holders) holder.close();
  }
});
