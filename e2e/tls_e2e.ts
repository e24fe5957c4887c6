/**
 * End-to-end: a TLS client that resets its socket (RST) after its handshake,
 * as one does that quits with bytes unread or sets `SO_LINGER` to 0. The
 * server must let go of the connection and its `--max-connections` slot,
 * as it does for plain TCP. The client is Python's `ssl` module, the one
 * client here that can reset a socket on cue (`SO_LINGER` 0); Deno's close
 * sends a FIN first. And a TLS client that ends with a FIN and no TLS
 * close_notify before it, as redis-cli and Python do: `--trace` shows its
 * end (`eof`), not rustls's error.
 *
 * Runs Python, so it needs `--allow-net --allow-run=python3`, from
 * `.ci/run` (`deno test --allow-net` does not pick up `*_e2e.ts` files).
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { LogCollector, startTestServer, TraceCollector, within } from "../testing/mod.ts";
import { TEST_CA, TEST_CERT, TEST_KEY } from "../testing/tls.ts";

// Handshake, one PING, then close with SO_LINGER 0: a reset, with no FIN before it.
const RESETTING_CLIENT = `
import socket, ssl, struct, sys
ctx = ssl.create_default_context(cadata=sys.stdin.read())
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as raw:
    conn = ctx.wrap_socket(raw, server_hostname="localhost")
    conn.sendall(b"PING\\n")
    assert conn.recv(64) == b"PONG\\n"
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
print("reset")
`;

// Handshake, one PING, then close the socket with no TLS close_notify first (as redis-cli does).
const PLAIN_CLOSING_CLIENT = `
import os, socket, ssl, sys
ctx = ssl.create_default_context(cadata=sys.stdin.read())
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
conn = ctx.wrap_socket(raw, server_hostname="localhost")
conn.sendall(b"PING\\n")
assert conn.recv(64) == b"PONG\\n"
os.close(conn.detach())  # the descriptor closed under TLS: a FIN, no close_notify
print("closed")
`;

/** Runs a Python TLS client `script` against `port`, trusting the test CA; its output (it must exit 0). */
async function runClient(script: string, port: number): Promise<string> {
  const python = new Deno.Command("python3", {
    args: ["-c", script, String(port)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = python.stdin.getWriter();
  await writer.write(new TextEncoder().encode(TEST_CA));
  await writer.close();
  const { code, stdout } = await within("the Python client", python.output());
  assertEquals(code, 0, "the Python client's exit status");
  return new TextDecoder().decode(stdout);
}

Deno.test("serve() --trace over TLS: a client's FIN without close_notify is traced as its end, not an error", async () => {
  const traced = new TraceCollector();
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    trace: traced.trace,
  });
  assertEquals(await runClient(PLAIN_CLOSING_CLIENT, server.port), "closed\n");
  await within("close", traced.waitFor("#1", "close"));
  assertEquals(traced.of("#1"), ["accept", "recv", "request", "answer", "send", "eof", "close"]);
  assertEquals(traced.details("#1", "eof"), [
    "(the peer sent FIN without TLS's close_notify, as most clients end: it will send nothing more)",
  ]);
  assertEquals(traced.details("#1", "close"), ["(after the peer's FIN)"]);
});

Deno.test("serve() over TLS: a client that resets after its handshake frees its connection slot", async () => {
  const logs = new LogCollector();
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    maxConnections: 1,
    verbose: true,
    log: logs.log,
  });
  assertEquals(await runClient(RESETTING_CLIENT, server.port), "reset\n");
  await within("the server lets go of the reset connection", logs.waitFor(/#1 closed/));
  // Its slot is free: the next client is answered, not told "too many connections".
  using next = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [TEST_CA],
  });
  const buffer = new Uint8Array(64);
  await next.write(new TextEncoder().encode("PING\n"));
  const n = await within("the next client's PONG", next.read(buffer));
  assertEquals(new TextDecoder().decode(buffer.subarray(0, n!)), "PONG\n");
});
