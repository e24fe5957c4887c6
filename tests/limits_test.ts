/**
 * Tests of the rules in PROTOCOL.md's "Limits", one `Deno.test` per rule,
 * over real sockets on port 0: --max-line-bytes, --max-connections,
 * --idle-timeout, and clients that reset. Unframed clients and half-closes
 * are in line_ends_test.ts, slow readers in backpressure_test.ts, shutdown
 * in shutdown_test.ts, a full store in store_full_test.ts. Every pause and
 * timeout is a server option set small here; where a test must see that
 * nothing happened for a while, one of the server's own timers is the clock
 * and the test awaits what it does (an answer, a close).
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "@std/assert";
import { ManualClock } from "../store/clock.ts";
import { MemoryStore } from "../store/memory.ts";
import { TextStore } from "../store/text.ts";
import { serve } from "../server/serve.ts";
import { REFUSAL_LOG_LIMIT } from "../server/refusals.ts";
import {
  ask,
  gets,
  LogCollector,
  ObservedStore,
  RawConn,
  readLinesChecked as readLines,
  send as writeAll,
  startTestServer,
  textStore,
  within,
} from "../testing/mod.ts";

const encoder = new TextEncoder();

/** Connects, sends PING, reads back just its first byte: whatever follows stays unread. */
async function connectWithUnreadBytes(port: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(conn, encoder.encode("PING\n"));
  assertEquals(await conn.read(new Uint8Array(1)), 1);
  return conn;
}

Deno.test("serve() takes a --max-line-bytes of up to 1 GiB, and refuses more before it binds", async () => {
  // A request near 2 GiB had its last arguments read at 32-bit positions
  // that wrapped: `DEL` of four 512 MiB keys and `key` left `key` there.
  assertThrows(
    () => serve({ port: 0, maxLineBytes: 2 ** 30 + 1 }),
    RangeError,
    "Cannot use maxLineBytes 1073741825: expected an integer from 1 to 1073741824",
  );
  await using server = startTestServer({ maxLineBytes: 2 ** 30 });
  assertEquals(await ask(server.port, "PING"), "PONG");
});

Deno.test("serve() refuses a port or host name it cannot bind, naming the option, before it binds", () => {
  const ports: [unknown, string][] = [[1.5, "1.5"], [-1, "-1"], [65_536, "65536"], [NaN, "NaN"], [
    "12000",
    '"12000"',
  ]];
  for (const [port, shown] of ports) {
    assertThrows(
      () => serve({ port: port as number }),
      RangeError,
      `Cannot use port ${shown}: expected an integer from 0 to 65535`,
    );
  }
  for (const hostname of ["", " "]) {
    assertThrows(
      () => serve({ hostname, port: 0 }),
      RangeError,
      `Cannot use hostname ${JSON.stringify(hostname)}: expected a name or address`,
    );
  }
});

