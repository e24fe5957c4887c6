/**
 * Tests of `serve({ trace })` (`kv serve --trace`) over real sockets on
 * port 0: for each way a connection goes, the events the server traces and
 * their order. (A reset by a killed client needs a process to kill: see
 * `e2e/trace_e2e.ts`; here a fake socket stands in for one.)
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "@std/assert";
import { MemoryStore } from "../store/memory.ts";
import { ObservedStore, RawConn, startTestServer, TraceCollector, within } from "../testing/mod.ts";
import { standInConnection } from "../testing/stand_in.ts";

Deno.test("serve() traces a request: accept, recv, request, answer, send, the peer's FIN, close", async () => {
  const traced = new TraceCollector();
  await using server = startTestServer({ trace: traced.trace });
  await using conn = await RawConn.connect(server.port);
  await conn.send("PUT, myname, yyjun\n");
  assertEquals(await conn.readLine(), "Success!");
  await conn.closeWrite();
  assert(await conn.closedByServer());
  await within("close", traced.waitFor("#1", "close"));
  assertEquals(traced.of("#1"), ["accept", "recv", "request", "answer", "send", "eof", "close"]);
  const local = conn.conn.localAddr.port;
  assertEquals(traced.details("#1", "accept"), [
    `peer=127.0.0.1:${local} local=127.0.0.1:${server.port} (a new socket, for this client only)`,
  ]);
  assertEquals(traced.details("#1", "recv"), ['bytes=19 "PUT, myname, yyjun\\n"']);
  assertEquals(traced.details("#1", "request"), ['"PUT, myname, yyjun"']);
  assertEquals(traced.details("#1", "answer"), ['bytes=9 "Success!\\n"']);
  assertEquals(traced.details("#1", "send"), ["bytes=9"]);
  assertEquals(traced.details("#1", "close"), ["(after the peer's FIN)"]);
  const times = traced.events.filter((event) => event.who === "#1").map((event) => event.ms);
  assertEquals(times, [...times].sort((a, b) => a - b), "times since accept only grow");
  assertEquals(traced.of("server"), ["listen"]);
});

Deno.test("serve() traces a pipelined pair: one recv, two requests and answers, one send", async () => {
  const traced = new TraceCollector();
  await using server = startTestServer({ trace: traced.trace });
  await using conn = await RawConn.connect(server.port);
  await conn.send("PUT, a, 1\nGET, a\n");
  assertEquals(await conn.readLines(2), ["Success!", "1"]);
  await conn.send("LIST\nQUIT\n");
  assertEquals(await conn.readList(), ["a, 1"]);
  assertEquals(await conn.readLine(), "Bye!");
  assert(await conn.closedByServer());
  await within("close", traced.waitFor("#1", "close"));
  assertEquals(traced.of("#1"), [
    "accept",
    ...["recv", "request", "answer", "request", "answer", "send"],
    ...["recv", "request", "answer", "request", "answer", "send"],
    // After QUIT the server half-closes and waits for the client to finish
    // (this one goes quiet, keeping its socket), so nothing it sent is lost.
    "half-close",
    "close",
  ]);
  assertEquals(traced.details("#1", "answer"), [
    ...['bytes=9 "Success!\\n"', 'bytes=2 "1\\n"'],
    ...["(made piece by piece as the socket takes it)", 'bytes=5 "Bye!\\n"'],
  ]);
  assertEquals(traced.details("#1", "send"), ["bytes=11", "bytes=11"]);
  assertEquals(traced.details("#1", "close"), ["(after QUIT)"]);
});

Deno.test("serve() traces a close after a protocol error: its FIN, what came after it discarded, then the close", async () => {
  const traced = new TraceCollector();
  await using server = startTestServer({ trace: traced.trace, maxLineBytes: 64 });
  await using conn = await RawConn.connect(server.port);
  await conn.send("*1\r\n$100\r\n");
  assertEquals(
    await conn.readLine(),
    "-ERR Protocol error: invalid bulk length (limit 64 bytes a request: --max-line-bytes)\r",
  );
  assert(await conn.closedByServer(), "our FIN comes after the error");
  await conn.send("xxxxxxxxxx");
  await conn.closeWrite();
  await within("close", traced.waitFor("#1", "close"));
  assertEquals(traced.of("#1"), [
    ...["accept", "recv", "request", "answer", "send", "half-close"],
    ...["recv", "eof", "close"],
  ]);
  assertEquals(
    traced.details("#1", "recv")[1],
    'bytes=10 "xxxxxxxxxx" (discarded: the connection is closing)',
  );
  assertEquals(traced.details("#1", "close"), ["(after an error)"]);
});

Deno.test("serve() traces a line without \\n: taken by the unframed pause, or ended by the peer's FIN", async (t) => {
  await t.step("the pause", async () => {
    const traced = new TraceCollector();
    await using server = startTestServer({ trace: traced.trace, unframedPauseMs: 20 });
    await using conn = await RawConn.connect(server.port);
    await conn.send("PING");
    assertEquals(await conn.readLine(), "PONG");
    conn.close();
    await within("close", traced.waitFor("#1", "close"));
    assertEquals(traced.of("#1"), [
      ...["accept", "recv", "pause", "request", "answer", "send", "eof", "close"],
    ]);
    assertEquals(traced.details("#1", "pause"), [
      "ms=20 pending=4 (no \\n came: the line is taken as is)",
    ]);
    assertEquals(traced.details("#1", "request"), ['"PING" ended-by=pause']);
  });
  await t.step("the half-close", async () => {
    const traced = new TraceCollector();
    await using server = startTestServer({ trace: traced.trace, unframedPauseMs: 0 });
    await using conn = await RawConn.connect(server.port);
    await conn.send("PING");
    await conn.closeWrite();
    assertEquals(await conn.readLine(), "PONG");
    await within("close", traced.waitFor("#1", "close"));
    assertEquals(traced.of("#1"), ["accept", "recv", "eof", "request", "answer", "send", "close"]);
    assertEquals(traced.details("#1", "request"), ['"PING" ended-by=eof']);
  });
});

Deno.test("serve() traces its own half-close at shutdown: the answers, our FIN, the peer's FIN", async () => {
  const stop = new AbortController();
  const store = new ObservedStore(new MemoryStore());
  store.onSet = (key) => {
    if (key === "shutdown") stop.abort(); // While this connection is busy.
  };
  const traced = new TraceCollector();
  await using server = startTestServer({ store, signal: stop.signal, trace: traced.trace });
  await using conn = await RawConn.connect(server.port);
  await conn.send("PUT, shutdown, now\nPING\n");
  assertEquals(await conn.readLines(2), ["Success!", "PONG"]);
  await within("our half-close", traced.waitFor("#1", "half-close"));
  assert(await conn.closedByServer(), "the end of the stream after the answers");
  conn.close();
  assertEquals(await within("finished", server.finished), { connectionsCut: 0 });
  assertEquals(traced.of("#1"), [
    ...["accept", "recv", "request", "shutdown", "answer", "request", "answer", "send"],
    ...["half-close", "eof", "close"],
  ]);
  assertEquals(traced.details("#1", "shutdown"), ["(busy: finish its answers first)"]);
  assertEquals(traced.details("#1", "close"), ["(server shutdown)"]);
  assertEquals(traced.of("server"), ["listen", "shutdown", "shutdown"]);
  assertMatch(traced.details("server", "shutdown")[0]!, /^open=1 /);
});

Deno.test("serve() traces the close of an idle connection", async () => {
  const traced = new TraceCollector();
  await using server = startTestServer({ trace: traced.trace, idleTimeoutMs: 30 });
  await using idle = await RawConn.connect(server.port);
  assert(await idle.closedByServer());
  await within("close", traced.waitFor("#1", "close"));
  assertEquals(traced.of("#1"), ["accept", "idle", "close"]);
  assertEquals(traced.details("#1", "close"), ["(idle timeout)"]);
});

Deno.test("serve() traces the connections waiting at shutdown: one that spoke half-closes, one that never did closes", async () => {
  // One that has spoken may still have answers on their way to it: it
  // lingers (this client keeps its socket and goes quiet) rather than close.
  const traced = new TraceCollector();
  await using server = startTestServer({ trace: traced.trace });
  await using waiting = await RawConn.connect(server.port);
  await waiting.send("PING\n");
  assertEquals(await waiting.readLine(), "PONG");
  await using silent = await RawConn.connect(server.port);
  await within("the second accept", traced.waitFor("#2", "accept"));
  await server.shutdown();
  assertEquals(traced.of("#1"), [
    ...["accept", "recv", "request", "answer", "send", "shutdown", "half-close", "close"],
  ]);
  assertEquals(traced.details("#1", "shutdown"), [
    "(it was waiting for bytes: half-close now, its answers may still be on their way)",
  ]);
  assertEquals(traced.details("#1", "close"), ["(server shutdown)"]);
  assertEquals(traced.of("#2"), ["accept", "shutdown", "close"]);
  assertEquals(traced.details("#2", "shutdown"), ["(it was waiting for bytes: close now)"]);
  assert(await waiting.closedByServer());
  assert(await silent.closedByServer());
});

Deno.test({
  name: "Connection traces a reset by the peer apart from a normal close",
  permissions: "none",
  fn: async () => {
    // A stand-in socket whose second read fails as a read does when the peer
    // resets the connection (RST): a client killed with data left unread.
    const reads: (() => Promise<number | null>)[] = [
      () => Promise.resolve(5),
      () => Promise.reject(new Deno.errors.ConnectionReset("connection reset by peer")),
    ];
    const traced = new TraceCollector();
    const logs: string[] = [];
    const { connection } = standInConnection({
      read(buffer: Uint8Array) {
        buffer.set(new TextEncoder().encode("PING\n"));
        return reads.shift()!();
      },
    }, { trace: traced.trace, log: (_, message) => void logs.push(message) });
    await new Promise<void>((resolve) => connection.run(() => resolve()));
    assertEquals(traced.of("#1"), [
      "accept",
      "recv",
      "request",
      "answer",
      "send",
      "reset",
      "close",
    ]);
    assertEquals(traced.details("#1", "close"), ["(after the peer's RST)"]);
    assertEquals(logs, [], "a reset is not an error");
  },
});

Deno.test("serve() traces a line it could not read in words a reader knows, not the failure's code name", async () => {
  const traced = new TraceCollector();
  await using server = startTestServer({ trace: traced.trace, maxLineBytes: 64 });
  await using conn = await RawConn.connect(server.port);
  await conn.send(new Uint8Array([...new TextEncoder().encode("PUT, k, "), 0xff, 0xfe, 0x0a]));
  assertEquals(await conn.readLine(), "Error: request is not valid UTF-8");
  await conn.send(`PUT, k, ${"x".repeat(100)}\n`);
  assertEquals(await conn.readLine(), "Error: line too long (limit 64 bytes)");
  await conn.closeWrite();
  assert(await conn.closedByServer());
  await within("close", traced.waitFor("#1", "close"));
  assertEquals(traced.details("#1", "request"), [
    "(a line that is not valid UTF-8)",
    "(a line longer than the limit of 64 bytes: its bytes were not kept)",
  ]);
});
