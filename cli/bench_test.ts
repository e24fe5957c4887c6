/**
 * Tests of `kv bench`, run in-process through `main(["bench", ...], io)` over
 * real sockets on port 0: against the real server (clean runs, the report,
 * `--json`, the progress line, a password), against a server that ends its
 * answers with \r\n, and its usage errors. Servers that answer wrongly,
 * close early or never answer are in bench_faults_test.ts.
 *
 * @module
 */

import {
  assert,
  assertEquals,
  assertGreater,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { main } from "../main.ts";
import { MemoryStore } from "../store/memory.ts";
import { TextStore } from "../store/text.ts";
import { closedPort, FakeIo, scriptedServer, startTestServer } from "../testing/mod.ts";

const encoder = new TextEncoder();
const CLEAR_LINE = "\x1b[K";

async function bench(
  port: number,
  args: string[],
  stderrIsTerminal = false,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const fake = new FakeIo({ stderrIsTerminal });
  const code = await main(["bench", "--port", String(port), ...args], fake.io);
  return { code, stdout: fake.stdout, stderr: fake.stderr };
}

const JSON_FIELDS = [
  "host",
  "port",
  "connections",
  "pipeline",
  "requests",
  "seconds",
  "ops_per_s",
  "errors",
  "get_ratio",
  "keys",
  "value_bytes",
  "latency_us",
];

Deno.test("kv bench: a short run against the server prints the report, 0 errors, exit 0", async () => {
  const store = new TextStore(new MemoryStore());
  await using server = startTestServer({ store: store.store });
  const { code, stdout, stderr } = await bench(server.port, [
    "-n",
    "3000",
    "-c",
    "4",
    "-P",
    "8",
    "-k",
    "100",
  ]);
  assertEquals(stderr, "");
  assertEquals(code, 0, stdout);
  const lines = stdout.split("\n");
  assertEquals(
    lines[0],
    `kv bench 127.0.0.1:${server.port}: 4 connections, pipeline 8, 50% GET, 100 keys, ` +
      "16-byte values, seed 1",
  );
  assertMatch(lines[1]!, /^preload: 100 keys in \d+\.\d{3} s$/);
  assertMatch(lines[2]!, /^requests: 3000 in \d+\.\d{3} s, errors: 0$/);
  assertMatch(lines[3]!, /^throughput: \d+ ops\/s$/);
  assertMatch(
    lines[4]!,
    /^latency \(us\): p50 [\d.]+ {2}p90 [\d.]+ {2}p99 [\d.]+ {2}p99\.9 [\d.]+ {2}max [\d.]+$/,
  );
  // The preload PUT every key; every value is 16 bytes and ends in its key.
  assertEquals(store.size, 100);
  for (const [key, value] of store.entries()) {
    assertMatch(key, /^key:\d+$/);
    assertEquals(value.length, 16);
    assert(value.endsWith(`.${key.slice(4)}`), `${key} = ${value}`);
  }
});

Deno.test("kv bench --json prints exactly one JSON object with every field", async () => {
  await using server = startTestServer();
  const { code, stdout, stderr } = await bench(server.port, [
    "--json",
    "-n",
    "2000",
    "-c",
    "3",
    "-r",
    "0.9",
    "-k",
    "30",
    "--value-bytes",
    "40",
  ]);
  assertEquals(stderr, "");
  assertEquals(code, 0, stdout);
  assert(stdout.endsWith("}\n") && stdout.indexOf("\n") === stdout.length - 1, stdout);
  const report = JSON.parse(stdout);
  assertEquals(Object.keys(report), JSON_FIELDS);
  assertEquals(
    { ...report, seconds: 0, ops_per_s: 0, latency_us: {} },
    {
      host: "127.0.0.1",
      port: server.port,
      connections: 3,
      pipeline: 1,
      requests: 2000,
      seconds: 0,
      ops_per_s: 0,
      errors: 0,
      get_ratio: 0.9,
      keys: 30,
      value_bytes: 40,
      latency_us: {},
    },
  );
  assertGreater(report.seconds, 0);
  assertGreater(report.ops_per_s, 0);
  const { p50, p90, p99, p999, max } = report.latency_us;
  assertEquals(Object.keys(report.latency_us), ["p50", "p90", "p99", "p999", "max"]);
  assertGreater(p50, 0);
  assert(p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max, JSON.stringify(report));
});

Deno.test("kv bench checks values of every size and deep pipelines with 0 errors", async (t) => {
  await using server = startTestServer();
  const cases = [
    ["--value-bytes", "1", "-c", "4", "-k", "20"],
    ["--value-bytes", "3", "-k", "2000"],
    ["--value-bytes", "5000", "-c", "2", "-P", "4"],
    ["-P", "200", "-c", "2", "-k", "10"],
    ["-r", "0", "-c", "1"],
    ["-r", "1", "-c", "1"],
  ];
  for (const args of cases) {
    await t.step(args.join(" "), async () => {
      const { code, stdout, stderr } = await bench(server.port, ["--json", "-n", "1500", ...args]);
      assertEquals(stderr, "");
      assertEquals(code, 0, stdout);
      assertEquals(JSON.parse(stdout).errors, 0);
      assertEquals(JSON.parse(stdout).requests, 1500);
    });
  }
});

Deno.test("kv bench --seed fixes the request mix (one connection, so no timing)", async () => {
  const contents: string[] = [];
  for (const seed of ["7", "7", "8"]) {
    const store = new TextStore(new MemoryStore());
    await using server = startTestServer({ store: store.store });
    const { code } = await bench(server.port, ["-c", "1", "-n", "400", "-k", "50", "--seed", seed]);
    assertEquals(code, 0);
    contents.push(JSON.stringify([...store.entries()].sort()));
  }
  assertEquals(contents[0], contents[1]);
  assert(contents[0] !== contents[2], "another seed, another mix");
});

Deno.test("kv bench -d runs for a duration and draws progress only on a terminal", async () => {
  await using server = startTestServer();
  const quiet = await bench(server.port, ["-d", "0.3", "-c", "2"]);
  assertEquals(quiet.code, 0, quiet.stdout);
  assertEquals(quiet.stderr, "");
  const seconds = Number(
    quiet.stdout.match(/requests: [1-9]\d* in (\d+\.\d{3}) s, errors: 0/)?.[1],
  );
  assert(seconds >= 0.3, quiet.stdout);

  const live = await bench(server.port, ["-d", "0.7", "-c", "2"], true);
  assertEquals(live.code, 0, live.stdout);
  // Each frame is "\r", the line, then "ESC [K" to erase what a longer line left.
  const frames = live.stderr.split("\r");
  assertEquals(frames[0], "", "every frame starts with \\r");
  assert(frames.every((frame) => !frame.includes("\n")), "redrawn, never scrolled");
  assert(
    frames.some((frame) => /^kv bench: 0\.\d s, \d+ ops\/s$/.test(frame.replace(CLEAR_LINE, ""))),
    JSON.stringify(live.stderr),
  );
  assertEquals(frames.at(-1), CLEAR_LINE, "the line is cleared at the end");
});

Deno.test("kv bench cannot connect: one line naming the address, exit 2", async () => {
  const port = closedPort();
  const { code, stdout, stderr } = await bench(port, ["-n", "10"]);
  assertEquals(code, 2);
  assertEquals(stdout, "");
  assertEquals(
    stderr,
    `kv: cannot connect to 127.0.0.1:${port}: connection refused (is the server running, on that port?)\n`,
  );
});

Deno.test("kv bench rejects a bad command line with exit 2, before connecting", async () => {
  const port = closedPort();
  const cases: [string[], string][] = [
    [["-k", "3", "-c", "4"], "cannot use --keys 3 with --connections 4: "],
    [["-c", "0"], 'cannot use --connections "0": expected an integer from 1 to 10000'],
    [["-P", "x"], 'cannot use --pipeline "x": expected an integer from 1 to 4096'],
    [["-P", "5000"], 'cannot use --pipeline "5000": expected an integer from 1 to 4096'],
    [["-n", "0"], 'cannot use --requests "0": expected an integer of at least 1'],
    [["-n", "1e3"], 'cannot use --requests "1e3": expected an integer of at least 1'],
    [["-d", "0"], 'cannot use --duration "0": expected seconds above 0'],
    [["-d", "1m"], 'cannot use --duration "1m": expected seconds above 0'],
    [["-n", "5", "-d", "1"], "cannot use --requests with --duration"],
    [["-r", "1.5"], 'cannot use --get-ratio "1.5": expected a number from 0 to 1'],
    [["-r", "half"], 'cannot use --get-ratio "half": expected a number from 0 to 1'],
    [["--value-bytes", "0"], 'cannot use --value-bytes "0": expected an integer from 1 to 1000000'],
    [
      ["--seed", "4294967296"],
      'cannot use --seed "4294967296": expected an integer from 0 to 4294967295',
    ],
    [["--port", "0"], 'cannot use --port "0": expected an integer from 1 to 65535'],
    [["--host"], "option --host needs a value"],
    [["--bogus"], 'unknown option "--bogus"'],
    [["extra"], 'unexpected argument "extra" for kv bench'],
  ];
  for (const [args, message] of cases) {
    const { code, stdout, stderr } = await bench(port, args);
    assertEquals(code, 2, args.join(" "));
    assertEquals(stdout, "");
    assert(stderr.startsWith(`kv: ${message}`), `${args.join(" ")}: ${stderr}`);
    assert(stderr.endsWith('Run "kv bench --help" for usage.\n'), stderr);
  }
});

Deno.test("kv bench --help prints its usage; kv --help lists it", async () => {
  for (const args of [["bench", "--help"], ["bench", "-h"], ["bench", "-c", "1", "-h"]]) {
    const fake = new FakeIo();
    assertEquals(await main(args, fake.io), 0);
    assert(fake.stdout.startsWith("kv bench: "), fake.stdout);
    for (
      const text of [
        "-c, --connections N",
        "-P, --pipeline N",
        "-n, --requests N",
        "-d, --duration SECONDS",
        "-r, --get-ratio R",
        "-k, --keys N",
        "--value-bytes N",
        "--seed N",
        "--json",
        "[default: 50]",
        "[default: 100000, unless -d]",
        "Exit status:",
      ]
    ) {
      assertStringIncludes(fake.stdout, text);
    }
    assertEquals(fake.stderr, "");
  }
  const fake = new FakeIo();
  assertEquals(await main(["--help"], fake.io), 0);
  assertStringIncludes(fake.stdout, "kv bench [OPTIONS]");
});

Deno.test("kv bench accepts answers that end with \\r\\n", async () => {
  await using server = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(64 * 1024);
    let pending = "";
    const values = new Map<string, string>();
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      pending += new TextDecoder().decode(buffer.subarray(0, n));
      const lines = pending.split("\n");
      pending = lines.pop()!;
      let out = "";
      for (const line of lines) {
        const [command, key, ...value] = line.split(", ");
        if (command === "PUT") values.set(key!, value.join(", "));
        out += command === "PUT" ? "Success!\r\n" : `${values.get(key!) ?? "Not exist!"}\r\n`;
      }
      await conn.write(encoder.encode(out));
    }
  });
  const { code, stdout } = await bench(server.port, ["-n", "200", "-c", "1", "-k", "10"]);
  assertEquals(code, 0, stdout);
  assertStringIncludes(stdout, "errors: 0");
});

Deno.test("kv bench has no -v: value size is --value-bytes, -v means verbose elsewhere", async () => {
  const { code, stderr } = await bench(closedPort(), ["-v", "5"]);
  assertEquals(code, 2);
  assertStringIncludes(stderr, 'unknown option "-v"');
});

Deno.test("kv bench against a server that wants a password, given none, says to give --password-file", async () => {
  await using server = startTestServer({ password: "s3cret" });
  const { code, stdout, stderr } = await bench(server.port, ["-c", "1", "-n", "200", "-k", "10"]);
  assertEquals(code, 1);
  // Nothing measured after a preload refused whole: the 10 refused PUTs are the errors.
  assertStringIncludes(stdout, "preload: 0 keys");
  assertStringIncludes(stdout, "requests: 0 in 0.000 s, errors: 10\n");
  assertStringIncludes(stderr, "authentication required");
  assertStringIncludes(
    stderr,
    "kv bench: the server wants a password: give it with --password-file FILE\n",
  );
});
