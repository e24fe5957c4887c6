/**
 * Contract tests of how requests arrive, over real sockets: a line past
 * the limit (answered before its end), thousands pipelined in one write, a
 * request split at every byte, and a last line ended by a half-close
 * (PROTOCOL.md, Requests, Ends of lines, Limits). Every test ends by
 * checking that the server still answers PING on a fresh connection.
 */

import { assertEquals } from "@std/assert";
import { ask, assertAlive, bytes, exchange, RawConn, startTestServer } from "../testing/mod.ts";

/** Reads one answer line; fails if the server closes first. */
async function readLine(conn: RawConn): Promise<string> {
  const line = await conn.readLine();
  if (line === null) throw new Error("the server closed instead of answering");
  return line;
}

Deno.test("serve() answers an over-limit line as soon as the limit is passed", async () => {
  await using server = startTestServer({ maxLineBytes: 16 });
  await using conn = await RawConn.connect(server.port);
  const TOO_LONG = "Error: line too long (limit 16 bytes)";
  assertEquals(await exchange(conn, "PING\n", 1), ["PONG"]);
  // No \n yet: the error comes as soon as byte 17 arrives.
  assertEquals(await exchange(conn, "PUT, k, 123456789", 1), [TOO_LONG]);
  // The rest of that line is skipped, whatever it holds; the next line is read.
  await conn.send("more bytes, QUIT, ");
  await conn.send(bytes([0xff, 0xfe], "\r"));
  assertEquals(await exchange(conn, "\nGET, k\n", 1), ["Not exist!"]);
  // Exactly at the limit (the \r counts) is fine; one byte more is not.
  assertEquals(await exchange(conn, "PUT, k, 12345678\n", 1), ["Success!"]);
  assertEquals(await exchange(conn, "GET, k\n", 1), ["12345678"]);
  assertEquals(await exchange(conn, "PUT, k, 1234567\r\n", 1), ["Success!"]);
  assertEquals(await exchange(conn, "GET, k\n", 1), ["1234567"]);
  assertEquals(await exchange(conn, "PUT, k, 12345678\r\nGET, k\n", 2), [TOO_LONG, "1234567"]);
  // The limit counts bytes: 8 + 9 bytes of Korean is over it.
  assertEquals(await exchange(conn, "PUT, k, 가나다\nPING\n", 2), [TOO_LONG, "PONG"]);
  await assertAlive(server.port);
});

Deno.test("serve() answers 10,000 pipelined requests in order, one answer each", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  const requests: string[] = [];
  const answers: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    const [request, answer] = ((): [string, string] => {
      switch (i % 8) {
        case 0:
          return [`PUT, k${i}, v${i}, ${i}`, "Success!"];
        case 1:
          return [`GET, k${i - 1}`, `v${i - 1}, ${i - 1}`];
        case 2:
          return [`get,k${i - 2}\r`, `v${i - 2}, ${i - 2}`];
        case 3:
          return [`DELETE, k${i - 3}`, "Success!"];
        case 4:
          return [`GET, k${i - 4}`, "Not exist!"];
        case 5:
          return ["PING", "PONG"];
        case 6:
          return [`LIST, ${i}`, "Error: usage: LIST"];
        default:
          return [`PUT, 키${i}, 값${i}`, "Success!"];
      }
    })();
    requests.push(request);
    answers.push(answer);
    if (i % 1000 === 999) requests.push("  \t"); // blank: no answer
  }
  // One write holding every request, then QUIT: the server's whole output is
  // the answers in order, one line each, then Bye!.
  const [, output] = await Promise.all([
    conn.send(requests.join("\n") + "\nQUIT\n"),
    conn.readToEnd(),
  ]);
  const lines = output.split("\n");
  assertEquals(lines.length, answers.length + 2, "one answer per request");
  assertEquals(lines, [...answers, "Bye!", ""]);
  assertEquals(await ask(server.port, "GET, 키9999"), "값9999");
  await assertAlive(server.port);
});

Deno.test("serve() reads a request split at every byte boundary", async (t) => {
  const put = bytes("PUT, 키, 값😀\r\n");
  const get = bytes("GET, 키\r\n");

  /** Sends `data` in the given pieces, each write awaited. */
  const sendPieces = async (conn: RawConn, pieces: Uint8Array[]) => {
    for (const piece of pieces) await conn.send(piece);
  };
  const byteByByte = (data: Uint8Array) => [...data].map((byte) => Uint8Array.of(byte));

  for (const unframedPauseMs of [100, 0]) {
    await t.step(`unframedPauseMs: ${unframedPauseMs}`, async () => {
      await using server = startTestServer({ unframedPauseMs });
      await using conn = await RawConn.connect(server.port);
      conn.conn.setNoDelay(true);
      if (unframedPauseMs > 0) {
        // Once a \n has been sent, the unframed pause no longer applies.
        assertEquals(await exchange(conn, "PING\n", 1), ["PONG"]);
      }
      await sendPieces(conn, byteByByte(put));
      assertEquals(await readLine(conn), "Success!", "PUT sent byte by byte");
      await sendPieces(conn, byteByByte(get));
      assertEquals(await readLine(conn), "값😀", "GET sent byte by byte");
      for (let at = 1; at < put.length; at++) {
        await sendPieces(conn, [put.subarray(0, at), put.subarray(at)]);
        assertEquals(await readLine(conn), "Success!", `PUT split at byte ${at}`);
      }
      for (let at = 1; at < get.length; at++) {
        await sendPieces(conn, [get.subarray(0, at), get.subarray(at)]);
        assertEquals(await readLine(conn), "값😀", `GET split at byte ${at}`);
      }
      await assertAlive(server.port);
    });
  }
});

Deno.test("serve() answers a last line without \\n when the client half-closes", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  await conn.send("PUT, hc, 1\nGET, hc");
  await conn.closeWrite();
  assertEquals(await conn.readToEnd(), "Success!\n1\n");
  await assertAlive(server.port);
});
