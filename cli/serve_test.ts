/**
 * Tests of `kv serve`, run in-process through `main(args, io)` with a fake
 * stdin/stdout/stderr on port 0: its listening line, --quiet and
 * --verbose, its limits, and exit 1 when it cannot listen.
 *
 * @module
 */

import { assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { KvClient } from "../client/client.ts";
import { main } from "../main.ts";
import { FakeIo, runClient, startTestServer } from "../testing/mod.ts";

// ---------------------------------------------------------------------------
// kv serve

/**
 * Runs `kv serve --port 0 ...args` in-process until `stop()` (or the end of
 * the scope) aborts its signal; resolves once it prints its listening line.
 */
async function startServe(args: string[]) {
  const abort = new AbortController();
  const fake = new FakeIo({ signal: abort.signal });
  const exit = main(["serve", "--port", "0", ...args], fake.io);
  const first = await Promise.race([
    fake.waitForStdout(/^listening on 127\.0\.0\.1:(\d+)\n/),
    exit,
  ]);
  if (typeof first === "number") {
    throw new Error(`kv serve exited with ${first} before listening: ${fake.stderr}`);
  }
  const stop = async (): Promise<number> => {
    abort.abort();
    return await exit;
  };
  return {
    port: Number(first[1]),
    fake,
    stop,
    async [Symbol.asyncDispose](): Promise<void> {
      await stop();
    },
  };
}

Deno.test("main() serve prints the real port, answers clients and exits 0 on abort", async () => {
  await using serve = await startServe([]);
  const { port, fake } = serve;
  {
    await using kv = await KvClient.connect({ port });
    await kv.put("이름", "윤영준");
    assertEquals(await kv.get("이름"), "윤영준");
  }
  assertEquals(
    await runClient(port, [], { stdin: "GET, 이름\n" }),
    { code: 0, stdout: "윤영준\n", stderr: "" },
  );
  assertEquals(await serve.stop(), 0);
  assertEquals(fake.stdout, `listening on 127.0.0.1:${port}\n`, "stdout holds only that line");
  assertStringIncludes(fake.stderr, "stopped");
});

Deno.test("main() serve --quiet logs nothing and --verbose logs each request", async (t) => {
  for (
    const [flag, check] of [
      ["--quiet", (stderr: string) => assertEquals(stderr, "")],
      ["-q", (stderr: string) => assertEquals(stderr, "")],
      ["--verbose", (stderr: string) => assertStringIncludes(stderr, '"PING" -> "PONG"')],
      ["-v", (stderr: string) => {
        assertStringIncludes(stderr, '"PING" -> "PONG"');
        // Every log line is stamped with the full UTC time in ISO 8601.
        for (const line of stderr.trimEnd().split("\n")) {
          assertMatch(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S/);
        }
      }],
    ] as const
  ) {
    await t.step(flag, async () => {
      await using serve = await startServe([flag]);
      assertEquals((await runClient(serve.port, ["PING"])).stdout, "PONG\n");
      assertEquals(await serve.stop(), 0);
      check(serve.fake.stderr);
    });
  }
});

Deno.test("main() serve passes its limits to the server", async () => {
  await using serve = await startServe(["--max-line-bytes", "8", "--max-connections", "1"]);
  {
    await using kv = await KvClient.connect({ port: serve.port });
    assertEquals(await kv.request("GET, 123456"), ["Error: line too long (limit 8 bytes)"]);
    assertEquals(await kv.request("GET, 1"), ["Not exist!"]);
    // The one connection allowed is taken.
    assertEquals(await runClient(serve.port, ["PING"]), {
      code: 1,
      stdout: "Error: too many connections\n",
      stderr: "",
    });
  }
  assertEquals(await serve.stop(), 0);
});

Deno.test("main() serve exits 1 naming the address when the port is in use", async () => {
  await using server = startTestServer();
  const fake = new FakeIo();
  const code = await main(["serve", "--port", String(server.port)], fake.io);
  assertEquals(code, 1);
  assertEquals(fake.stdout, "");
  assertEquals(
    fake.stderr,
    `kv: cannot listen on 127.0.0.1:${server.port}: address already in use (is another server running? try --port 0)\n`,
  );
  await using kv = await KvClient.connect({ port: server.port });
  await kv.ping(); // The server already there is unharmed.
});

Deno.test("main() serve --udp says UDP when only the UDP port is taken", async () => {
  // Another program (a student's UDP server) holds the UDP port; TCP's is free (a UDP port whose
  // TCP twin some other socket holds by chance is traded for another).
  let other = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  for (let tries = 0; tries < 20; tries++) {
    try {
      Deno.listen({ hostname: "127.0.0.1", port: (other.addr as Deno.NetAddr).port }).close();
      break;
    } catch {
      other.close();
      other = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    }
  }
  try {
    const port = (other.addr as Deno.NetAddr).port;
    const fake = new FakeIo();
    const code = await main(["serve", "--udp", "--port", String(port)], fake.io);
    assertEquals([code, fake.stdout], [1, ""]);
    assertEquals(
      fake.stderr,
      `kv: cannot listen for UDP datagrams on 127.0.0.1:${port}: address already in use (is another server running? try --port 0)\n`,
    );
  } finally {
    other.close();
  }
});

Deno.test("main() serve exits 1 for an address that is not on this machine", async () => {
  const fake = new FakeIo();
  const code = await main(["serve", "--host", "192.0.2.1", "--port", "0", "--no-auth"], fake.io);
  assertEquals(code, 1);
  assertEquals(fake.stdout, "");
  assertMatch(fake.stderr, /^kv: cannot listen on 192\.0\.2\.1:0: [^\n]+\n$/);
});
