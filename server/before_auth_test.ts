/**
 * Tests of {@linkcode WritesBeforeAuth} over a real socket on port 0: a stop
 * of this process is not the client's failure to read its answers.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { stallUntil } from "../testing/mod.ts";
import { WritesBeforeAuth } from "./before_auth.ts";

const ALLOWED_MS = 300;
// Far more than the sockets of both ends hold: the write waits for the client's reads.
const ANSWERS = new Uint8Array(16 * 2 ** 20);

/** Reads `n` bytes from `conn`. */
async function readBytes(conn: Deno.Conn, n: number): Promise<void> {
  const buffer = new Uint8Array(2 ** 16);
  for (let got = 0; got < n;) {
    const read = await conn.read(buffer);
    if (read === null) throw new Error("the server's side closed");
    got += read;
  }
}

Deno.test("WritesBeforeAuth: a stop of this process past the budget neither cuts the client nor uses up its budget", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using server = await listener.accept();
  const writes = new WritesBeforeAuth(ALLOWED_MS);
  // The write waits for the client, which reads only 10 ms after a stop
  // of the whole process (a loaded machine, a SIGSTOP in life) four times
  // the budget: the timer is due at the resume, with the write still pending.
  const first = writes.write(server, ANSWERS);
  stallUntil(Date.now() + 4 * ALLOWED_MS);
  await new Promise((resolve) => setTimeout(resolve, 10));
  await readBytes(client, ANSWERS.length);
  assertEquals(await first, true, "cut for the time it was stopped");
  // The stop did not count as the client's wait: the next write that waits
  // for it has the budget's time again, not a millisecond.
  const second = writes.write(server, ANSWERS);
  await readBytes(client, ANSWERS.length);
  assertEquals(await second, true, "the stop was counted against the client's budget");
});
