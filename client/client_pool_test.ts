/**
 * Tests that {@linkcode KvClient} gives back the pooled buffer an answer
 * line split across reads borrowed (past the line splitter's own 4 KiB:
 * wire/buffer_pool.ts's `sharedPool`) however its connection ends, over
 * real sockets on port 0: closed by the client, an answer timeout, the
 * server's close. What the errors keep of the partial line is a copy: the
 * buffer's next borrower cannot change it.
 *
 * @module
 */

import { assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { KvClient } from "./client.ts";
import { KvConnectionError, KvTimeoutError } from "./errors.ts";
import { sharedPool } from "../wire/buffer_pool.ts";
import { readRawLines, scriptedServer, send } from "../testing/mod.ts";

const decoder = new TextDecoder();
// A LIST's first line, then the start of a second one too long for the splitter's own buffer.
const FIRST = "a 1\n";
const PART = "b " + "v".repeat(10_000);

/**
 * A server that answers a LIST with {@linkcode FIRST} and {@linkcode PART},
 * then does `rest`; the client's LIST, whose first line came (the partial
 * one is held, in a pooled buffer), and the pool's count of lent buffers
 * from before. Disposing closes the client and the server.
 */
async function partialList(
  rest: (conn: Deno.Conn) => Promise<void>,
  options: { answerTimeoutMs?: number } = {},
) {
  const server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, FIRST + PART);
    await rest(conn);
  });
  const lentBefore = sharedPool.lent;
  const kv = await KvClient.connect({ port: server.port, ...options });
  const firstLine = Promise.withResolvers<void>();
  const list = kv.requestEach("LIST", () => firstLine.resolve());
  list.catch(() => {}); // Each step awaits it.
  await firstLine.promise;
  assertEquals(sharedPool.lent, lentBefore + 1, "the partial line's buffer is borrowed");
  return {
    kv,
    list,
    lentBefore,
    async [Symbol.asyncDispose]() {
      await kv.close();
      await server[Symbol.asyncDispose]();
    },
  };
}

/** Borrows the pooled buffers back and scribbles over them: no error may see it. */
function scribble(): void {
  const taken = Array.from({ length: sharedPool.idle }, () => sharedPool.take());
  for (const buffer of taken) buffer.fill(0x21);
  for (const buffer of taken) sharedPool.give(buffer);
}

/** Until the server's side closes. */
async function readToEnd(conn: Deno.Conn): Promise<void> {
  while (await conn.read(new Uint8Array(64)) !== null);
}

Deno.test("KvClient gives back the buffer of a partial answer line however the connection ends", async (t) => {
  await t.step("closed by the client", async () => {
    await using run = await partialList(readToEnd);
    const { kv, list, lentBefore } = run;
    await kv.close();
    assertEquals(sharedPool.lent, lentBefore);
    await assertRejects(() => list, KvConnectionError);
  });
  await t.step("an answer timeout", async () => {
    await using run = await partialList(readToEnd, { answerTimeoutMs: 100 });
    const { kv, list, lentBefore } = run;
    const error = await assertRejects(() => list, KvTimeoutError);
    await kv.ended;
    assertEquals(sharedPool.lent, lentBefore);
    scribble();
    assertEquals(decoder.decode(error.received).endsWith(PART), true, "a copy, whole");
  });
  await t.step("the server's close mid-line", async () => {
    await using run = await partialList(async () => {});
    const { kv, list, lentBefore } = run;
    const error = await assertRejects(() => list, KvConnectionError);
    await kv.ended;
    assertEquals(sharedPool.lent, lentBefore);
    scribble();
    assertInstanceOf(error.cut, Uint8Array);
    assertEquals(decoder.decode(error.cut), PART, "a copy, whole");
  });
});
