/**
 * Tests of the connection loop through a stand-in socket, where the order
 * of a read's completion and a shutdown can be set exactly; and over a real
 * socket whose reads and writes are recorded, for the buffers the loop
 * reads into and writes from.
 */

import { assert, assertEquals } from "@std/assert";
import { writeAll } from "../net/conn.ts";
import { TextStore } from "../store/text.ts";
import { standInConnection } from "../testing/stand_in.ts";
import { within } from "../testing/wait.ts";
import { BufferPool, OWN_BYTES, POOLED_BYTES } from "../wire/buffer_pool.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test({
  name: "Connection runs nothing of a read that completes as shutdown closes it",
  permissions: "none",
  fn: async () => {
    // The read's bytes are in, and its promise settled, when stop() closes
    // the connection (it was waiting for bytes): its PUT must not be applied
    // unanswered.
    const read = Promise.withResolvers<number | null>();
    const reading = Promise.withResolvers<void>();
    const written: number[] = [];
    const { connection, store } = standInConnection({
      read(buffer: Uint8Array) {
        buffer.set(new TextEncoder().encode("PUT, k, v\n"));
        reading.resolve();
        return read.promise;
      },
      write: (bytes: Uint8Array) => (written.push(bytes.length), Promise.resolve(bytes.length)),
    });
    const ran = new Promise<void>((resolve) => connection.run(() => resolve()));
    await reading.promise;
    read.resolve(10);
    connection.stop();
    await ran;
    assertEquals(new TextStore(store).get("k"), undefined, "not applied");
    assertEquals(written, [], "nothing answered");
  },
});

/** Reads from `conn` until `lines` more `\n` have come; returns the last line. */
async function readLines(conn: Deno.Conn, lines: number): Promise<string> {
  const buffer = new Uint8Array(64 * 1024);
  let tail = "";
  while (lines > 0) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("the server closed the connection");
    for (let i = 0; i < n; i++) if (buffer[i] === 0x0a) lines--;
    tail = (tail + decoder.decode(buffer.subarray(Math.max(0, n - 100), n))).slice(-100);
  }
  return tail.slice(tail.lastIndexOf("\n", tail.length - 2) + 1);
}

Deno.test("A connection idle after a burst waits with its own small buffers: what it borrowed is back in the pool", async () => {
  // A burst that makes every buffer grow: a line of 60 KB (split across
  // reads: the framer holds it), its value asked back (a 60 KB answer), and
  // 42 KB of pipelined GETs (read past 16 KiB at once). Then two PINGs: the
  // read that brings the second was asked for after the first PING's batch,
  // when the connection was waiting for bytes with nothing pending. (After
  // the burst, a batch past 16 KiB, it may hold on to a borrowed read buffer,
  // as one of a few: not after a batch of 5 bytes.)
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const socket = await listener.accept();
  listener.close();
  const reads: { size: number; got: string }[] = [];
  const writtenFrom: number[] = []; // The size of the buffer each write's bytes lie in.
  const pool = new BufferPool();
  const { connection } = standInConnection({
    async read(buffer: Uint8Array) {
      const n = await socket.read(buffer);
      reads.push({ size: buffer.length, got: decoder.decode(buffer.subarray(0, n ?? 0)) });
      return n;
    },
    write(bytes: Uint8Array) {
      writtenFrom.push(bytes.buffer.byteLength);
      return socket.write(bytes);
    },
  }, { pool, maxLineBytes: 1024 * 1024 });
  const ended = new Promise<void>((resolve) => connection.run(() => resolve()));
  try {
    const gets = 6000;
    const burst = encoder.encode(
      `PUT, big, ${"b".repeat(60_000)}\nGET, big\nPUT, k, 0123456789abcdef\n${
        "GET, k\n".repeat(gets)
      }`,
    );
    const sent = writeAll(client, burst);
    assertEquals(
      await within("the burst's answers", readLines(client, 3 + gets)),
      "0123456789abcdef\n",
    );
    await sent;
    for (let i = 0; i < 2; i++) {
      await writeAll(client, encoder.encode("PING\n"));
      assertEquals(await within("PONG", readLines(client, 1)), "PONG\n");
    }
    assertEquals([pool.lent, pool.holders], [0, 0], "all given back");
    assert(
      pool.idle >= 2,
      "the burst borrowed (the framer for the line, the answers for its value)",
    );
    assert(Math.max(...reads.map((read) => read.size)) <= POOLED_BYTES);
    const pings = reads.filter((read) => read.got === "PING\n");
    assertEquals(pings.length, 2);
    assert(pings[1]!.size <= 16 * 1024, `the second PING was read into ${pings[1]!.size} bytes`);
    assert(writtenFrom.at(-1)! <= OWN_BYTES, `PONG was written from ${writtenFrom.at(-1)} bytes`);
  } finally {
    client.close();
    await ended;
    socket.close();
  }
});

Deno.test("A textbook client's line past 4 KiB, answered after the pause, gives back the buffer it borrowed", async () => {
  // A client that never sends \n (PROTOCOL.md, Unframed clients): its line
  // is held in a buffer borrowed from the pool, and answered once it has sat
  // for the pause, while a read waits for more. The connection waits for
  // bytes then: it must not keep 64 KiB while its client is idle (5,000
  // such clients kept 320 MB).
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const socket = await listener.accept();
  listener.close();
  const pool = new BufferPool();
  const { connection, store } = standInConnection({
    read: (buffer: Uint8Array) => socket.read(buffer),
    write: (bytes: Uint8Array) => socket.write(bytes),
  }, { pool, maxLineBytes: 1024 * 1024, unframedPauseMs: 20 });
  const ended = new Promise<void>((resolve) => connection.run(() => resolve()));
  try {
    const value = "t".repeat(2 * OWN_BYTES);
    await writeAll(client, encoder.encode(`PUT, textbook, ${value}`));
    assertEquals(await within("the answer after the pause", readLines(client, 1)), "Success!\n");
    assertEquals(new TextStore(store).get("textbook"), value);
    await writeAll(client, encoder.encode(`GET, textbook`));
    // Read after the first answer was written: its buffer went back before.
    assertEquals(await within("the second answer", readLines(client, 1)), `${"t".repeat(99)}\n`);
    assertEquals(pool.lent, 0, "the first line's buffer is back in the pool");
  } finally {
    client.close();
    await ended;
    socket.close();
  }
});

Deno.test({
  name: "A connection whose client resets it mid-answer gives back the answer buffer it borrowed",
  permissions: "none",
  fn: async () => {
    // 200 answers of 1,024 bytes: written from a borrowed 64 KiB buffer, in
    // steps; the second write finds the connection reset.
    const burst = encoder.encode(`PUT, k, ${"v".repeat(1_023)}\n${"GET, k\n".repeat(200)}`);
    let at = 0;
    let writes = 0;
    const pool = new BufferPool();
    const { connection } = standInConnection({
      read(buffer: Uint8Array) {
        if (at === burst.length) return Promise.resolve(null);
        const n = Math.min(buffer.length, burst.length - at);
        buffer.set(burst.subarray(at, at += n));
        return Promise.resolve(n);
      },
      write(bytes: Uint8Array) {
        if (++writes === 2) return Promise.reject(new Deno.errors.ConnectionReset("reset"));
        return Promise.resolve(bytes.length);
      },
    }, { pool, maxLineBytes: 64 * 1024 });
    await within(
      "the connection's end",
      new Promise<void>((resolve) => connection.run(() => resolve())),
    );
    assertEquals(writes, 2, "it ended at the reset");
    assertEquals(pool.lent, 0, "the answer buffer is back in the pool");
  },
});
