/**
 * Redis's own tools against kv: redis-cli (the commands it sends on its
 * own at connect time too) and redis-benchmark (SET and GET, pipelined)
 * run against an in-process kv without an error.
 *
 * Needs more than --allow-net, so `deno test --allow-net` does not pick it
 * up; `.ci/run` runs it (installing redis-tools if missing) with:
 *
 *     deno test --allow-net --allow-run=redis-server,redis-cli,redis-benchmark e2e/redis_cli_e2e.ts
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { startTestServer } from "../testing/mod.ts";

const encoder = new TextEncoder();

async function run(command: string, args: string[], stdin?: string) {
  const child = new Deno.Command(command, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

Deno.test("redis-cli and redis-benchmark work against kv without an error", async (t) => {
  await using server = startTestServer();
  const port = String(server.port);
  await t.step("redis-cli: commands, and what it asks on its own at connect time", async () => {
    const cli = await run(
      "redis-cli",
      ["-p", port],
      "PING\nSET greeting hello\nGET greeting\nTTL greeting\nDBSIZE\n",
    );
    assertEquals(cli.stderr, "");
    assertEquals(cli.stdout, "PONG\nOK\nhello\n-1\n1\n");
    const info = await run("redis-cli", ["-p", port, "INFO", "server"]);
    assertStringIncludes(info.stdout, "redis_version:");
    const resp3 = await run("redis-cli", ["-3", "-p", port, "GET", "nothing"]);
    assertEquals([resp3.code, resp3.stdout, resp3.stderr], [0, "\n", ""]);
  });
  await t.step("redis-benchmark: SET and GET, pipelined, every request answered", async () => {
    const bench = await run("redis-benchmark", [
      "-p",
      port,
      "-t",
      "set,get",
      "-n",
      "20000",
      "-P",
      "16",
      "-c",
      "10",
      "-q",
    ]);
    assertEquals(bench.code, 0, bench.stderr);
    assert(!/error/i.test(bench.stdout + bench.stderr), bench.stdout + bench.stderr);
    assertStringIncludes(bench.stdout, "SET: ");
    assertStringIncludes(bench.stdout, "GET: ");
  });
});
