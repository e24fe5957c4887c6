/**
 * A server whose process was stopped (SIGSTOP, a suspended VM or laptop, a
 * debugger, a frozen container), over real sockets on port 0: the server
 * runs in this process, and the test holds its event loop for longer than a
 * timeout, as a stop does. Its timers then fire late, before what the
 * clients sent meanwhile is read: the time it was stopped is not counted
 * against them (`setRunningTimeout`, server/idle.ts).
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { runBench } from "../bench/run.ts";
import { PAUSED_LATE_MS } from "../net/conn.ts";
import {
  FakeIo,
  LogCollector,
  RawConn,
  readAll,
  scriptedServer,
  send,
  startTestServer,
  textStore,
  TraceCollector,
  within,
} from "../testing/mod.ts";
import { TEST_CA, TEST_CERT, TEST_KEY } from "../testing/tls.ts";

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

Deno.test("serve() over TLS finishes a handshake that was under way while it was stopped past the handshake timeout", async () => {
  const limitMs = 200;
  const logs = new LogCollector();
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    handshakeTimeoutMs: limitMs,
    verbose: true,
    log: logs.log,
  });
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  // Accepted: its handshake's timer is running.
  await within("the accept", logs.waitFor(/#1 connected from/));
  const tls = Deno.startTls(raw, { hostname: "localhost", caCerts: [TEST_CA] });
  const handshake = tls.then((conn) => conn.handshake());
  stall(PAUSED_LATE_MS + 2 * limitMs);
  using conn = await tls;
  await within("the handshake", handshake);
  await send(conn, "QUIT\n");
  assertEquals(await within("Bye!", readAll(conn)), "Bye!\n");
});

Deno.test("serve() stopped past the wait for a refused client's first byte still refuses a Redis client in Redis's words", async () => {
  // The refusal waits 100 ms for a first byte (a `*`: a Redis client), and
  // at most the handshake timeout in all; both come due during the stall.
  const logs = new LogCollector();
  await using server = startTestServer({
    maxConnections: 1,
    handshakeTimeoutMs: 200,
    log: logs.log,
  });
  await using first = await RawConn.connect(server.port);
  await first.send("PING\n");
  assertEquals(await within("PONG", first.readLine()), "PONG");
  await using refused = await RawConn.connect(server.port);
  // Logged as refuse() starts, in the same turn: its timers are running.
  await within("the refusal", logs.waitFor(/#2 refused/));
  stall(4 * 200);
  // The client speaks 10 ms after the resume: not a byte the look at the
  // I/O as the late timers fire could see.
  await new Promise((resolve) => setTimeout(resolve, 10));
  await refused.send("*1\r\n$4\r\nPING\r\n");
  assertEquals(
    await within("the refusal", refused.readToEnd()),
    "-ERR max number of clients reached\r\n",
  );
});

Deno.test("runBench() stopped with an answer unread past its stall timeout does not take the server for silent", async () => {
  // Ctrl-Z or kill -STOP on kv bench: the answer that came meanwhile waits
  // unread, and its stall check ran first and gave up on the connection.
  const stallMs = 100;
  const values = new Map<string, string>();
  let answered = 0;
  await using server = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(1024);
    const decoder = new TextDecoder();
    let text = "";
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      text += decoder.decode(buffer.subarray(0, n));
      for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n")) {
        const [command, key, value] = text.slice(0, end).split(", ");
        text = text.slice(end + 1);
        if (command === "PUT") values.set(key!, value!);
        await send(conn, command === "PUT" ? "Success!\n" : `${values.get(key!)}\n`);
        // The answer is in the bench's socket, unread: the bench stops now.
        if (++answered === 3) stall(PAUSED_LATE_MS + 3 * stallMs);
      }
    }
  });
  const fake = new FakeIo();
  const outcome = await within(
    "the bench",
    runBench(
      { port: server.port, connections: 1, keys: 1, requests: 5, stallTimeoutMs: stallMs },
      fake.io,
    ),
  );
  assertEquals(fake.stderr, "");
  assertEquals(outcome, "ok");
});

Deno.test("serve() stopped past --unframed-pause-ms does not take a textbook client's partial line for a request", async () => {
  // The pause's timer fires late, before the rest of the line is read: it
  // starts over from the resume (its time, 100 ms, given again), and the rest,
  // 10 ms after the resume, completes the line.
  const traced = new TraceCollector();
  await using server = startTestServer({ trace: traced.trace, unframedPauseMs: 100 });
  await using conn = await RawConn.connect(server.port);
  await conn.send("PIN");
  await within("the read", traced.waitFor("#1", "recv"));
  // A turn: the server waits for the pause.
  await new Promise((resolve) => setTimeout(resolve, 0));
  stall(400);
  await new Promise((resolve) => setTimeout(resolve, 10));
  await conn.send("G");
  assertEquals(await within("PONG", conn.readLine()), "PONG");
  assertEquals(traced.details("#1", "request"), ['"PING" ended-by=pause']);
});
