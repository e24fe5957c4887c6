/**
 * Tests of the TLS front (server/tls.ts) on its own, over real sockets on
 * port 0: a TLS client, the public listener, the loopback pipe and the inner
 * TLS listener, with the server's side driven by hand.
 */

import { assert, assertEquals } from "@std/assert";
import { writeAll } from "../net/conn.ts";
import { within } from "../testing/mod.ts";
import { TEST_CA, TEST_CERT, TEST_KEY } from "../testing/tls.ts";
import { listenTls } from "./tls.ts";

/** Reads `conn` to its end: the bytes, then `<eof>` or the error it ended with. */
async function readToEnd(conn: Deno.Conn): Promise<{ bytes: number; end: string }> {
  const buffer = new Uint8Array(64 * 1024);
  let bytes = 0;
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) bytes += n;
    return { bytes, end: "<eof>" };
  } catch (error) {
    return { bytes, end: `<${error instanceof Error ? error.name : error}>` };
  }
}

Deno.test("TLS front: closing with the client's bytes unread still delivers every byte sent before", async () => {
  // The server closes its TLS side (at shutdown, say) while the client is
  // still sending. The inner socket then holds bytes it never read, so the
  // kernel resets the pipe; the pump copying the client's bytes in failed on
  // that reset and cut the public socket while the server's last megabytes
  // were still in the pipe: the client got a truncated stream and no
  // close_notify (every run). And once they were all handed over, closing the
  // public socket with the client still sending reset it too, throwing away
  // the part not yet delivered (1 run in 20).
  const front = listenTls({ hostname: "127.0.0.1", port: 0, cert: TEST_CERT, key: TEST_KEY });
  try {
    const port = (front.addr as Deno.NetAddr).port;
    const answer = new Uint8Array(4 * 1024 * 1024).fill(0x61);
    for (let run = 0; run < 3; run++) {
      const accepted = front.accept();
      const client = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [TEST_CA] });
      const server = await within("the accept", accepted);
      try {
        await within("the handshake", (server as Deno.TlsConn).handshake());
        // The client sends more than the sockets between it and the server
        // hold (the server reads none of it), and reads meanwhile.
        const sending = writeAll(client, new Uint8Array(16 * 1024 * 1024).fill(0x78))
          .catch(() => {});
        const reading = readToEnd(client);
        await writeAll(server, answer);
        server.close();
        const received = await within("every byte, then the end", reading);
        assertEquals(received, { bytes: answer.length, end: "<eof>" }, `run ${run}`);
        await sending;
        await within("the pipe lets go", (server as { finished?: Promise<void> }).finished!);
      } finally {
        client.close();
        server.close(); // Once only: a second close does nothing.
      }
    }
  } finally {
    front.close();
  }
});

Deno.test("TLS front: a client that never stops sending after the close is cut past 64 MiB", async () => {
  const front = listenTls({ hostname: "127.0.0.1", port: 0, cert: TEST_CERT, key: TEST_KEY });
  try {
    const port = (front.addr as Deno.NetAddr).port;
    const accepted = front.accept();
    const client = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [TEST_CA] });
    const server = await within("the accept", accepted);
    try {
      await within("the handshake", (server as Deno.TlsConn).handshake());
      const chunk = new Uint8Array(256 * 1024).fill(0x78);
      let sent = 0;
      const sending = (async () => {
        try {
          while (true) sent += await client.write(chunk);
        } catch {
          // Cut.
        }
      })();
      server.close();
      // It gets the end of the stream at once, and is cut once the server
      // has thrown away 64 MiB (DRAIN_MS, 5 s, would cut it too: not waited for).
      // The front counts TLS records, so the plaintext written by then can be a
      // little under 64 MiB (each 16 KiB record adds its header and tag): a run
      // under load once saw exactly 256 whole chunks, 64.0 MiB, written.
      assertEquals(await within("the end", readToEnd(client), 4_000), { bytes: 0, end: "<eof>" });
      await within("the cut", sending, 4_000);
      await within("the pipe lets go", (server as { finished?: Promise<void> }).finished!, 4_000);
      const mib = sent / 1024 / 1024;
      assert(mib > 63.5 && mib < 128, `cut after ${mib.toFixed(1)} MiB`);
    } finally {
      client.close();
      server.close();
    }
  } finally {
    front.close();
  }
});
