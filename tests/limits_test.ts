/**
 * Tests of the rules in PROTOCOL.md's "Ends of lines and of connections",
 * "Limits" and "Shutdown", one `Deno.test` per rule, over real sockets on
 * port 0. Every pause and timeout is a server option set small here; where a
 * test must see that nothing happened for a while, one of the server's own
 * timers is the clock and the test awaits what it does (an answer, a close).
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import { main } from "../main.ts";
import type { MainIo } from "../cli/io.ts";
import { MemoryStore } from "../store/memory.ts";
import type { ValueSink } from "../store/store.ts";
import { TextStore } from "../store/text.ts";
import {
  ask,
  LogCollector,
  ObservedStore,
  RawConn,
  readLinesChecked as readLines,
  send as writeAll,
  startTestServer,
  within,
} from "../testing/mod.ts";
import { LineReply } from "../wire/line/reply.ts";

const encoder = new TextEncoder();

/** Reads `conn` to the end of its stream, as text. */
async function readAll(conn: Deno.Conn): Promise<string> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(256 * 1024);
  let text = "";
  for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
  }
  return text;
}

/** A memory store seen through strings, to fill before a test. */
function textStore(): TextStore {
  return new TextStore(new MemoryStore());
}

/** Connects, sends PING, reads back just its first byte: whatever follows stays unread. */
async function connectWithUnreadBytes(port: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(conn, encoder.encode("PING\n"));
  assertEquals(await conn.read(new Uint8Array(1)), 1);
  return conn;
}

/** Requests `GET, key` `count` times in one write, as a pipelining client would. */
function gets(key: string, count: number): Uint8Array {
  return encoder.encode(`GET, ${key}\n`.repeat(count));
}

Deno.test("serve() takes an unframed client's line after a pause, until the client sends a newline", async (t) => {
  await t.step("a line with no newline is answered once it sits unchanged", async () => {
    await using server = startTestServer({ unframedPauseMs: 30 });
    await using conn = await RawConn.connect(server.port);
    await conn.send("PUT, myname, yyjun");
    assertEquals(await within("PUT answer", conn.readLine()), "Success!");
    await conn.send("GET, myname");
    assertEquals(await within("GET answer", conn.readLine()), "yyjun");
  });

  await t.step("a line that arrives in two writes is one request", async () => {
    await using server = startTestServer({ unframedPauseMs: 250 });
    await using conn = await RawConn.connect(server.port);
    await conn.send("PUT, my");
    await conn.send("name, yyjun");
    assertEquals(await within("PUT answer", conn.readLine()), "Success!");
    await conn.send("GET, myname");
    assertEquals(await within("GET answer", conn.readLine()), "yyjun");
  });

  await t.step("after a newline, a partial line waits for its own newline", async () => {
    // The idle timeout is the clock: by the time it closes the connection,
    // the partial line has sat unchanged far longer than the pause.
    await using server = startTestServer({ unframedPauseMs: 10, idleTimeoutMs: 200 });
    await using conn = await RawConn.connect(server.port);
    await conn.send("PING\n");
    assertEquals(await within("PONG", conn.readLine()), "PONG");
    await conn.send("GET, myname");
    assertEquals(await within("close by idle timeout", conn.readToEnd()), "");
  });

  await t.step("a pause of 0 turns it off", async () => {
    await using server = startTestServer({ unframedPauseMs: 0, idleTimeoutMs: 150 });
    await using conn = await RawConn.connect(server.port);
    await conn.send("PING");
    assertEquals(await within("close by idle timeout", conn.readToEnd()), "");
  });
});

