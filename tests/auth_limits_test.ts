/**
 * The limits an unauthenticated client is held to (PROTOCOL.md,
 * Authentication, Limits), over real sockets: a password AUTH can carry,
 * the line limit and the idle timeout, 16 KiB lines and small RESP
 * requests until AUTH, and the cut of a client that sends before AUTH and
 * never reads its answers (over TCP and TLS).
 */

import { assertEquals, assertThrows } from "@std/assert";
import { serve } from "../server/serve.ts";
import { LogCollector, RawConn, startTestServer, within } from "../testing/mod.ts";
import { TEST_CA, TEST_CERT, TEST_KEY } from "../testing/tls.ts";
import { PASSWORD, REQUIRED } from "./auth_fixtures.ts";
import { resp } from "../testing/resp.ts";

Deno.test("serve() refuses a password too long for AUTH to carry before authenticating", async () => {
  assertThrows(
    () => serve({ port: 0, password: "p".repeat(16_378) }),
    RangeError,
    "Cannot use a password of 16378 bytes: AUTH could not carry it (at most 16377 bytes",
  );
  assertThrows(
    () => serve({ port: 0, password: "p".repeat(1_000), maxLineBytes: 1_000 }),
    RangeError,
    "at most 947 bytes fit in the 1000-byte requests allowed before it",
  );
  assertThrows(
    () => serve({ port: 0, password: "p", maxLineBytes: 20 }),
    RangeError,
    "Cannot use a password of 1 bytes: no password fits in the 20-byte requests allowed before AUTH",
  );
  // With small lines, the longest allowed fits RESP's longest form, HELLO 3 AUTH default, to the byte.
  {
    const pw = "q".repeat(48);
    await using small = startTestServer({ password: pw, maxLineBytes: 100 });
    await using conn = await RawConn.connect(small.port);
    const hello = resp("HELLO", "3", "AUTH", "default", pw);
    assertEquals(hello.length, 100);
    await conn.send(hello + resp("AUTH", "default", pw) + resp("AUTH", pw));
    assertEquals(await conn.readLine(), "%7\r");
    let line = await conn.readLine(); // HELLO's map, then the two AUTHs.
    while (line !== null && line !== "+OK\r") line = await conn.readLine();
    assertEquals(await conn.readLine(), "+OK\r");
    assertThrows(() => serve({ port: 0, password: `${pw}q`, maxLineBytes: 100 }), RangeError);
  }
  // The longest allowed works in every form: a line ending in \r\n, and RESP's HELLO 3 AUTH.
  const longest = "p".repeat(16_377);
  await using server = startTestServer({ password: longest });
  await using line = await RawConn.connect(server.port);
  await line.send(`AUTH, ${longest}\r\n`);
  assertEquals(await line.readLine(), "Success!");
  await using redis = await RawConn.connect(server.port);
  await redis.send(resp("HELLO", "3", "AUTH", "default", longest));
  assertEquals(await redis.readLine(), "%7\r");
});

Deno.test("serve() with a password still holds unauthenticated clients to the limits", async () => {
  await using server = startTestServer({
    password: PASSWORD,
    maxLineBytes: 80,
    idleTimeoutMs: 200,
  });
  await using conn = await RawConn.connect(server.port);
  await conn.send(`${"x".repeat(100)}\nPING\n`);
  assertEquals(await conn.readLines(2), ["Error: line too long (limit 80 bytes)", REQUIRED]);
  // Silent and unauthenticated: the idle timeout closes it.
  assertEquals(await conn.readToEnd(), "");
});