Deno.test("serve() answers a line over --max-line-bytes with one error, skips it, and goes on", async (t) => {
  const limit = 64;
  const tooLong = `Error: line too long (limit ${limit} bytes)`;

  await t.step("the error comes as soon as the limit is passed", async () => {
    await using server = startTestServer({ maxLineBytes: limit });
    await using conn = await RawConn.connect(server.port);
    await conn.send("PING\n");
    assertEquals(await within("PONG", conn.readLine()), "PONG");
    await conn.send("x".repeat(limit + 1));
    assertEquals(await within("error before the newline", conn.readLine()), tooLong);
    await conn.send("x".repeat(10_000));
    await conn.send("x\nPING\n");
    assertEquals(await within("PONG after the skip", conn.readLine()), "PONG");
  });

  await t.step("-v logs a line past the limit as such, not as an empty request", async () => {
    const logs = new LogCollector();
    await using server = startTestServer({ maxLineBytes: limit, log: logs.log, verbose: true });
    await using conn = await RawConn.connect(server.port);
    await conn.send("x".repeat(limit + 1));
    assertEquals(await within("the error", conn.readLine()), tooLong);
    const logged = logs.lines.map((line) => line.message).filter((line) => line.includes("->"));
    assertEquals(logged, [`#1 (a line past the limit, not kept) -> "${tooLong}"`]);
  });

  await t.step("a line of exactly the limit is a request; one byte more is not", async () => {
    await using server = startTestServer({ maxLineBytes: limit });
    await using conn = await RawConn.connect(server.port);
    const put = "PUT, k, ";
    const fits = put + "v".repeat(limit - put.length);
    await conn.send(`${fits}\n${fits}v\nGET, k\n`);
    assertEquals(await within("answers", conn.readLines(3)), [
      "Success!",
      tooLong,
      "v".repeat(limit - put.length),
    ]);
  });

  await t.step(
    "by default the limit is 1 MiB, and a blank line past it is over it too",
    async () => {
      await using server = startTestServer();
      await using conn = await RawConn.connect(server.port);
      const put = "PUT, k, ";
      const fits = put + "v".repeat(1_048_576 - put.length);
      await conn.send(`${fits}\n${fits}v\n${" ".repeat(1_048_577)}\nGET, k\n`);
      const [stored, tooLongPut, tooLongBlank, value] = await within("answers", conn.readLines(4));
      const defaultTooLong = "Error: line too long (limit 1048576 bytes)";
      assertEquals([stored, tooLongPut, tooLongBlank], [
        "Success!",
        defaultTooLong,
        defaultTooLong,
      ]);
      assertEquals(value?.length, 1_048_576 - put.length);
    },
  );

  await t.step("streaming 128 MB with no newline holds no more than the limit", async () => {
    // Same process, so this is the test's RSS too; the client reuses one
    // buffer, and a server that kept the line would grow by 128 MB.
    await using server = startTestServer({ maxLineBytes: 1024 * 1024 });
    await using conn = await RawConn.connect(server.port);
    await conn.send("PING\n");
    assertEquals(await within("PONG", conn.readLine()), "PONG");
    const chunk = new Uint8Array(256 * 1024).fill(0x78);
    const before = Deno.memoryUsage().rss;
    let most = before;
    for (let i = 0; i < 512; i++) {
      await conn.send(chunk);
      if (i % 32 === 0) most = Math.max(most, Deno.memoryUsage().rss);
    }
    await conn.send("\nPING\n");
    assertEquals(
      await within("answers", conn.readLines(2)),
      ["Error: line too long (limit 1048576 bytes)", "PONG"],
    );
    most = Math.max(most, Deno.memoryUsage().rss);
    const grownMb = (most - before) / 2 ** 20;
    assert(grownMb < 48, `RSS grew by ${grownMb.toFixed(1)} MB while skipping`);
  });
});

