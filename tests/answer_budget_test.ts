/**
 * Tests of `--max-answer-bytes` (`maxAnswerBytes`): what all connections'
 * answers built whole may hold together, over real sockets on port 0. An
 * MGET (or an EXEC of GETs) naming a big value many times asks, in a few
 * bytes, for an answer the server must build before it sends it: a 70 KB
 * MGET of a 1 MB value made it build 5 GB and answer no one else for 18 s.
 * Each connection has room for its longest single answer (twice
 * `--max-line-bytes`, and 64 KiB of others); past it, answers take from
 * the budget, and one that would pass it is not made: its client gets an
 * error in its place, the connection goes on, and the budget comes back
 * once the answer is written or its connection ends.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "@std/assert";
import { serve } from "../server/serve.ts";
import { RawConn, resp, startTestServer, TraceCollector } from "../testing/mod.ts";

const LINE = 64 * 1024; // --max-line-bytes: a connection's own room is 192 KiB.
const VALUE = "v".repeat(32 * 1024);
const BUDGET = 4 * 1024 * 1024;
const REFUSED = "-ERR kv: answers being made hold 4 MiB already (--max-answer-bytes); " +
  "ask for less at once";

/** Reads one RESP reply: a bulk string's value, or an array's header and each element, or the line. */
async function readReply(conn: RawConn): Promise<string[]> {
  const head = (await conn.readLine())!.replace(/\r$/, "");
  if (head.startsWith("$")) return [(await conn.readLine())!.replace(/\r$/, "")];
  if (!head.startsWith("*")) return [head];
  const elements: string[] = [head];
  for (let i = 0; i < Number(head.slice(1)); i++) {
    const line = (await conn.readLine())!.replace(/\r$/, "");
    elements.push(line.startsWith("$") ? (await conn.readLine())!.replace(/\r$/, "") : line);
  }
  return elements;
}

Deno.test("serve() refuses a maxAnswerBytes below 1 before it binds", () => {
  assertThrows(
    () => serve({ port: 0, maxAnswerBytes: 0 }),
    RangeError,
    "Cannot use maxAnswerBytes 0: expected an integer from 1",
  );
});

Deno.test("an MGET whose answer would pass --max-answer-bytes gets an error in its place, and the connection goes on", async () => {
  await using server = startTestServer({ maxLineBytes: LINE, maxAnswerBytes: BUDGET });
  await using conn = await RawConn.connect(server.port);
  await conn.send(resp("SET", "big", VALUE));
  assertEquals(await readReply(conn), ["+OK"]);
  // 6.4 MB asked for in 2 KB: not built.
  await conn.send(resp("MGET", ...Array(200).fill("big")));
  assertEquals(await readReply(conn), [REFUSED]);
  // 3.2 MB fits: the refused one gave back what it took.
  await conn.send(resp("MGET", ...Array(100).fill("big")) + resp("PING"));
  assertEquals(await readReply(conn), ["*100", ...Array(100).fill(VALUE)]);
  assertEquals(await readReply(conn), ["+PONG"]);
});

Deno.test("EXEC: a queued command whose answer would pass --max-answer-bytes gets the error in EXEC's array, and every command runs", async () => {
  await using server = startTestServer({ maxLineBytes: LINE, maxAnswerBytes: BUDGET });
  await using conn = await RawConn.connect(server.port);
  await conn.send(resp("SET", "big", VALUE) + resp("MULTI"));
  assertEquals([await readReply(conn), await readReply(conn)], [["+OK"], ["+OK"]]);
  await conn.send(resp("GET", "big").repeat(200) + resp("INCR", "n") + resp("EXEC"));
  for (let i = 0; i < 201; i++) assertEquals(await readReply(conn), ["+QUEUED"]);
  const [head, ...elements] = await readReply(conn);
  assertEquals(head, "*201");
  const values = elements.filter((element) => element === VALUE).length;
  const refused = elements.filter((element) => element === REFUSED).length;
  // About 4 MiB and 192 KiB of the values, then the error for each GET after.
  assert(values > 100 && values < 200, `${values} values`);
  assertEquals(values + refused, 200);
  assertEquals(elements.at(-1), ":1", "INCR ran, after the GETs refused");
  await conn.send(resp("GET", "n"));
  assertEquals(await readReply(conn), ["1"]);
});

Deno.test("answers held by a client that does not read count against every connection's, until it leaves", async () => {
  const traced = new TraceCollector();
  await using server = startTestServer({
    maxLineBytes: LINE,
    maxAnswerBytes: 8 * BUDGET, // 32 MiB
    trace: traced.trace,
  });
  await using other = await RawConn.connect(server.port);
  await other.send(resp("SET", "big", VALUE));
  assertEquals(await readReply(other), ["+OK"]);
  // 25.6 MB asked for and not read: past what the sockets' buffers take, the rest is held.
  const holder = await RawConn.connect(server.port);
  await holder.send(resp("MGET", ...Array(800).fill("big")));
  assertEquals(await holder.readLine(), "*800\r", "the answer is built: its first bytes came");
  await other.send(resp("MGET", ...Array(400).fill("big")));
  assertEquals(await readReply(other), [
    "-ERR kv: answers being made hold 32 MiB already (--max-answer-bytes); ask for less at once",
  ]);
  holder.close();
  await traced.waitFor("#2", "close");
  await other.send(resp("MGET", ...Array(400).fill("big")));
  assertEquals(await readReply(other), ["*400", ...Array(400).fill(VALUE)]);
});
