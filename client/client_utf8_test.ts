/**
 * Tests of how {@linkcode KvClient} reads answers as UTF-8, over real
 * sockets on port 0: characters split across reads, and answer lines that
 * are not UTF-8 (the request fails with the bytes shown, the connection
 * stays in step).
 *
 * @module
 */

import { assertEquals, assertInstanceOf, assertRejects, assertStringIncludes } from "@std/assert";
import { KvClient } from "./client.ts";
import { KvAnswerError, KvConnectionError } from "./errors.ts";
import { readAll, readRawLines, scriptedServer, send } from "../testing/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test("KvClient fails a request whose answer line is not UTF-8, shown as bytes, read as cp949 where it is that", async () => {
  const OTHER_CODEC =
    "(answers are UTF-8 text: does the server encode them with another codec, such as latin-1 or cp949?)";
  const cases: [string, number[], string][] = [
    ['"café" in Latin-1', [0x63, 0x61, 0x66, 0xe9, 0x0d], `"caf\\xe9" ${OTHER_CODEC}`],
    [
      '"홍길동" in cp949',
      [0xc8, 0xab, 0xb1, 0xe6, 0xb5, 0xbf],
      '"\\xc8\\xab\\xb1\\xe6\\xb5\\xbf" (it reads as cp949: "홍길동"; answers are UTF-8 text: ' +
      'encode them with .encode() or .encode("utf-8"), not "cp949")',
    ],
    // cp949's extension would decode it (as "햚gel"): only EUC-KR's own byte pairs count.
    ['"Ángel" in Latin-1', [0xc1, 0x6e, 0x67, 0x65, 0x6c], `"\\xc1ngel" ${OTHER_CODEC}`],
  ];
  for (const [name, line, shown] of cases) {
    await using server = scriptedServer(async (conn) => {
      await readRawLines(conn, 1);
      await send(conn, new Uint8Array([...line, 0x0a]));
    });
    await using kv = await KvClient.connect({ port: server.port });
    const error = await assertRejects(() => kv.get("a"), KvAnswerError);
    assertEquals(
      error.message,
      `127.0.0.1:${server.port} sent an answer line that is not UTF-8: ${shown}`,
      name,
    );
    assertEquals(error.bytes, new Uint8Array(line.at(-1) === 0x0d ? line.slice(0, -1) : line));
    await server.done;
  }
});

Deno.test("KvClient: an answer that is not UTF-8 fails its request only; the connection stands, in step", async () => {
  const cp949 = [0xc8, 0xab, 0xb1, 0xe6, 0xb5, 0xbf]; // "홍길동"
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 4);
    // Pipelined: a GET, a LIST with a bad line in the middle, then two that are fine.
    await send(conn, new Uint8Array([...cp949, 0x0a]));
    await send(conn, new Uint8Array([0x61, 0x2c, 0x20, 0x31, 0x0a, 0x62, 0x2c, 0x20, ...cp949]));
    await send(conn, "\nc, 3\n\nPONG\n1\n");
    await readRawLines(conn, 1);
    await send(conn, "Success!\n");
  });
  await using kv = await KvClient.connect({ port: server.port });
  const [get, list, ping, last] = [
    kv.request("GET, a"),
    kv.request("LIST"),
    kv.request("PING"),
    kv.request("GET, b"),
  ].map((answer) => answer.then((lines) => lines, (error: Error) => error));
  assertInstanceOf(await get, KvAnswerError);
  assertInstanceOf(await list, KvAnswerError, "the LIST took its lines up to the empty one");
  assertEquals(await ping, ["PONG"]);
  assertEquals(await last, ["1"]);
  assertEquals(await kv.request("PUT, a, 1"), ["Success!"]);
  await server.done;
});

Deno.test("KvClient: a lone Error: line that is not UTF-8 ends a LIST, so the answers after it stay in step", async () => {
  // "Error: 없는 명령" (no such command) in cp949: a Korean server's error to a LIST, one line.
  const cp949 = [0xbe, 0xf8, 0xb4, 0xc2, 0x20, 0xb8, 0xed, 0xb7, 0xc9];
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 2);
    await send(conn, new Uint8Array([...encoder.encode("Error: "), ...cp949, 0x0a]));
    await send(conn, "PONG\n");
    await readAll(conn);
  });
  // Without the fix the LIST took PONG as a pair and waited for an empty line.
  await using kv = await KvClient.connect({ port: server.port, answerTimeoutMs: 2_000 });
  const [list, ping] = [kv.request("LIST"), kv.request("PING")]
    .map((answer) => answer.then((lines) => lines, (error: Error) => error));
  assertInstanceOf(await list, KvAnswerError);
  assertEquals(await ping, ["PONG"]);
});

Deno.test("KvClient: an answer line that is not UTF-8 with no request waiting for it fails the connection", async () => {
  await using server = scriptedServer(async (conn) => {
    await send(conn, new Uint8Array([0xff, 0x0a]));
    await readAll(conn);
  });
  await using kv = await KvClient.connect({ port: server.port });
  await kv.ended;
  const error = await assertRejects(() => kv.ping(), KvConnectionError);
  assertStringIncludes(error.message, 'sent an answer line that is not UTF-8: "\\xff"');
});

Deno.test("KvClient answers decode across chunk boundaries inside a character", async () => {
  const answer = encoder.encode("윤영준\n");
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    for (const byte of answer) {
      await send(conn, new Uint8Array([byte]));
    }
  });
  await using kv = await KvClient.connect({ port: server.port });
  assertEquals(await kv.get("이름"), decoder.decode(answer).trimEnd());
  await server.done;
});
