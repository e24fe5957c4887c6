/**
 * Tests of the rules in PROTOCOL.md's "Shutdown", over real sockets on port
 * 0: on its signal the server answers what it read, finishes writing, and
 * closes every connection; a client still pipelining or keeping its socket
 * open does not hold it up; --shutdown-grace-ms cuts what is left; and
 * `kv serve`'s exit status says which happened.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import { main } from "../main.ts";
import type { MainIo } from "../cli/io.ts";
import { MemoryStore } from "../store/memory.ts";
import {
  ask,
  EndlessWalk,
  gets,
  LogCollector,
  ObservedStore,
  RawConn,
  readAll,
  readLinesChecked as readLines,
  send as writeAll,
  startTestServer,
  textStore,
  TraceCollector,
  within,
} from "../testing/mod.ts";
import { TEST_CA, TEST_CERT, TEST_KEY } from "../testing/tls.ts";

const encoder = new TextEncoder();

/** Sends a byte every 20 ms until the server closes `conn`: a client that never goes quiet. */
async function trickle(conn: Deno.Conn): Promise<void> {
  try {
    while (true) {
      await conn.write(new Uint8Array([0x78]));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } catch { /* Closed by the server. */ }
}

Deno.test("serve() on shutdown answers what it read, finishes writing, and closes every connection", async () => {
  const stop = new AbortController();
  const text = textStore();
  for (let i = 0; i < 2000; i++) text.set(`key${i}`, "v".repeat(1000));
  const store = new ObservedStore(text.store);
  let triggered!: () => void;
  const shutdownStarted = new Promise<void>((resolve) => triggered = resolve);
  store.onSet = (key) => {
    if (key !== "shutdown") return;
    stop.abort();
    triggered();
  };
  const logs = new LogCollector();
  await using server = startTestServer({ store, signal: stop.signal, log: logs.log });

  await using idle = await RawConn.connect(server.port);
  await idle.send("PING\n");
  assertEquals(await within("PONG", idle.readLine()), "PONG");

  // The last request starts the shutdown while the server is handling this
  // batch; the 2 MB LIST before it is written after that.
  await using busy = await RawConn.connect(server.port);
  await busy.send("PUT, a, 1\nGET, a\nLIST\nPUT, shutdown, now\n");
  await within("the shutdown", shutdownStarted);
  const answer = (await within("every answer, then the end", busy.readToEnd())).split("\n");
  assertEquals(answer.slice(0, 2), ["Success!", "1"]);
  assertEquals(answer.length, 2 + 2001 + 1 + 1 + 1);
  const pairs = Array.from({ length: 2000 }, (_, i) => `key${i}, ${"v".repeat(1000)}`);
  assertEquals(answer.slice(2, 2003).sort(), [...pairs, "a, 1"].sort(), "LIST, in any order");
  assertEquals(answer.slice(2003), ["", "Success!", ""]);
  assert(await within("idle connection closed", idle.closedByServer()));

  busy.close();
  assertEquals(await within("finished", server.finished), { connectionsCut: 0 });
  assertEquals(logs.errors(), []);
  await assertRejects(
    () => Deno.connect({ hostname: "127.0.0.1", port: server.port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("serve() on shutdown lets a client that is still pipelining read every answer, then the end", async () => {
  const stop = new AbortController();
  const store = new ObservedStore(new MemoryStore());
  store.onGet = () => {
    if (store.gets === 2000) stop.abort();
  };
  await using server = startTestServer({ store, signal: stop.signal });
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });

  let ended = false;
  const writing = (async () => {
    let next = 0;
    for (let batch = 0; batch < 10_000 && !ended; batch++) {
      let requests = "";
      for (let i = 0; i < 100; i++, next++) requests += `PUT, n, ${next}\nGET, n\n`;
      await writeAll(conn, encoder.encode(requests));
    }
  })();

  // Answers come in request order up to where the server stopped reading,
  // then a clean end: a reset would have thrown away answers in flight.
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(64 * 1024);
  let text = "";
  for (let reads = 0; reads < 1_000_000; reads++) {
    const n = await within("answers", conn.read(buffer));
    if (n === null) break;
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
  }
  ended = true;
  await within("the writer", writing);
  const lines = text.split("\n");
  assertEquals(lines.pop(), "", "the last answer is whole");
  assert(lines.length >= 4000, `only ${lines.length} answers`);
  lines.forEach((line, i) => {
    if (line !== (i % 2 === 0 ? "Success!" : `${(i - 1) / 2}`)) {
      throw new Error(`answer ${i} is ${JSON.stringify(line)}`);
    }
  });

  conn.close();
  assertEquals(await within("finished", server.finished), { connectionsCut: 0 });
});

Deno.test("serve() on shutdown does not wait for a client that has every answer but keeps its socket open", async () => {
  // The bug: a busy connection was half-closed once its answers were out,
  // and then the server waited for the client to close, up to the whole
  // grace period, and cut it (exit status 1). PROTOCOL.md, Shutdown: once the
  // answers are written, close when the client has sent nothing for a moment.
  const stop = new AbortController();
  const text = textStore();
  text.set("big", "b".repeat(32 * 1024));
  const store = new ObservedStore(text.store);
  store.onGet = () => {
    if (store.gets === 1) stop.abort();
  };
  // A grace far longer than the bound below: waiting for it fails the test.
  await using server = startTestServer({ store, signal: stop.signal, shutdownGraceMs: 60_000 });
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await writeAll(conn, gets("big", 300)); // 300 answers of 32 KB: busy for a while
  // Every request the server had read is answered (how many depends on how
  // much one read took), then the stream ends; the client keeps its socket.
  const received = await within("the answers, then the end of the stream", readAll(conn));
  const answers = received.split("\n");
  assertEquals(answers.pop(), "", "the last answer is whole");
  assert(answers.length >= 1);
  for (const answer of answers) assertEquals(answer.length, 32 * 1024);
  // The socket stays open, as a pooled connection or nc would keep it.
  assertEquals(await within("finished, socket still open", server.finished), { connectionsCut: 0 });
});

Deno.test("serve() cuts connections still writing when --shutdown-grace-ms runs out", async () => {
  const stop = new AbortController();
  const text = textStore();
  text.set("big", "b".repeat(1_000_000));
  const store = new ObservedStore(text.store);
  store.onGet = () => stop.abort();
  const logs = new LogCollector();
  await using server = startTestServer({
    store,
    signal: stop.signal,
    // Long enough for the idle connection's linger (quiet for 250 ms) to end
    // well before it, on a loaded machine too: only the busy one is cut.
    shutdownGraceMs: 1_000,
    log: logs.log,
  });

  await using idle = await RawConn.connect(server.port);
  await idle.send("PING\n");
  assertEquals(await within("PONG", idle.readLine()), "PONG");
  // 64 MB of answers to a client that never reads them.
  using slow = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await writeAll(slow, gets("big", 64));

  assertEquals(await within("finished", server.finished), { connectionsCut: 1 });
  assert(await within("idle connection closed", idle.closedByServer()));
  assertEquals(logs.errors(), []);
});

Deno.test("serve() cuts a connection whose LIST still walks the store when --shutdown-grace-ms runs out", async () => {
  // A walk that finds nothing to show and does not end by itself (a LIST
  // over millions of pairs the line protocol cannot show, in life): once
  // cut, the connection must stop walking, or the shutdown waits for it.
  const store = new EndlessWalk();
  const logs = new LogCollector();
  await using server = startTestServer({
    store,
    shutdownGraceMs: 50,
    log: logs.log,
  });
  await using conn = await RawConn.connect(server.port);
  try {
    await conn.send("LIST\n");
    await within("the walk", store.walking);
    assertEquals(await within("the shutdown", server.shutdown()), { connectionsCut: 1 });
  } finally {
    store.end(); // Lets a connection that did not stop end, and the test with it.
  }
  assertEquals(await within("closed", conn.readToEnd()), "");
  assertEquals(logs.errors(), []);
});

Deno.test("serve() over TLS cuts a connection still writing when the grace runs out, without draining past it", async () => {
  // The grace's cut closed the connection as a QUIT does: over TLS, the
  // front then let the last bytes drain to a client that reads none of
  // them, for 5 s more (DRAIN_MS), and the shutdown waited for it.
  const stop = new AbortController();
  const text = textStore();
  text.set("big", "b".repeat(1_000_000));
  const store = new ObservedStore(text.store);
  store.onGet = () => stop.abort();
  await using server = startTestServer({
    store,
    signal: stop.signal,
    shutdownGraceMs: 300,
    tls: { cert: TEST_CERT, key: TEST_KEY },
  });
  using slow = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [TEST_CA],
  });
  // 16 MB of answers to a client that never reads them.
  await writeAll(slow, gets("big", 16));
  // Well past the grace, well short of the front's 5 s drain.
  assertEquals(await within("finished", server.finished, 2_500), { connectionsCut: 1 });
});

Deno.test("serve() on shutdown delivers the answers still on their way to a client between two bursts, over TCP and TLS", async (t) => {
  // The connection has written its answers (into the sockets: the client
  // reads nothing yet) and waits for bytes when the shutdown comes; then the
  // client sends its next burst. A close would reset the connection when
  // those bytes came, and the reset throws away the answers not yet
  // delivered: so it half-closes and lingers like a busy one.
  for (const tls of [false, true]) {
    await t.step(tls ? "TLS" : "TCP", async () => {
      const text = textStore();
      const big = "b".repeat(512 * 1024);
      text.set("big", big);
      const traced = new TraceCollector();
      await using server = startTestServer({
        store: text.store,
        trace: traced.trace,
        ...(tls ? { tls: { cert: TEST_CERT, key: TEST_KEY } } : {}),
      });
      using conn = tls
        ? await Deno.connectTls({ hostname: "127.0.0.1", port: server.port, caCerts: [TEST_CA] })
        : await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await writeAll(conn, gets("big", 2));
      const answers = `${big}\n`.repeat(2);
      // Once all of it is sent, the connection waits for bytes.
      for (let sends = 1; sentBytes(traced, "#1") < answers.length; sends++) {
        await within("the answers sent", traced.waitFor("#1", "send", sends));
      }
      const shutdown = server.shutdown();
      const sending = writeAll(conn, "PING\n".repeat(200_000)).catch(() => {});
      const received = await within("the answers, then the end", readAll(conn));
      assertEquals(received.length, answers.length);
      assert(received === answers, "every answer, whole");
      await sending;
      assertEquals(await within("the shutdown", shutdown), { connectionsCut: 0 });
    });
  }
});

/** The bytes `who` has sent so far, by its trace. */
function sentBytes(traced: TraceCollector, who: string): number {
  return traced.details(who, "send")
    .reduce((sum, detail) => sum + Number(/bytes=(\d+)/.exec(detail)![1]), 0);
}

/** Runs `kv serve` through main() in-process, stopped by `signal`. */
function mainServe(args: string[], signal: AbortSignal) {
  let stderr = "";
  let onListening!: (port: number) => void;
  const listening = new Promise<number>((resolve) => onListening = resolve);
  const stderrWaiters: { text: string; resolve: () => void }[] = [];
  const io: MainIo = {
    stdin: new ReadableStream({ start: (controller) => controller.close() }),
    stdinIsTerminal: false,
    stdout: (text) => {
      const match = /^listening on 127\.0\.0\.1:(\d+)$/m.exec(text);
      if (match) onListening(Number(match[1]));
    },
    stderr: (text) => {
      stderr += text;
      for (const waiter of stderrWaiters) if (stderr.includes(waiter.text)) waiter.resolve();
    },
    signal,
  };
  return {
    status: main(["serve", "--port", "0", ...args], io),
    listening,
    stderrIncludes: (text: string) =>
      new Promise<void>((resolve) => {
        stderrWaiters.push({ text, resolve });
        if (stderr.includes(text)) resolve();
      }),
  };
}

Deno.test("main() serve exits 0 after a clean shutdown and 1 after cutting a connection", async (t) => {
  // A real SIGINT/SIGTERM cannot be sent to the test process itself, so these
  // go through io.signal, which the signal handlers would abort.
  await t.step("clean", async () => {
    const stop = new AbortController();
    const run = mainServe(["--shutdown-grace-ms", "5000"], stop.signal);
    const port = await within("listening", run.listening);
    assertEquals(await ask(port, "PING"), "PONG");
    await using idle = await RawConn.connect(port);
    await idle.send("PING\n");
    assertEquals(await within("PONG", idle.readLine()), "PONG");
    stop.abort();
    assertEquals(await within("exit status", run.status), 0);
  });

  await t.step("grace ran out", async () => {
    const stop = new AbortController();
    const run = mainServe(["--shutdown-grace-ms", "20", "--verbose"], stop.signal);
    const port = await within("listening", run.listening);
    using slow = await Deno.connect({ hostname: "127.0.0.1", port });
    await writeAll(slow, encoder.encode(`PUT, big, ${"b".repeat(1_000_000)}\n`));
    await readLines(slow, 1, (line) => assertEquals(line, "Success!"));
    await writeAll(slow, gets("big", 64));
    // The verbose log of the first GET: the server has read the batch.
    await within("the GETs read", run.stderrIncludes(`"GET, big" ->`));
    stop.abort();
    assertEquals(await within("exit status", run.status), 1);
  });
});

Deno.test("serve() shuts down within its grace past a client still sending after the error that ended its connection", async () => {
  // It has its answer (the protocol error) and the server's FIN; while the
  // server lingers, reading what it still sends, a shutdown ends that linger
  // within half its grace, so nothing is cut and the exit status is 0
  // (PROTOCOL.md, Shutdown).
  await using server = startTestServer({ shutdownGraceMs: 1_000 });
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await writeAll(conn, "*1\r\n$x\r\n");
  const buffer = new Uint8Array(64);
  const n = await conn.read(buffer);
  assertEquals(
    new TextDecoder().decode(buffer.subarray(0, n!)),
    "-ERR Protocol error: invalid bulk length\r\n",
  );
  // The linger's quiet never comes.
  const trickling = trickle(conn);
  assertEquals(await within("the shutdown", server.shutdown()), { connectionsCut: 0 });
  conn.close();
  await trickling;
});

Deno.test("serve() shuts down within its grace past a client still sending after its error, when the shutdown came first", async () => {
  // The shutdown comes while the error's answers are still being written
  // (the client reads nothing yet): the linger that follows must not wait
  // its own 10 s for a client that goes on sending.
  const text = textStore();
  text.set("big", "b".repeat(1024 * 1024));
  const store = new ObservedStore(text.store);
  await using server = startTestServer({ store, shutdownGraceMs: 2_000 });
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const get = "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
  const running = Promise.withResolvers<void>();
  store.onGet = () => running.resolve();
  await writeAll(conn, get.repeat(10) + "*1\r\n$x\r\n");
  // 10 MB of answers: more than the sockets hold, so the server is writing when the shutdown begins.
  await within("the first GET", running.promise);
  const shutdown = server.shutdown();
  const received = await within("the answers, then the end", readAll(conn));
  assert(received.endsWith("-ERR Protocol error: invalid bulk length\r\n"), received.slice(-80));
  const trickling = trickle(conn);
  assertEquals(await within("the shutdown", shutdown), { connectionsCut: 0 });
  conn.close();
  await trickling;
});
