/**
 * redis-cli's modes and redis-benchmark's default run, against kv and
 * against Debian's Redis 7.0, as the README's "Redis clients" says of them.
 * The modes that work print against kv what they print against Redis
 * (`--pipe` of 100,000 SETs, `--scan --pattern`, `--bigkeys`' summary, `-x`,
 * `--raw`, `--csv`, `-3`, `-r`/`-i`, `--tls` with a password); those that
 * lean on what kv lacks end as the README's "What differs from Redis" says
 * (`--memkeys` warns for each key, `-n 1` goes on in database 0, `MONITOR`
 * and `SUBSCRIBE` get the unknown-command error and the tool ends,
 * `--rdb`/`--replica` stop at `REPLCONF`, redis-benchmark's default run
 * stops at `PING_INLINE`): a change to kv that changes one of them fails
 * here, so the README is told.
 *
 * Needs more than --allow-net, so `deno test --allow-net` does not pick it
 * up; `.ci/run` runs it (installing redis-tools if missing) with:
 *
 *     deno test --allow-net --allow-run=redis-server,redis-cli,redis-benchmark e2e/redis_cli_modes_e2e.ts
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { startTestServer } from "../testing/mod.ts";
import { TEST_CERT, TEST_KEY } from "../testing/tls.ts";
import { runTool, startRedis, type ToolRun } from "./redis.ts";

/** `count` SETs of `key:N` to `valueN`, in RESP: what `redis-cli --pipe` takes. */
function massInsert(count: number): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const key = `key:${i}`;
    const value = `value${i}`;
    parts.push(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`);
  }
  return parts.join("");
}

/** The lines from `--bigkeys`' (or `--memkeys`') summary on: the ones before come in scan order. */
function summary(run: ToolRun): string {
  const at = run.stdout.indexOf("-------- summary -------");
  assert(at !== -1, run.stdout + run.stderr);
  return run.stdout.slice(at);
}

Deno.test("redis-cli's modes print against kv what they print against Redis", async (t) => {
  await using server = startTestServer();
  const redis = await startRedis();
  const cli = (port: number, args: string[], stdin?: string | Uint8Array) =>
    runTool("redis-cli", ["-p", String(port), ...args], stdin);
  /** The same redis-cli run against kv, then against Redis. */
  const both = async (args: string[], stdin?: string | Uint8Array) => [
    await cli(server.port, args, stdin),
    await cli(redis.port, args, stdin),
  ];
  try {
    await t.step("--pipe: 100,000 SETs in RESP, every one answered", async () => {
      const [ours, theirs] = await both(["--pipe"], massInsert(100_000));
      assertEquals(ours, theirs);
      assertStringIncludes(ours!.stdout, "errors: 0, replies: 100000");
      assertEquals(
        await both(["DBSIZE"]),
        Array(2).fill({ code: 0, stdout: "100000\n", stderr: "" }),
      );
    });
    await t.step("--scan --pattern: the same keys (in another order)", async () => {
      const [ours, theirs] = await both(["--scan", "--pattern", "key:9999*"]);
      const sorted = (run: ToolRun) => run.stdout.split("\n").filter((key) => key !== "").sort();
      assertEquals(sorted(ours!), sorted(theirs!));
      assertEquals(sorted(ours!).length, 11); // key:9999 and key:99990 to key:99999
    });
    await t.step("--bigkeys: the same summary", async () => {
      // Values of different lengths: the biggest is one key, whatever the scan's order.
      const set = [
        "FLUSHALL\n",
        ...Array.from({ length: 50 }, (_, i) => `SET k${i} ${"x".repeat(i + 1)}\n`),
      ];
      await both([], set.join(""));
      const [ours, theirs] = await both(["--bigkeys"]);
      assertEquals(summary(ours!), summary(theirs!));
      assertStringIncludes(summary(ours!), "Biggest string found '\"k49\"' has 50 bytes");
      assertStringIncludes(summary(ours!), "50 strings with 1275 bytes");
    });
    await t.step("-x, --raw and --no-raw, --csv, -3, -r with -i", async () => {
      const value = new Uint8Array(300_000).map((_, i) => (i * 7919) % 256);
      assertEquals(await both(["-x", "SET", "blob"], value), Array(2).fill(ok("OK\n")));
      assertEquals(await both(["STRLEN", "blob"]), Array(2).fill(ok("300000\n")));
      await both(["SET", "text", "hello\nworld"]);
      for (
        const args of [
          ["--raw", "GET", "text"],
          ["--no-raw", "GET", "text"],
          ["--csv", "MGET", "text", "missing"],
          ["-3", "MGET", "text", "missing"],
          ["-3", "CONFIG", "GET", "appendonly"],
          ["-r", "5", "-i", "0.1", "INCR", "counter"],
        ]
      ) {
        const [ours, theirs] = await both(args);
        assertEquals(ours, theirs, args.join(" "));
      }
    });
  } finally {
    await redis.stop();
  }
});

/** A run that exited 0 and printed `stdout` only. */
function ok(stdout: string): ToolRun {
  return { code: 0, stdout, stderr: "" };
}

Deno.test("redis-cli's modes that need what kv lacks end as the README says", async (t) => {
  await using server = startTestServer();
  const port = String(server.port);
  const cli = (args: string[], stdin?: string) =>
    runTool("redis-cli", ["-p", port, ...args], stdin);
  await cli([], "SET a 1\nSET b 22\nSET c 333\n");
  await t.step("--memkeys: a warning for each key, and 0 bytes", async () => {
    const run = await cli(["--memkeys"]);
    assertEquals(run.code, 0, run.stderr);
    // On stderr, the summary on stdout.
    const warnings = run.stderr.split("\n").filter((line) => line.includes("MEMORY USAGE on"));
    assertEquals(warnings.length, 3, run.stderr);
    assertStringIncludes(warnings[0]!, "failed (may have changed type)");
    assertStringIncludes(summary(run), "3 strings with 0 bytes");
  });
  await t.step("-n 1: SELECT fails, and the command runs in database 0", async () => {
    const expected = {
      code: 0,
      stdout: "3\n",
      stderr: "SELECT 1 failed: ERR DB index is out of range\n",
    };
    assertEquals(await cli(["-n", "1", "DBSIZE"]), expected);
    // redis-cli's own doing: a Redis with one database gets the same.
    const redis = await startRedis(["--databases", "1"]);
    try {
      await runTool("redis-cli", ["-p", String(redis.port)], "SET a 1\nSET b 22\nSET c 333\n");
      assertEquals(
        await runTool("redis-cli", ["-p", String(redis.port), "-n", "1", "DBSIZE"]),
        expected,
      );
    } finally {
      await redis.stop();
    }
  });
  await t.step("MONITOR and SUBSCRIBE: the unknown-command error, and redis-cli ends", async () => {
    for (const args of [["MONITOR"], ["SUBSCRIBE", "news"]]) {
      const run = await cli(args, "");
      assertEquals(run.code, 0, run.stderr);
      assertStringIncludes(run.stdout, `ERR unknown command '${args[0]}'`);
    }
  });
  await t.step("--rdb and --replica: stop at REPLCONF, status 1", async () => {
    for (const args of [["--rdb", "/dev/null"], ["--replica"]]) {
      const run = await cli(args);
      assertEquals(run.code, 1, run.stdout + run.stderr);
      assertStringIncludes(run.stdout + run.stderr, "ERR unknown command 'REPLCONF'");
    }
  });
  await t.step("redis-benchmark's default run: stops at PING_INLINE, status 1", async () => {
    const run = await runTool("redis-benchmark", ["-p", port, "-q", "-n", "10"]);
    assertEquals(run.code, 1, run.stdout + run.stderr);
    assertStringIncludes(run.stderr, `Error: Protocol error, got "P" as reply type byte`);
  });
  await t.step("redis-benchmark: the tests kv has, in CSV, without an error", async () => {
    const tests = ["PING_MBULK", "SET", "GET", "INCR", "MSET"];
    const run = await runTool("redis-benchmark", [
      ...["-p", port, "-n", "2000", "-P", "16", "--csv"],
      ...["-t", tests.join(",").toLowerCase()],
    ]);
    assertEquals(run.code, 0, run.stderr);
    const names = run.stdout.split("\n").slice(1).filter((line) => line !== "")
      .map((line) => line.split(",")[0]);
    assertEquals(names, tests.map((test) => `"${test}${test === "MSET" ? " (10 keys)" : ""}"`));
  });
});

Deno.test("redis-cli over kv's TLS, with its password", async () => {
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    password: "s3cret",
  });
  const tls = ["-p", String(server.port), "--tls", "--insecure"];
  assertEquals(
    await runTool("redis-cli", [...tls, "-a", "s3cret", "--no-auth-warning", "SET", "k", "v"]),
    ok("OK\n"),
  );
  assertEquals(
    await runTool("redis-cli", [...tls, "--user", "default", "--pass", "s3cret", "GET", "k"]),
    // redis-cli warns of a password on the command line on stderr.
    {
      code: 0,
      stdout: "v\n",
      stderr:
        "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.\n",
    },
  );
  assertEquals(
    await runTool("redis-cli", [...tls, "GET", "k"]),
    ok("NOAUTH Authentication required.\n\n"),
  );
});