Deno.test("serve() refuses a connection over --max-connections and accepts one once a slot frees", async () => {
  const logs = new LogCollector();
  await using server = startTestServer({ maxConnections: 2, verbose: true, log: logs.log });
  await using first = await RawConn.connect(server.port);
  await using second = await RawConn.connect(server.port);
  for (const conn of [first, second]) {
    await conn.send("PING\n");
    assertEquals(await within("PONG", conn.readLine()), "PONG");
  }
  {
    await using third = await RawConn.connect(server.port);
    assertEquals(
      await within("refusal, then close", third.readToEnd()),
      "Error: too many connections\n",
    );
  }
  await first.send("QUIT\n");
  assertEquals(await within("Bye!", first.readLine()), "Bye!");
  assert(await within("the server's FIN after QUIT", first.closedByServer()));
  // The server closes once this client closes too (it might still have been
  // sending), and forgets the connection in the same step.
  first.close();
  await within("the close after QUIT", logs.waitFor(/^#1 closed$/));
  await using fourth = await RawConn.connect(server.port);
  await fourth.send("*1\r\n$4\r\nPING\r\n"); // A Redis client, for INFO below.
  assertEquals(await within("PONG for the newcomer", fourth.readLine()), "+PONG\r");
  await second.send("PING\n");
  assertEquals(await within("PONG for the old one", second.readLine()), "PONG");
  // Redis's INFO counts them as Redis does: refused ones apart.
  await fourth.send("*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n");
  const stats: string[] = [];
  for (let line = await fourth.readLine(); line !== "\r"; line = await fourth.readLine()) {
    if (line === null) throw new Error("the connection ended inside INFO");
    if (/^(total_connections_received|rejected_connections):/.test(line)) stats.push(line);
  }
  assertEquals(stats, ["total_connections_received:3\r", "rejected_connections:1\r"]);
});

Deno.test("serve() logs 20 refusals over --max-connections a minute, and INFO counts them all", async () => {
  // A client that retries against a full server adds no log line per try
  // past 20 a minute: the log of a server that runs for weeks stays bounded.
  const logs = new LogCollector();
  const clock = new ManualClock();
  await using server = startTestServer({ maxConnections: 1, log: logs.log, clock });
  const refused = () => logs.lines.map((line) => line.message).filter((m) => m.includes("refused"));
  await using held = await RawConn.connect(server.port);
  await held.send("*1\r\n$4\r\nPING\r\n"); // A Redis client, for INFO below.
  assertEquals(await within("PONG", held.readLine()), "+PONG\r");
  const tryOnce = async () => {
    await using conn = await RawConn.connect(server.port);
    await conn.send("PING\n"); // A first byte: the refusal need not wait for one.
    assertEquals(await within("refusal", conn.readToEnd()), "Error: too many connections\n");
  };
  for (let i = 0; i < 30; i++) await tryOnce();
  assertEquals(refused().length, REFUSAL_LOG_LIMIT);
  assert(refused()[0]!.endsWith("refused: already 1 open (--max-connections)"), refused()[0]);
  assert(refused().at(-1)!.includes("the rest of this minute's are counted"), refused().at(-1));
  clock.advance(60_000);
  await tryOnce();
  assertEquals(refused().length, REFUSAL_LOG_LIMIT + 1);
  assert(refused().at(-1)!.includes("; 10 more refused before it, not logged"), refused().at(-1));
  await held.send("*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n");
  let line: string | null;
  do line = await held.readLine(); while (line !== null && !line.startsWith("rejected_"));
  assertEquals(line, "rejected_connections:31\r");
});

Deno.test("serve() refuses every connection of a burst over --max-connections with the line", async () => {
  await using server = startTestServer({ maxConnections: 1 });
  await using first = await RawConn.connect(server.port);
  await first.send("PING\n");
  assertEquals(await within("PONG", first.readLine()), "PONG");
  // 100 at once that send nothing: more than the refusals that wait for a
  // first byte (64); the rest must get the line too, not a bare close.
  const burst = await Promise.all(
    Array.from({ length: 100 }, () => RawConn.connect(server.port)),
  );
  try {
    const answers = await within(
      "every refusal",
      Promise.all(burst.map((conn) => conn.readToEnd())),
    );
    assertEquals(new Set(answers), new Set(["Error: too many connections\n"]));
  } finally {
    for (const conn of burst) await conn[Symbol.asyncDispose]();
  }
});

Deno.test("serve() closes a connection silent for --idle-timeout unless an answer is still being written to it", async () => {
  // Long enough that the chatty client's round trips always fit in it.
  const idleMs = 300;
  const store = textStore();
  store.set("big", "b".repeat(100_000));
  await using server = startTestServer({ store: store.store, idleTimeoutMs: idleMs });

  // Reads nothing: 20 MB of answers is far more than the socket buffers hold,
  // so the server is still writing to it when the others go idle.
  using slow = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await writeAll(slow, gets("big", 200));

  await using idle = await RawConn.connect(server.port);
  // Its silence starts after this request reaches the server: timed from
  // before the send, the close can only look later than it was.
  const silentFrom = performance.now();
  await idle.send("PING\n");
  assertEquals(await within("PONG", idle.readLine()), "PONG");

  // Keeps talking, so never idle.
  await using chatty = await RawConn.connect(server.port);
  let idleClosed = false;
  const idleClose = idle.readToEnd().then((rest) => {
    idleClosed = true;
    return rest;
  });
  let rounds = 0;
  for (; !idleClosed && rounds < 100_000; rounds++) {
    await chatty.send("PING\n");
    assertEquals(await within("PONG", chatty.readLine()), "PONG");
  }
  assertEquals(await within("idle close", idleClose), "", "closed without a message");
  const silentMs = performance.now() - silentFrom;
  assert(silentMs >= idleMs - 2, `closed after ${silentMs.toFixed(0)} ms of silence`);
  assert(rounds > 0);

  await chatty.send("PING\n");
  assertEquals(await within("PONG after the idle one left", chatty.readLine()), "PONG");
  await within(
    "every answer of the slow reader",
    readLines(slow, 200, (line) => assertEquals(line.length, 100_000)),
  );
});

Deno.test("serve() does not close a connection for --idle-timeout while it is still making an answer", async () => {
  // A LIST whose walk of the store takes three idle timeouts and finds
  // nothing to show until its end, as over millions of pairs a Redis client
  // wrote in bytes the line protocol cannot show: the client waits for an
  // answer, so it is not idle.
  const idleMs = 20;
  class SlowWalk extends MemoryStore {
    #until = 0;
    override scan(
      cursor: number,
      _count: number,
      visit: Parameters<MemoryStore["scan"]>[2],
    ): number {
      if (cursor === 0) this.#until = performance.now() + 3 * idleMs;
      if (performance.now() < this.#until) return 1; // Walked a step, found nothing.
      return super.scan(0, 2 ** 32, visit);
    }
  }
  const store = new SlowWalk();
  new TextStore(store).set("k", "v");
  await using server = startTestServer({ store, idleTimeoutMs: idleMs });
  await using conn = await RawConn.connect(server.port);
  await conn.send("LIST\n");
  assertEquals(await within("the whole LIST", conn.readLines(2)), ["k, v", ""]);
  await conn.send("PING\n");
  assertEquals(await within("PONG", conn.readLine()), "PONG");
});

Deno.test("serve() costs a client that resets mid-line, mid-pipeline or mid-answer only its connection", async () => {
  const logs = new LogCollector();
  const store = textStore();
  for (let i = 0; i < 1000; i++) store.set(`key${i}`, "v".repeat(8000));
  await using server = startTestServer({ store: store.store, log: logs.log, verbose: true });

  // Another client, pipelining all the while: nothing of it may be lost.
  await using bystander = await RawConn.connect(server.port);
  let stopBystander = false;
  const bystanding = (async () => {
    for (let i = 0; i < 100_000 && !stopBystander; i++) {
      await bystander.send(`PUT, b, ${i}\nGET, b\n`);
      assertEquals(await within("bystander's answers", bystander.readLines(2)), [
        "Success!",
        `${i}`,
      ]);
    }
  })();

  const midLine = await connectWithUnreadBytes(server.port);
  await writeAll(midLine, encoder.encode("PUT, k, a line cut sh"));
  midLine.close();

  const midPipeline = await connectWithUnreadBytes(server.port);
  await writeAll(midPipeline, encoder.encode("PUT, k, v\nGET, k\n".repeat(10_000)));
  midPipeline.close();

  // Two LISTs of 8 MB each: the server is mid-write when the reset comes.
  const midAnswer = await connectWithUnreadBytes(server.port);
  await writeAll(midAnswer, encoder.encode("LIST\nLIST\n"));
  midAnswer.close();

  const atOnce = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  atOnce.close();

  // The bystander is #1; each of the four others logs "closed" when dropped.
  await within("the four dropped", logs.waitFor(/^#[2-5] closed$/, 4));
  stopBystander = true;
  await within("the bystander", bystanding);

  assertEquals(logs.errors(), []);
  for (const id of [2, 3, 4, 5]) {
    const notes = logs.lines.filter(({ message }) =>
      message.startsWith(`#${id} `) && !message.includes(" -> ") &&
      !/^#\d+ (connected from .*|closed)$/.test(message)
    );
    assert(notes.length <= 1, `#${id} logged ${JSON.stringify(notes)}`);
    for (const { message } of notes) assert(!message.includes("\n"), "a one-line log");
  }
  assertEquals(await ask(server.port, "PING"), "PONG");
});

Deno.test("serve(): an expiry cycle that falls behind sweeps more often with more time, until it catches up", async () => {
  const clock = new ManualClock();
  const memory = new MemoryStore({ clock });
  const key = new TextEncoder().encode("key:000000");
  const expiring = 300_000;
  for (let i = 0; i < expiring; i++) {
    key.set(new TextEncoder().encode(String(i).padStart(6, "0")), 4);
    memory.set(key, 0, key.length, key, 0, 1, { expireAtMs: clock.now() + 1_000 });
  }
  // Every key's time has passed at once, before the server exists: a move of
  // the clock under a running server reclaims them all itself (ManualClock's
  // onAdvance), and this test is about the cycle that finds them behind it.
  clock.advance(1_000);
  const store = new ObservedStore(memory);
  const budgets: number[] = [];
  const caughtUp = Promise.withResolvers<void>();
  store.onSweep = (_removed, budgetMs) => {
    budgets.push(budgetMs);
    if (store.size === 0) caughtUp.resolve();
  };
  await using _server = startTestServer({ store });
  await within("every expired key reclaimed", caughtUp.promise, 30_000);
  // More keys than 1 ms can reclaim: the cycle was behind and took 2.5 ms at a time.
  assertEquals(budgets[0], 1);
  assert(budgets.includes(2.5), `budgets: ${budgets.join(", ")}`);
});
