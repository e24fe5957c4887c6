/**
 * End-to-end: what `kv serve --trace` shows when a client process is killed
 * with `kill -9` (SIGKILL). The kernel then closes the client's socket for
 * it: with an answer left unread in the socket, that close is a reset (RST),
 * which the trace tells apart from the normal end of the stream (FIN) of a
 * client killed with nothing unread.
 *
 * Needs a process to kill, so it runs with `--allow-net --allow-run`, from
 * `.ci/run` (`deno test --allow-net` does not pick up `*_e2e.ts` files).
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { startTestServer, TraceCollector, within } from "../testing/mod.ts";

/**
 * Starts a Deno process that connects to `port`, sends PING, reads `read`
 * bytes of the answer (leaving the rest unread), says "ready", and waits to
 * be killed.
 */
async function startClient(port: number, read: number): Promise<Client> {
  const code = `
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: ${port} });
    await conn.write(new TextEncoder().encode("PING\\n"));
    let got = 0;
    while (got < ${read}) got += await conn.read(new Uint8Array(${read} - got));
    console.log("ready");
    setInterval(() => {}, 1000);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { value } = await within("the client is ready", reader.read());
  assertEquals(value, "ready\n");
  return { child, reader };
}

/** A client process, and the reader of its stdout. */
interface Client {
  child: Deno.ChildProcess;
  reader: ReadableStreamDefaultReader<string>;
}

/** `kill -9`: SIGKILL, which the process cannot catch; its sockets are closed by the kernel. */
async function kill({ child, reader }: Client): Promise<void> {
  child.kill("SIGKILL");
  await child.status;
  await reader.cancel();
}

Deno.test("serve() traces kill -9 of a client: a reset with an answer unread, a FIN without", async (t) => {
  const cases = [
    { name: "1 of 5 bytes read: the kernel resets the connection", read: 1, end: "reset" },
    { name: "all 5 bytes read: the kernel closes it normally", read: 5, end: "eof" },
  ];
  for (const { name, read, end } of cases) {
    await t.step(name, async () => {
      const traced = new TraceCollector();
      await using server = startTestServer({ trace: traced.trace });
      await kill(await startClient(server.port, read));
      await within("close", traced.waitFor("#1", "close"));
      assertEquals(traced.of("#1"), [
        ...["accept", "recv", "request", "answer", "send", end, "close"],
      ]);
      assertEquals(traced.details("#1", "close"), [
        `(after the peer's ${end === "reset" ? "RST" : "FIN"})`,
      ]);
    });
  }
});
