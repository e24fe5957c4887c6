/**
 * Tests of `KvClient.connect()` over real sockets on port 0: a refused
 * port (and its trace line), TLS that cannot be had (no handshake, an untrusted certificate, a
 * server without TLS), and a password whose AUTH is never answered.
 *
 * @module
 */

import { assertEquals, assertInstanceOf, assertRejects, assertStringIncludes } from "@std/assert";
import { KvClient } from "./client.ts";
import { KvConnectionError } from "./errors.ts";
import type { TraceEvent } from "../net/trace.ts";
import {
  closedPort,
  readRawLines,
  scriptedServer,
  send,
  stallUntil,
  startTestServer,
} from "../testing/mod.ts";
import { TEST_CA, TEST_CERT, TEST_KEY } from "../testing/tls.ts";

Deno.test("KvClient.connect() throws KvConnectionError naming the address when refused", async () => {
  const port = closedPort();
  const traced: TraceEvent[] = [];
  const error = await assertRejects(
    () => KvClient.connect({ port, trace: (event) => traced.push(event) }),
    KvConnectionError,
  );
  // No socket, so no `connect` line: the trace says why.
  assertEquals(traced.map(({ event, detail }) => [event, detail]), [[
    "refused",
    `peer=127.0.0.1:${port} (our SYN was answered with RST: nothing listens on that port)`,
  ]]);
  assertEquals(
    error.message,
    `cannot connect to 127.0.0.1:${port}: connection refused (is the server running, on that port?)`,
  );
  assertEquals(error.name, "KvConnectionError");
  assertInstanceOf(error.cause, Deno.errors.ConnectionRefused);
});

Deno.test("KvClient.connect() with TLS gives up on a handshake that never comes", async () => {
  // A plain TCP server that accepts and says nothing: no TLS handshake. It
  // closes once the client gave up (Deno keeps the socket of a TLS
  // connection closed during its handshake open, so the client cannot end
  // it), or after 5 s: a client that waited for that close fails below.
  const gaveUp = Promise.withResolvers<void>();
  let serverClosed = false;
  await using server = scriptedServer(async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      gaveUp.promise,
      new Promise((resolve) => timer = setTimeout(resolve, 5_000)),
    ]);
    clearTimeout(timer);
    serverClosed = true;
  });
  const traced: TraceEvent[] = [];
  await assertRejects(
    () =>
      KvClient.connect({
        port: server.port,
        tls: {},
        connectTimeoutMs: 200,
        trace: (event) => traced.push(event),
      }),
    KvConnectionError,
    "timed out",
  );
  assertEquals(traced.map(({ event }) => event), ["timeout"]);
  assertStringIncludes(
    traced[0]!.detail,
    `peer=127.0.0.1:${server.port} ms=200 (no connection in time`,
  );
  assertEquals(serverClosed, false, "the client gave up before the server closed");
  gaveUp.resolve();
});

Deno.test("KvClient.connect() with TLS to a certificate it does not trust fails, and leaks nothing", async () => {
  await using server = startTestServer({ tls: { cert: TEST_CERT, key: TEST_KEY } });
  await assertRejects(
    () => KvClient.connect({ port: server.port, tls: {} }),
    KvConnectionError,
    "give it with --tls-ca FILE",
  );
});

Deno.test("KvClient.connect() with TLS to a certificate for other names says how to reach it", async () => {
  // The test certificate holds localhost, 127.0.0.1 and ::1; 127.0.0.2 is loopback too.
  await using server = startTestServer({
    hostname: "127.0.0.2",
    tls: { cert: TEST_CERT, key: TEST_KEY },
  });
  const error = await assertRejects(
    () =>
      KvClient.connect({ hostname: "127.0.0.2", port: server.port, tls: { caCerts: [TEST_CA] } }),
    KvConnectionError,
  );
  assertStringIncludes(error.message, 'certificate not valid for name "127.0.0.2"');
  assertStringIncludes(error.message, "connect with --host set to a name the certificate holds");
});

Deno.test("KvClient.connect() with TLS to a server without it says the server does not speak TLS", async () => {
  await using server = startTestServer();
  await assertRejects(
    () => KvClient.connect({ port: server.port, tls: {} }),
    KvConnectionError,
    "the server does not speak TLS: connect without --tls and --tls-ca, or without the tls option",
  );
  await using plain = await KvClient.connect({ port: server.port });
  await plain.ping(); // Without TLS, as the hint says, it answers.
});

Deno.test("KvClient.connect() with a password gives up on a server that never answers AUTH", async () => {
  await using server = scriptedServer(async (conn) => {
    while (await conn.read(new Uint8Array(64)) !== null);
  });
  await assertRejects(
    () => KvClient.connect({ port: server.port, password: "pw", connectTimeoutMs: 200 }),
    KvConnectionError,
    "no answer to AUTH in time",
  );
});

Deno.test("KvClient.connect(): a stall of its own process is not a server slow to answer AUTH", async (t) => {
  // The answer arrives while the process is stalled (a busy loop here; a
  // stopped process or a loaded machine in life) past the connect timeout:
  // when it runs again, the AUTH timer is due and the answer is there,
  // unread. A plain setTimeout fired first: "no answer to AUTH in time".
  // Past half the timeout late, the timer starts over; a little late, it looks first.
  for (const stallMs of [300, 130]) {
    await t.step(`a stall of ${stallMs} ms past a timeout of 100 ms`, async () => {
      await using server = scriptedServer(async (conn) => {
        await readRawLines(conn, 1);
        await send(conn, "Success!\n");
        stallUntil(Date.now() + stallMs);
        while (await conn.read(new Uint8Array(64)) !== null);
      });
      const kv = await KvClient.connect({
        port: server.port,
        password: "pw",
        connectTimeoutMs: 100,
      });
      assertEquals(kv.open, true);
      await kv.close();
    });
  }
});

Deno.test("KvClient.connect() refuses a timeout that is no whole number of ms, naming it, before connecting", async () => {
  // A negative answerTimeoutMs waited forever, and a NaN connectTimeoutMs
  // printed Node's TimeoutNaNWarning and gave up after 1 ms.
  await using server = startTestServer();
  const port = server.port;
  const bad: [string, number][] = [
    ["connectTimeoutMs", 0],
    ["connectTimeoutMs", NaN],
    ["answerTimeoutMs", -5],
    ["answerTimeoutMs", 1.5],
    ["answerPauseMs", -1],
    ["answerPauseMs", Infinity],
  ];
  for (const [name, value] of bad) {
    await assertRejects(
      () => KvClient.connect({ port, [name]: value }),
      RangeError,
      `Cannot use ${name} ${value}: expected an integer from`,
    );
  }
  await using client = await KvClient.connect({ port, answerTimeoutMs: 0, answerPauseMs: 0 });
  await client.ping();
});