Deno.test("serve() with a password cuts a client that sends before AUTH and never reads its answers", async () => {
  const logs = new LogCollector();
  await using server = startTestServer({
    password: PASSWORD,
    maxConnections: 1,
    handshakeTimeoutMs: 200,
    verbose: true,
    log: logs.log,
  });
  // 100,000 requests, about 6 MB of answers: more than the sockets hold, so the server's writes wait.
  using flood = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await flood.write(new TextEncoder().encode("GET, a\n".repeat(100_000)));
  await within(
    "the cut",
    logs.waitFor(/#1 not authenticated and not reading its answers for 200 ms/),
  );
  await within("the slot freed", logs.waitFor(/#1 closed/));
  await using next = await RawConn.connect(server.port);
  await next.send(`AUTH, ${PASSWORD}\n`);
  assertEquals(await next.readLine(), "Success!");
});

Deno.test("serve() over TLS with a password cuts a client that never reads before AUTH, with no drain", async () => {
  // The TLS side's last bytes may take 5 s to drain to a client after a
  // close; not to one cut for not reading.
  const logs = new LogCollector();
  await using server = startTestServer({
    password: PASSWORD,
    tls: { cert: TEST_CERT, key: TEST_KEY },
    maxConnections: 1,
    handshakeTimeoutMs: 200,
    verbose: true,
    log: logs.log,
  });
  using flood = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [TEST_CA],
  });
  // Requests until the cut (its writes wait once the server stops reading):
  // the answers fill the sockets of the pipe and the client's.
  const chunk = new TextEncoder().encode("GET, a\n".repeat(10_000));
  const writing = (async () => {
    try {
      while (true) await flood.write(chunk);
    } catch { /* Cut. */ }
  })();
  await within(
    "the cut",
    logs.waitFor(/#1 not authenticated and not reading its answers for 200 ms/),
  );
  await within("the slot freed at once", logs.waitFor(/#1 closed/), 2_000);
  flood.close();
  await writing;
  const next = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [TEST_CA],
  });
  try {
    await next.write(new TextEncoder().encode(`AUTH, ${PASSWORD}\n`));
    const buffer = new Uint8Array(64);
    const n = await within("the next client's answer", next.read(buffer));
    assertEquals(new TextDecoder().decode(buffer.subarray(0, n!)), "Success!\n");
  } finally {
    next.close();
  }
});

Deno.test("serve() with a password holds line clients to 16 KiB lines until AUTH, then to --max-line-bytes", async () => {
  await using server = startTestServer({ password: PASSWORD });
  await using conn = await RawConn.connect(server.port);
  const put = (bytes: number) => `PUT, k, ${"x".repeat(bytes - "PUT, k, ".length)}\n`;
  await conn.send(put(16 * 1024) + put(16 * 1024 + 1) + "PING\n");
  assertEquals(await conn.readLines(3), [
    REQUIRED,
    "Error: line too long (limit 16384 bytes)",
    REQUIRED,
  ]);
  // AUTH and a long line in one read: the limit is raised between them.
  await conn.send(`AUTH, ${PASSWORD}\n${put(100_000)}GET, k\n`);
  assertEquals(await conn.readLines(3), ["Success!", "Success!", "x".repeat(100_000 - 8)]);
});

Deno.test("serve() with a password refuses big RESP requests before AUTH and closes, as Redis 7 does", async (t) => {
  await using server = startTestServer({ password: PASSWORD });
  const cases: [string, string][] = [
    ["*11\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"],
    ["*1\r\n$16385\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n"],
    [
      resp("GET", "k") + "*2\r\n$3\r\nGET\r\n$20000\r\n",
      "-NOAUTH Authentication required.\r\n" +
      "-ERR Protocol error: unauthenticated bulk length\r\n",
    ],
  ];
  for (const [request, error] of cases) {
    await t.step(JSON.stringify(request.slice(-20)), async () => {
      await using conn = await RawConn.connect(server.port);
      await conn.send(request);
      assertEquals(await conn.readToEnd(), error);
    });
  }
  await t.step("up to 10 strings of 16 KiB before AUTH; after it, --max-line-bytes", async () => {
    await using conn = await RawConn.connect(server.port);
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    await conn.send(
      resp("SET", "k", "x".repeat(16 * 1024)) + resp("MGET", ...keys.slice(0, 9)) +
        resp("AUTH", PASSWORD) + resp("MGET", ...keys) + resp("SET", "k", "x".repeat(100_000)),
    );
    assertEquals(await conn.readLines(3 + 21 + 1), [
      "-NOAUTH Authentication required.\r",
      "-NOAUTH Authentication required.\r",
      "+OK\r",
      "*20\r",
      ...Array(20).fill("$-1\r"),
      "+OK\r",
    ]);
  });
});
