/**
 * TLS (PROTOCOL.md, TLS), over real sockets: round trips in both
 * protocols; a plaintext client, a half-close, a broken record, a client
 * still sending or a silent one ending only its own connection; the TLS
 * front's loopback pipe against strays and floods; and kv's clients (KvClient, kv bench, kv check)
 * reaching a TLS server. The front alone is tested in server/tls_test.ts;
 * refusals past --max-connections in tls_limits_test.ts.
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import { runBench } from "../bench/run.ts";
import { runCheck } from "../check/runner.ts";
import { KvClient } from "../client/client.ts";
import { KvConnectionError, KvServerError } from "../client/errors.ts";
import { serveListener } from "../server/serve.ts";
import { listenTls } from "../server/tls.ts";
import { FakeIo, LogCollector, readAll, startTestServer, within } from "../testing/mod.ts";
import { TEST_CA, TEST_CERT, TEST_KEY } from "../testing/tls.ts";
import { PASSWORD } from "./auth_fixtures.ts";
import { resp } from "../testing/resp.ts";

Deno.test("serve() over TLS: a round trip in both protocols; plaintext fails only its own connection", async () => {
  await using server = startTestServer({ tls: { cert: TEST_CERT, key: TEST_KEY } });
  // A plaintext client: its bytes are no TLS handshake.
  const plain = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await plain.write(new TextEncoder().encode("PING\n"));
  const buffer = new Uint8Array(1024);
  const got = await within(
    "the server ends the plaintext connection",
    plain.read(buffer).catch(() => null),
  );
  assert(
    got === null || new TextDecoder().decode(buffer.subarray(0, got)).startsWith("\x15"),
    "no PONG in plaintext",
  );
  plain.close();
  for (const [request, answer] of [["PING\n", "PONG\n"], [resp("PING"), "+PONG\r\n"]]) {
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: server.port,
      caCerts: [TEST_CA],
    });
    try {
      await conn.write(new TextEncoder().encode(request));
      const n = await within("a TLS answer", conn.read(buffer));
      assertEquals(new TextDecoder().decode(buffer.subarray(0, n!)), answer);
    } finally {
      conn.close();
    }
  }
});

Deno.test("serve() over TLS logs a plaintext client once, in one line that says what to do, without its bytes", async () => {
  // Its user sees only a closed connection; the server's operator is the
  // one who can tell them, and a plaintext client's first line may be its AUTH.
  const logs = new LogCollector();
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    password: PASSWORD,
    log: logs.log,
  });
  const plain = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const peer = `127.0.0.1:${plain.localAddr.port}`;
  try {
    await plain.write(new TextEncoder().encode(`AUTH, ${PASSWORD}\n`));
    await within(
      "the server ends the plaintext connection",
      (async () => {
        const buffer = new Uint8Array(1024);
        while ((await plain.read(buffer).catch(() => null)) !== null);
      })(),
    );
  } finally {
    plain.close();
  }
  await within("the log line", logs.waitFor(/does not speak TLS/));
  const lines = logs.lines.filter((line) => line.message.includes(peer));
  assertEquals(lines.length, 1, JSON.stringify(logs.lines));
  assertEquals(lines[0]!.level, "info");
  assert(/connect with TLS/.test(lines[0]!.message), lines[0]!.message);
  assert(!logs.lines.some((line) => line.message.includes("s3cret")), "no password in the log");
  // The server goes on: a TLS client is answered.
  const client = await KvClient.connect({
    port: server.port,
    tls: { caCerts: [TEST_CA] },
    password: PASSWORD,
  });
  try {
    await client.ping();
  } finally {
    client.close();
  }
});

Deno.test("serve() over TLS answers a client that half-closes right after its requests", async () => {
  // TLS 1.3: the client's Finished, its requests and its FIN may all come
  // before the server's side of the handshake is done; the FIN then must
  // not cut the connection (PROTOCOL.md, Ends of lines).
  await using server = startTestServer({ tls: { cert: TEST_CERT, key: TEST_KEY } });
  for (let i = 0; i < 30; i++) {
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: server.port,
      caCerts: [TEST_CA],
    });
    try {
      await conn.write(new TextEncoder().encode(`PUT, k${i}, v${i}\nGET, k${i}\n`));
      await conn.closeWrite();
      const answer = await within("the answers, then the end", readAll(conn));
      assertEquals(answer, `Success!\nv${i}\n`, `connection ${i}`);
    } finally {
      conn.close();
    }
  }
});

Deno.test("serve() over TLS ends a connection whose client half-closes mid-handshake, at once", async () => {
  // The handshake fails on the end of the stream: no waiting for the timeout.
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    handshakeTimeoutMs: 60_000,
  });
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  // The first bytes of a ClientHello record: the rest never comes.
  await conn.write(Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]));
  await conn.closeWrite();
  // Perhaps an alert first, then the end (or a reset): within 5 s, not 60.
  const ended = (async () => {
    const buffer = new Uint8Array(64);
    while ((await conn.read(buffer).catch(() => null)) !== null);
  })();
  await within("the server's end", ended, 5_000);
});

Deno.test("serve() over TLS logs a client's broken TLS record as the client's doing, not as a failure", async () => {
  // One line at error level per connection would let anyone fill the log.
  const logs = new LogCollector();
  await using server = startTestServer({ tls: { cert: TEST_CERT, key: TEST_KEY }, log: logs.log });
  // Between a TLS client and the server, a relay that can slip bytes in.
  using relay = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connecting = Deno.connectTls({
    hostname: "127.0.0.1",
    port: relay.addr.port,
    caCerts: [TEST_CA],
  });
  using near = await relay.accept();
  using far = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const copy = async (from: Deno.Conn, to: Deno.Conn) => {
    const buffer = new Uint8Array(16 * 1024);
    try {
      for (let n = await from.read(buffer); n !== null; n = await from.read(buffer)) {
        await to.write(buffer.subarray(0, n));
      }
      await to.closeWrite();
    } catch { /* A side closed: the relay is done. */ }
  };
  const relaying = Promise.all([copy(near, far), copy(far, near)]);
  using client = await connecting;
  await client.write(new TextEncoder().encode("PING\n"));
  const pong = new Uint8Array(5);
  assertEquals(await client.read(pong), 5, "the handshake is done on both sides");
  // An application-data record that does not decrypt.
  await far.write(Uint8Array.from([0x17, 0x03, 0x03, 0x00, 0x20, ...new Uint8Array(32)]));
  const ended = (async () => {
    const buffer = new Uint8Array(64);
    while ((await client.read(buffer).catch(() => null)) !== null);
  })();
  await within("the server closes the connection", ended);
  far.close();
  near.close();
  await relaying;
  assertEquals(logs.lines.filter((line) => line.level === "error"), []);
});

