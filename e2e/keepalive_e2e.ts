/**
 * End-to-end: the server turns TCP keepalive on for every client, over
 * plain TCP and over TLS (on the public socket), so a peer that vanished
 * without a word (a laptop shut, a NAT that forgot the flow) is found and
 * its connection ended, not held until the server stops. The kernel shows a
 * socket's keepalive timer in /proc/net/tcp (timer 2), which is what the
 * test reads (with Python: Deno reads /proc/net only with --allow-all), so
 * it needs `--allow-net --allow-run=python3`, from `.ci/run`.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { RawConn, startTestServer } from "../testing/mod.ts";
import { TEST_CA, TEST_CERT, TEST_KEY } from "../testing/tls.ts";

const KEEPALIVE = "02"; // /proc/net/tcp's "tr" column: the keepalive timer runs
const NO_TIMER = "00";

/** The timer of the IPv4 socket from 127.0.0.1:`local` to 127.0.0.1:`remote`. */
async function timerOf(local: number, remote: number): Promise<string> {
  const address = (port: number) => `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  // Deno reads /proc/net only with --allow-all: Python reads it for the test.
  const cat = new Deno.Command("python3", {
    args: ["-c", "print(open('/proc/net/tcp').read())"],
    stdout: "piped",
  });
  const table = new TextDecoder().decode((await cat.output()).stdout);
  for (const line of table.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === address(local) && fields[2] === address(remote)) {
      return fields[5]!.split(":")[0]!;
    }
  }
  throw new Error(`no socket from ${local} to ${remote}`);
}

Deno.test("the server keeps TCP keepalive on for a plain TCP client (the client's own socket shows the difference)", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  await conn.send("PING\n");
  assertEquals(await conn.readLine(), "PONG");
  const client = (conn.conn.localAddr as Deno.NetAddr).port;
  assertEquals(await timerOf(server.port, client), KEEPALIVE, "the server's side");
  assertEquals(await timerOf(client, server.port), NO_TIMER, "Deno.connect's side: none");
});

Deno.test("the server keeps TCP keepalive on for a TLS client, on the socket the client reaches", async () => {
  await using server = startTestServer({ tls: { cert: TEST_CERT, key: TEST_KEY } });
  using conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [TEST_CA],
  });
  await conn.write(new TextEncoder().encode("PING\n"));
  const answer = new Uint8Array(16);
  assertEquals(new TextDecoder().decode(answer.subarray(0, (await conn.read(answer))!)), "PONG\n");
  assertEquals(await timerOf(server.port, conn.localAddr.port), KEEPALIVE);
});
