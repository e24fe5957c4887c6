/**
 * Contract tests of QUIT over real sockets: Bye!, then the close, with no
 * later request run; and every answer before QUIT delivered to a client
 * still sending after it, over TCP and TLS (PROTOCOL.md, QUIT, Shutdown).
 */

import { assertEquals } from "@std/assert";
import { writeAll } from "../net/conn.ts";
import { ask, assertAlive, RawConn, startTestServer, within } from "../testing/mod.ts";
import { TEST_CA, TEST_CERT, TEST_KEY } from "../testing/tls.ts";

Deno.test("serve() answers QUIT with Bye!, closes, and runs no later request", async (t) => {
  await using server = startTestServer();
  await t.step("requests after QUIT in the same write are not answered or run", async () => {
    await using conn = await RawConn.connect(server.port);
    await conn.send("PUT, a, 1\nQUIT\nPUT, b, 2\nPING\n");
    assertEquals(await conn.readToEnd(), "Success!\nBye!\n");
    assertEquals(await ask(server.port, "GET, a"), "1");
    assertEquals(await ask(server.port, "GET, b"), "Not exist!");
  });
  for (const quit of ["quit\n", " QUIT \r\n", "\tQuIt"]) {
    await t.step(JSON.stringify(quit), async () => {
      await using conn = await RawConn.connect(server.port);
      await conn.send("PING\n" + quit);
      if (!quit.endsWith("\n")) await conn.closeWrite();
      assertEquals(await conn.readToEnd(), "PONG\nBye!\n");
    });
  }
  await assertAlive(server.port);
});

/**
 * Sends `head` (requests ending in QUIT) and 1 MiB more in one burst,
 * reading meanwhile, and returns what came back: the answers, then `<eof>`
 * or the error the read ended with.
 */
async function burstPastQuit(conn: Deno.Conn, head: string): Promise<string> {
  const start = new TextEncoder().encode(head);
  const burst = new Uint8Array(start.length + 1024 * 1024).fill(0x78);
  burst.set(start);
  // A write the server cuts short fails too; the reading side says how.
  const sending = writeAll(conn, burst).catch(() => {});
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(64 * 1024);
  let text = "";
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
    text += "<eof>";
  } catch (error) {
    text += `<${error instanceof Error ? error.name : error}>`;
  }
  await sending;
  return text;
}

Deno.test("serve() delivers every answer before QUIT to a client still sending after it, over TCP and TLS", async (t) => {
  // Closing a socket with the client's bytes unread resets the connection,
  // and the reset throws away the answers not yet delivered: a big one over
  // TCP, and any over TLS, whose pipe (server/tls_conn.ts) also lost the race
  // with the reset now and then. So after QUIT the server half-closes and
  // lingers, discarding the rest, as it does after an error that closes.
  const big = "v".repeat(512 * 1024);
  for (const tls of [false, true]) {
    await using server = startTestServer(tls ? { tls: { cert: TEST_CERT, key: TEST_KEY } } : {});
    const connect = () =>
      tls
        ? Deno.connectTls({ hostname: "127.0.0.1", port: server.port, caCerts: [TEST_CA] })
        : Deno.connect({ hostname: "127.0.0.1", port: server.port });
    for (const value of ["1", big]) {
      const cases: [string, string, string][] = [
        ["line", `PUT, a, ${value}\nGET, a\nQUIT\n`, `Success!\n${value}\nBye!\n<eof>`],
        [
          "RESP",
          `*3\r\n$3\r\nSET\r\n$1\r\na\r\n$${value.length}\r\n${value}\r\n` +
          "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n$4\r\nQUIT\r\n",
          `+OK\r\n$${value.length}\r\n${value}\r\n+OK\r\n<eof>`,
        ],
      ];
      for (const [protocol, head, want] of cases) {
        await t.step(
          `${tls ? "TLS" : "TCP"}, ${protocol}, a value of ${value.length} B`,
          async () => {
            for (let run = 0; run < 3; run++) {
              const conn = await connect();
              try {
                const got = await within("the answers, then the end", burstPastQuit(conn, head));
                // Compared by length and ends first: a 512 KiB diff says nothing.
                assertEquals(
                  [got.length, got.slice(0, 12), got.slice(-24)],
                  [want.length, want.slice(0, 12), want.slice(-24)],
                  `run ${run}`,
                );
                assertEquals(got, want);
              } finally {
                conn.close();
              }
            }
          },
        );
      }
    }
  }
});
