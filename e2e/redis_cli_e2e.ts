/**
 * Redis's own tools against kv: redis-cli (the commands it sends on its
 * own at connect time too, and the help it builds from COMMAND DOCS) and
 * redis-benchmark (SET and GET, pipelined) run against an in-process kv
 * without an error.
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
import { RespConn, runTool as run, startRedis } from "./redis.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const words = (...texts: string[]) => texts.map((text) => encoder.encode(text));

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
  await t.step("redis-cli: help and hints show each command's arguments", async () => {
    // redis-cli 7 builds both from COMMAND DOCS; without `arguments` it showed `SET` alone.
    const help = await run("redis-cli", ["-p", port, "help", "set"]);
    assertEquals(help.code, 0, help.stderr);
    assertStringIncludes(help.stdout, "key value [NX|XX] [GET] [EX seconds|PX milliseconds");
    const client = await run("redis-cli", ["-p", port, "help", "client", "id"]);
    assertStringIncludes(client.stdout, "Returns the client ID for the current connection");
  });
  await t.step("COMMAND DOCS answers as Redis 7's, byte for byte, RESP2 and RESP3", async () => {
    // CLIENT, COMMAND and CONFIG list only the subcommands kv has: left out.
    const containers = ["client", "command", "config"];
    const redis = await startRedis();
    const ours = await RespConn.open(server.port);
    const theirs = await RespConn.open(redis.port);
    try {
      const list = decoder.decode(await ours.call(words("COMMAND", "LIST")));
      const names = list.split("\r\n").filter((line, i) => i > 0 && i % 2 === 0 && line !== "");
      assert(names.length > 50, list);
      for (const hello of ["2", "3"]) {
        await ours.call(words("HELLO", hello));
        await theirs.call(words("HELLO", hello));
        for (const name of names.filter((name) => !containers.includes(name))) {
          const docs = words("COMMAND", "DOCS", name);
          assertEquals(
            decoder.decode(await ours.call(docs)),
            decoder.decode(await theirs.call(docs)),
            `RESP${hello} ${name}`,
          );
        }
      }
    } finally {
      ours.close();
      theirs.close();
      await redis.stop();
    }
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
