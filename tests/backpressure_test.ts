/**
 * Tests of clients that send more than they read, over real sockets on port
 * 0: the server writes each batch of answers before reading more, so TCP
 * backpressure holds a slow reader back without delaying anyone else, big
 * answers go out about one at a time, and LIST streams as the client reads.
 * Where a test must see that nothing happened for a while, the server's
 * unframed pause is the clock.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { MemoryStore } from "../store/memory.ts";
import type { ValueSink } from "../store/store.ts";

import {
  ask,
  ObservedStore,
  RawConn,
  readLinesChecked as readLines,
  send as writeAll,
  startTestServer,
  textStore,
  within,
} from "../testing/mod.ts";
import { LineReply } from "../wire/line/reply.ts";

const encoder = new TextEncoder();

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

Deno.test("serve() answers others while a LIST walks a store of pairs it cannot show (and so writes nothing for long)", async () => {
  const memory = new MemoryStore();
  const key = encoder.encode("key:000000");
  const binary = new Uint8Array([0xff]); // Not UTF-8: LIST leaves such pairs out.
  const pairs = 100_000;
  for (let i = 0; i < pairs; i++) {
    key.set(encoder.encode(String(i).padStart(6, "0")), 4);
    memory.set(key, 0, key.length, binary, 0, 1);
  }
  const store = new ObservedStore(memory);
  await using server = startTestServer({ store });
  await using lister = await RawConn.connect(server.port);
  await using other = await RawConn.connect(server.port);
  let sent = false;
  store.onScan = () => {
    if (sent) return;
    sent = true;
    void other.send("GET, key:000001\n"); // Sent as the LIST begins its walk.
  };
  let scannedAtGet = -1;
  store.onGet = () => scannedAtGet = store.pairsScanned;
  await lister.send("LIST\n");
  assertStringIncludes(await other.readLine() ?? "", "Error: value is not one line of UTF-8 text");
  // The other client was served early in the walk, not after it.
  assert(scannedAtGet >= 0 && scannedAtGet < pairs / 2, `GET ran after ${scannedAtGet} pairs`);
  let last: string | null = "?";
  while (last !== "" && last !== null) last = await lister.readLine();
  assertEquals(store.pairsScanned, pairs);
});
