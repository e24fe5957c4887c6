/**
 * Tests of {@linkcode KvClient} when the server closes the connection, over
 * real sockets on port 0: requests still waiting fail with why (the lines
 * the server sent before closing still answer, an answer the close cut off
 * is not passed as whole, a TLS hint when no byte of an answer came).
 *
 * @module
 */

import { assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { KvClient } from "./client.ts";
import { KvConnectionError } from "./errors.ts";
import { readRawLines, scriptedServer, send, startTestServer } from "../testing/mod.ts";

Deno.test("KvClient: a server with no room answers the first request with why, whether or not the write failed", async () => {
  await using server = startTestServer({ maxConnections: 1 });
  await using holder = await KvClient.connect({ port: server.port });
  await holder.ping();
  // The write of the requests races the server's close: either way the
  // refusal answers the first request, and the second fails with no hint of
  // a server that closes after each answer.
  for (let i = 0; i < 20; i++) {
    await using kv = await KvClient.connect({ port: server.port });
    const first = kv.request("PING");
    const second = kv.request("PING");
    assertEquals(await first, ["Error: too many connections"]);
    const error = await assertRejects(() => second, KvConnectionError);
    assertEquals(error.answers, undefined);
  }
});

Deno.test("KvClient rejects pending calls when the server closes the connection", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 3);
    await send(conn, "PONG\n"); // Answers the first request only, then closes.
  });
  await using kv = await KvClient.connect({ port: server.port });
  const [ping, get, list] = await Promise.allSettled([kv.ping(), kv.get("a"), kv.list()]);
  assertEquals(ping, { status: "fulfilled", value: undefined });
  for (const result of [get, list]) {
    assertEquals(result.status, "rejected");
    const reason = (result as PromiseRejectedResult).reason;
    assertInstanceOf(reason, KvConnectionError);
    // It answered one and closed: perhaps one request per connection (kv client says so).
    assertEquals(
      [reason.message, reason.answers],
      [`connection closed by 127.0.0.1:${server.port} with requests still unanswered`, 1],
    );
    // In numbers, for a message of one's own (kv client --lang ko).
    assertEquals(reason.serverClose, { unanswered: 2, silent: false });
  }
  await assertRejects(() => kv.put("a", "b"), KvConnectionError, "connection closed by");
  await server.done;
});

Deno.test("KvClient: a server that closes before a byte of an answer may speak TLS, and the error says so", async () => {
  // A TLS server closes a plaintext client's connection without a byte of answer.
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
  });
  await using kv = await KvClient.connect({ port: server.port });
  await assertRejects(
    () => kv.ping(),
    KvConnectionError,
    `connection closed by 127.0.0.1:${server.port} before any answer (if it speaks TLS, connect with TLS: --tls, or the tls option)`,
  );
  await server.done;
});

Deno.test("KvClient: a server that closes an idle connection gets no TLS hint", async () => {
  // A server stopping closes the connections that wait for a request.
  await using server = scriptedServer(() => Promise.resolve());
  const closed = Promise.withResolvers<void>();
  await using kv = await KvClient.connect({
    port: server.port,
    // The client closes its end once it has seen the server's: then ask.
    trace: (event) => event.event === "close" && closed.resolve(),
  });
  await closed.promise;
  const error = await assertRejects(() => kv.ping(), KvConnectionError);
  assertEquals(error.message, `connection closed by 127.0.0.1:${server.port}`);
});

Deno.test("KvClient rejects a LIST cut off before its final empty line", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, "a, 1\nb, 2\n");
  });
  await using kv = await KvClient.connect({ port: server.port });
  await assertRejects(() => kv.list(), KvConnectionError, "connection closed by");
  await server.done;
});

Deno.test("KvClient rejects an answer the close cut off before its \\n, not return it as whole", async (t) => {
  const cutServer = () =>
    scriptedServer(async (conn) => {
      await readRawLines(conn, 1);
      await send(conn, "yyj"); // of "yyjun\n"
    });
  await t.step("waiting for the \\n (the default): KvConnectionError", async () => {
    await using server = cutServer();
    await using kv = await KvClient.connect({ port: server.port });
    await assertRejects(
      () => kv.get("name"),
      KvConnectionError,
      'in the middle of an answer (3 bytes of it came, "yyj", with no \\n)',
    );
  });
  await t.step(
    "with answerPauseMs (a textbook server's way): the end of the stream ends it",
    async () => {
      await using server = cutServer();
      await using kv = await KvClient.connect({ port: server.port, answerPauseMs: 5_000 });
      assertEquals(await kv.get("name"), "yyj");
    },
  );
});

Deno.test("KvClient rejects calls once the server has shut down", async () => {
  await using server = startTestServer();
  await using kv = await KvClient.connect({ port: server.port });
  await kv.put("a", "1");
  assertEquals(await server.shutdown(), { connectionsCut: 0 });
  await assertRejects(() => kv.get("a"), KvConnectionError);
  await assertRejects(() => kv.ping(), KvConnectionError);
});

Deno.test("KvClient answers with an error line the server sent before closing, even after the close", async () => {
  // How a server over its connection limit answers: one line, then close.
  await using server = scriptedServer(async (conn) => {
    await send(conn, "Error: too many connections\n");
    await conn.closeWrite();
    // The client closes its side once it has read the end of the stream.
    assertEquals(await conn.read(new Uint8Array(16)), null);
  });
  await using kv = await KvClient.connect({ port: server.port });
  await server.done; // The client has seen the line and the close, with no request waiting.
  assertEquals(await kv.request("PING"), ["Error: too many connections"]);
  await assertRejects(() => kv.ping(), KvConnectionError, "connection closed by");
});