Deno.test("serve() answers a last line without a newline when the client half-closes", async (t) => {
  await t.step("after framed lines", async () => {
    await using server = startTestServer();
    await using conn = await RawConn.connect(server.port);
    await conn.send("PUT, a, 1\nGET, a");
    await conn.closeWrite();
    assertEquals(await within("answers, then close", conn.readToEnd()), "Success!\n1\n");
  });

  await t.step("as a client's only line, without waiting for the pause", async () => {
    await using server = startTestServer({ unframedPauseMs: 60_000 });
    await using conn = await RawConn.connect(server.port);
    await conn.send("PING\r");
    await conn.closeWrite();
    assertEquals(await within("PONG, then close", conn.readToEnd()), "PONG\n");
  });

  await t.step("a blank last line gets no answer", async () => {
    await using server = startTestServer();
    await using conn = await RawConn.connect(server.port);
    await conn.send("PING\n \t");
    await conn.closeWrite();
    assertEquals(await within("PONG, then close", conn.readToEnd()), "PONG\n");
  });
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
  await using server = startTestServer({ maxConnections: 2 });
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
  // The server forgets a connection in the same step as it closes it.
  assert(await within("close after QUIT", first.closedByServer()));
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

Deno.test("serve() holds a slow reader's pipeline back without delaying anyone, and loses none of it", async () => {
  const count = 100_000;
  const values = Array.from({ length: 10 }, (_, i) => `${i}`.repeat(1000));
  const text = textStore();
  values.forEach((value, i) => text.set(`k${i}`, value));
  const store = new ObservedStore(text.store);
  let slowGets = 0;
  store.onGet = (key) => {
    if (key !== "mine") slowGets++;
  };
  // The unframed pause is the clock below.
  const pauseMs = 300;
  await using server = startTestServer({ store, unframedPauseMs: pauseMs });

  // 100,000 GETs in one go (800 kB), answered by 100 MB it reads only later.
  using slow = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  let requests = "";
  for (let i = 0; i < count; i++) requests += `GET, k${i % 10}\n`;
  const sending = writeAll(slow, encoder.encode(requests));

  await using other = await RawConn.connect(server.port);
  for (let i = 0; i < 100; i++) {
    await other.send(`PUT, mine, ${i}\nGET, mine\n`);
    assertEquals(await within("answers for another client", other.readLines(2)), [
      "Success!",
      `${i}`,
    ]);
  }
  const started = slowGets;
  await using clock = await RawConn.connect(server.port);
  await clock.send("PING");
  assertEquals(await within("the unframed PING", clock.readLine()), "PONG");
  // By now the server has had the pause and more to run ahead; it must not
  // have, since nobody takes its answers.
  assert(
    slowGets < count / 2,
    `the server ran ${slowGets} of ${count} GETs (${started} before the pause) for a client that reads nothing`,
  );

  await within(
    "all 100,000 answers, in order",
    readLines(slow, count, (line, i) => {
      if (line !== values[i % 10]) throw new Error(`answer ${i} is wrong: ${line.slice(0, 20)}...`);
    }),
  );
  await within("the pipeline sent", sending);
  assertEquals(await ask(server.port, "PING"), "PONG");
});

Deno.test("serve() answers big answers of a pipeline as they come, holding about one at a time", async () => {
  // A few bytes of GETs can ask for many copies of a big value (or of the
  // whole store, with LIST): gathered into one write, 2,000 GETs of a 1 MB
  // value would take 2 GB. The answers must go out once they pass a bound.
  const value = "v".repeat(64 * 1024);
  const count = 200;
  let mostGathered = 0;
  const text = textStore();
  text.set("big", value);
  const store = new (class extends ObservedStore {
    override get(key: Uint8Array, start: number, end: number, out: ValueSink): boolean {
      if (out instanceof LineReply) mostGathered = Math.max(mostGathered, out.bufferedBytes);
      return super.get(key, start, end, out);
    }
  })(text.store);
  await using server = startTestServer({ store });
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const sending = writeAll(conn, encoder.encode(`${"GET, big\n".repeat(count)}LIST\nPING\n`));
  const expected = [...Array(count).fill(value), `big, ${value}`, "", "PONG"];
  await within(
    "every answer, in order",
    readLines(conn, expected.length, (line, i) => {
      if (line !== expected[i]) throw new Error(`answer ${i} is wrong: ${line.slice(0, 20)}...`);
    }),
  );
  await sending;
  assert(
    mostGathered <= 64 * 1024,
    `${mostGathered} bytes of answers were gathered before a GET added ${value.length} more`,
  );
});

Deno.test("serve() streams LIST as the client reads: clients that send LIST and read nothing hold little", async () => {
  // Built whole, a LIST of this store is 50 MB per client. Streamed, the
  // server produces only what the socket takes, plus a bounded piece.
  const keys = 50_000;
  const value = "v".repeat(1000);
  const text = textStore();
  for (let i = 0; i < keys; i++) text.set(`key:${i}`, value);
  const store = new ObservedStore(text.store);
  const pauseMs = 300; // The unframed pause is the clock below.
  await using server = startTestServer({ store, unframedPauseMs: pauseMs });

  const clients = 10;
  const silent: Deno.TcpConn[] = [];
  for (let i = 0; i < clients; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await writeAll(conn, encoder.encode("LIST\n"));
    silent.push(conn);
  }
  await using clock = await RawConn.connect(server.port);
  await clock.send("PING");
  assertEquals(await within("the unframed PING", clock.readLine()), "PONG");
  // Each LIST stopped where its socket filled: far from the whole store.
  const perClient = store.pairsScanned / clients;
  assert(
    perClient < keys / 2,
    `${perClient} pairs produced per client for LISTs nobody reads (store: ${keys})`,
  );

  // One of them now reads: every pair comes, exactly once.
  const counts = new Map<string, number>();
  let end = false;
  await within(
    "the whole LIST",
    readLines(silent[0]!, keys + 1, (line, i) => {
      if (i === keys) return void (end = line === "");
      const [key, rest] = line.split(", ");
      assertEquals(rest, value);
      counts.set(key!, (counts.get(key!) ?? 0) + 1);
    }),
  );
  assert(end, "LIST ends with an empty line");
  assertEquals(counts.size, keys);
  assert([...counts.values()].every((count) => count === 1), "a pair listed twice");
  for (const conn of silent) conn.close();
  assertEquals(await ask(server.port, "PING"), "PONG");
});

Deno.test("serve() answers a PUT the store has no room for with one Error line, and goes on", async () => {
  const store = new MemoryStore({ maxArenaBytes: 4096 });
  const logs = new LogCollector();
  await using server = startTestServer({ store, log: logs.log });
  await using conn = await RawConn.connect(server.port);
  const big = "x".repeat(3000);
  await conn.send(`PUT, a, ${big}\nPUT, b, ${big}\nPUT, a, ${big}y\nGET, a\nPING\n`);
  const [first, second, third, ...rest] = await within("answers", conn.readLines(5));
  assertEquals(first, "Success!");
  assert(second?.startsWith("Error: ") && second.includes("full"), second);
  assertEquals(third, second, "an overwrite that does not fit fails the same way");
  assertEquals(rest, [big, "PONG"]);
  assertEquals(logs.errors(), []);
  await conn.send("DELETE, a\nPUT, b, 1\nLIST\n");
  assertEquals(await within("room again", conn.readLines(4)), ["Success!", "Success!", "b, 1", ""]);
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
    shutdownGraceMs: 20,
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
