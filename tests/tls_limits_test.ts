/**
 * TLS clients refused past --max-connections (PROTOCOL.md, TLS and
 * Limits), over real sockets: the refusal within the handshake timeout,
 * --idle-timeout ending a silent one, and neither a silent nor a still
 * sending refused client holding the shutdown past its grace.
 */

import { assert, assertEquals } from "@std/assert";
import { LogCollector, readAll, send, startTestServer, within } from "../testing/mod.ts";
import { TEST_CA, TEST_CERT, TEST_KEY } from "../testing/tls.ts";

Deno.test("serve() over TLS refuses over --max-connections within the handshake timeout", async () => {
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    maxConnections: 1,
    handshakeTimeoutMs: 200,
  });
  const buffer = new Uint8Array(64);
  using admitted = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [TEST_CA],
  });
  await admitted.write(new TextEncoder().encode("PING\n"));
  assertEquals(await within("PONG", admitted.read(buffer)), 5);
  // A TLS client over the limit reads the refusal once its handshake is done.
  {
    using refused = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: server.port,
      caCerts: [TEST_CA],
    });
    let text = "";
    for (let n = await within("the refusal", refused.read(buffer)); n !== null;) {
      text += new TextDecoder().decode(buffer.subarray(0, n));
      n = await within("the end", refused.read(buffer).catch(() => null));
    }
    assertEquals(text, "Error: too many connections\n");
  }
  // One that never starts its handshake is cut by the timeout.
  using silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  assertEquals(
    await within("the timeout cuts it", silent.read(buffer).catch(() => null)),
    null,
  );
});

Deno.test("serve() over TLS: --idle-timeout ends a silent client over the limit too, not only the handshake timeout", async () => {
  // A refused client holds three descriptors (its socket and the pipe's two
  // ends) while the refusal waits for its handshake: no longer than an
  // admitted one that stays silent.
  const logs = new LogCollector();
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    maxConnections: 1,
    handshakeTimeoutMs: 60_000,
    idleTimeoutMs: 100,
    log: logs.log,
  });
  // The admitted client is never idle: it asks for 16 MB and reads none of
  // it, so the server waits to write (its slot stays taken).
  using admitted = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [TEST_CA],
  });
  const buffer = new Uint8Array(64);
  await send(admitted, `PUT, big, ${"v".repeat(1_000_000)}\n`);
  assertEquals(await within("Success!", admitted.read(buffer)), 9);
  await send(admitted, "GET, big\n".repeat(16));
  using silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await within("the refusal begins", logs.waitFor(/#2 refused/));
  const read = await within(
    "the idle timeout, not the handshake's",
    silent.read(buffer).catch(() => null),
    5_000,
  );
  assertEquals(read, null);
});

Deno.test("serve() over TLS: a silent client over the limit does not hold the shutdown past its grace", async () => {
  const logs = new LogCollector();
  const server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    maxConnections: 1,
    handshakeTimeoutMs: 3_600_000,
    shutdownGraceMs: 50,
    log: logs.log,
  });
  using admitted = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  using silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await within("the refusal begins", logs.waitFor(/#2 refused/));
  const cut = silent.read(new Uint8Array(16)).catch(() => null);
  const result = await within("shutdown", server.shutdown());
  assertEquals(await within("the silent client is cut", cut), null);
  assertEquals(
    result.connectionsCut,
    0,
    "stop() closed the admitted one: its handshake had not begun",
  );
  assert(admitted.localAddr.port > 0);
});

Deno.test("serve() over TLS: a refused client that goes on sending does not outlive the shutdown", async () => {
  // The refusal closed its TLS connection and the front let the line
  // drain; the refusal counted as over at the close, so the shutdown
  // neither waited for nor cut that drain: the socket stayed open up to 5 s
  // after finished had settled (timers and reads a test's sanitizers see).
  const server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    maxConnections: 1,
    shutdownGraceMs: 100,
  });
  using admitted = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [TEST_CA],
  });
  await admitted.write(new TextEncoder().encode("PING\n"));
  assertEquals(await within("PONG", admitted.read(new Uint8Array(64))), 5);
  using refused = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [TEST_CA],
  });
  assertEquals(await within("the refusal", readAll(refused)), "Error: too many connections\n");
  // It goes on sending, a little at a time (the front lingers while it does,
  // past the shutdown's grace), until the server cuts it.
  const sending = (async () => {
    try {
      while (true) {
        await refused.write(new Uint8Array(1024));
        await new Promise((resolve) => setTimeout(resolve, 20)); // A pace, not a wait for an event.
      }
    } catch {
      // Cut.
    }
  })();
  await within("shutdown", server.shutdown());
  await within("the refused client is cut with the shutdown", sending, 1_000);
});