Deno.test("serve() over TLS: --idle-timeout ends a silent client before its handshake too", async () => {
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    handshakeTimeoutMs: 60_000,
    idleTimeoutMs: 100,
  });
  using silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const read = await within(
    "the idle timeout, not the handshake's",
    silent.read(new Uint8Array(16)).catch(() => null),
    5_000,
  );
  assertEquals(read, null);
});

Deno.test("serve() over TLS lets a client still sending past the limit finish, so it reads the error", async () => {
  // The server half-closes and reads on: through the TLS pipe too, the
  // client gets the error and the end, not a reset.
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    maxLineBytes: 1024,
  });
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [TEST_CA],
  });
  try {
    const value = new Uint8Array(4 * 1024 * 1024).fill(0x76);
    const request = new Uint8Array([
      ...new TextEncoder().encode(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n`),
      ...value,
      13,
      10,
    ]);
    const sending = (async () => {
      for (let at = 0; at < request.length;) at += await conn.write(request.subarray(at));
      await conn.closeWrite();
    })();
    const [, answer] = await Promise.all([
      sending,
      within("the error, then the end", readAll(conn)),
    ]);
    assertEquals(
      answer,
      "-ERR Protocol error: invalid bulk length (limit 1024 bytes a request: --max-line-bytes)\r\n",
    );
  } finally {
    conn.close();
  }
});

Deno.test("serve() over TLS cuts a handshake that never finishes", async () => {
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    handshakeTimeoutMs: 100,
  });
  using silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  // Sends nothing: the server's timer, not this test, ends the connection.
  const read = await within(
    "the handshake timeout",
    silent.read(new Uint8Array(16)).catch(() => null),
  );
  assertEquals(read, null);
});

Deno.test("serve() over TLS: a stray connection to the loopback pipe is never paired with a client", async () => {
  const front = listenTls({ hostname: "127.0.0.1", port: 0, cert: TEST_CERT, key: TEST_KEY });
  await using server = serveListener(front, { log: () => {} });
  const port = (server.addr as Deno.NetAddr).port;
  // Another local program on the inner port: one that leaves, one that stays silent.
  (await Deno.connect({ hostname: "127.0.0.1", port: front.pipeAddr.port })).close();
  using stray = await Deno.connect({ hostname: "127.0.0.1", port: front.pipeAddr.port });
  const buffer = new Uint8Array(64);
  for (let i = 0; i < 3; i++) {
    using conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [TEST_CA] });
    await conn.write(new TextEncoder().encode("PING\n"));
    const n = await within(`client ${i} answered through its own pipe`, conn.read(buffer));
    assertEquals(new TextDecoder().decode(buffer.subarray(0, n!)), "PONG\n");
  }
  assert(stray.remoteAddr.port === front.pipeAddr.port);
});

/** PING over `conn` (TLS), expecting PONG. */
async function pingPong(conn: Deno.Conn, what: string): Promise<void> {
  const buffer = new Uint8Array(64);
  await conn.write(new TextEncoder().encode("PING\n"));
  const n = await within(what, conn.read(buffer));
  assertEquals(new TextDecoder().decode(buffer.subarray(0, n!)), "PONG\n");
}

Deno.test("serve() over TLS: a local program that floods the loopback pipe does not stop TLS clients", async () => {
  const front = listenTls({ hostname: "127.0.0.1", port: 0, cert: TEST_CERT, key: TEST_KEY });
  await using server = serveListener(front, { log: () => {} });
  const port = (server.addr as Deno.NetAddr).port;
  // More silent connections than the inner listener's accept queue holds (511).
  const strays = await within(
    "600 strays connected",
    Promise.all(
      Array.from(
        { length: 600 },
        () => Deno.connect({ hostname: "127.0.0.1", port: front.pipeAddr.port }),
      ),
    ),
  );
  try {
    using conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [TEST_CA] });
    await pingPong(conn, "a TLS client is answered during the flood");
  } finally {
    for (const stray of strays) stray.close();
  }
});

Deno.test("KvClient, kv bench and kv check reach a TLS server with a password", async () => {
  await using server = startTestServer({
    password: PASSWORD,
    tls: { cert: TEST_CERT, key: TEST_KEY },
  });
  await using client = await KvClient.connect({
    port: server.port,
    tls: { caCerts: [TEST_CA] },
    password: PASSWORD,
  });
  await client.put("over", "tls");
  assertEquals(await client.get("over"), "tls");
  await assertRejects(
    () => KvClient.connect({ port: server.port, tls: { caCerts: [TEST_CA] }, password: "nope" }),
    KvServerError,
    "wrong password",
  );
  await assertRejects(
    () => KvClient.connect({ port: server.port, password: PASSWORD }),
    KvConnectionError,
  );
  const fake = new FakeIo();
  const outcome = await runBench(
    {
      port: server.port,
      connections: 2,
      keys: 10,
      requests: 200,
      tls: { caCerts: [TEST_CA] },
      password: PASSWORD,
    },
    fake.io,
  );
  assertEquals(outcome, "ok", fake.stderr);
});

Deno.test("kv check speaks TLS with --tls-ca, and kv passes every rule over it", async () => {
  await using server = startTestServer({ tls: { cert: TEST_CERT, key: TEST_KEY } });
  const run = await runCheck({ port: server.port, level: "full", tls: { caCerts: [TEST_CA] } });
  assert(run.results.length > 0);
  assertEquals(run.results.filter((result) => result.status !== "pass"), []);
});
