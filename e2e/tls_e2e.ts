/**
 * End-to-end: a TLS client that resets its socket (RST) after its handshake,
 * as one does that quits with bytes unread or sets `SO_LINGER` to 0. The
 * server must let go of the connection and its `--max-connections` slot,
 * as it does for plain TCP. The client is Python's `ssl` module, the one
 * client here that can reset a socket on cue (`SO_LINGER` 0); Deno's close
 * sends a FIN first.
 *
 * Runs Python, so it needs `--allow-net --allow-run=python3`, from
 * `.ci/run` (`deno test --allow-net` does not pick up `*_e2e.ts` files).
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { LogCollector, startTestServer, within } from "../testing/mod.ts";
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

Deno.test("serve() over TLS: a client that resets after its handshake frees its connection slot", async () => {
  const logs = new LogCollector();
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    maxConnections: 1,
    verbose: true,
    log: logs.log,
  });
  const python = new Deno.Command("python3", {
    args: ["-c", RESETTING_CLIENT, String(server.port)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = python.stdin.getWriter();
  await writer.write(new TextEncoder().encode(TEST_CA));
  await writer.close();
  const { code, stdout } = await within("the Python client", python.output());
  assertEquals([code, new TextDecoder().decode(stdout)], [0, "reset\n"]);
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
