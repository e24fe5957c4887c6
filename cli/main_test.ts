/**
 * Tests of the `kv` command line itself, run in-process through
 * `main(args, io)` with a fake stdin/stdout/stderr: --help and --version,
 * and exit 2 with one message for a bad command line. `kv client` and
 * `kv serve` have their own files (client_*_test.ts, serve_test.ts).
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import denoJson from "../deno.json" with { type: "json" };
import { main } from "../main.ts";
import {
  assertNoStackTrace,
  closedPort,
  FakeIo,
  runClient,
  startTestServer,
} from "../testing/mod.ts";

// ---------------------------------------------------------------------------
// The command line itself

Deno.test("main() --help prints usage on stdout and exits 0", async () => {
  const outputs: string[] = [];
  for (const args of [["--help"], ["-h"], ["help"], ["-h", "serve"]]) {
    const fake = new FakeIo();
    assertEquals(await main(args, fake.io), 0, args.join(" "));
    assertEquals(fake.stderr, "");
    outputs.push(fake.stdout);
  }
  assertEquals(new Set(outputs).size, 1, "every spelling prints the same help");
  const help = outputs[0]!;
  assert(
    help.startsWith(`kv ${denoJson.version}: an in-memory key-value server and its client`),
    help,
  );
  for (
    const text of [
      "USAGE:",
      "kv serve [OPTIONS]",
      "kv client [OPTIONS] [REQUEST...]",
      "-V, --version",
    ]
  ) {
    assertStringIncludes(help, text);
  }
});

Deno.test("main() serve --help and client --help print their own usage", async (t) => {
  await t.step("serve", async () => {
    for (const args of [["serve", "--help"], ["serve", "-h"], ["serve", "--port", "1", "-h"]]) {
      const fake = new FakeIo();
      assertEquals(await main(args, fake.io), 0);
      assert(fake.stdout.startsWith("kv serve: "), fake.stdout);
      for (
        const text of [
          "--port PORT",
          "[default: 12000]",
          "--max-line-bytes N",
          "[default: 1048576]",
          "--idle-timeout SECONDS",
          "--max-connections N",
          "--shutdown-grace-ms MS",
          "listening on HOST:PORT",
        ]
      ) {
        assertStringIncludes(fake.stdout, text);
      }
      assertEquals(fake.stderr, "");
    }
  });
  await t.step("client, without connecting", async () => {
    const port = closedPort();
    for (
      const args of [["client", "--help"], ["client", "-h"], [
        "client",
        "--port",
        String(port),
        "-h",
      ]]
    ) {
      const fake = new FakeIo();
      assertEquals(await main(args, fake.io), 0);
      assert(fake.stdout.startsWith("kv client: "), fake.stdout);
      for (const text of ["--host HOST", "--port PORT", "[default: 127.0.0.1]", "Exit status:"]) {
        assertStringIncludes(fake.stdout, text);
      }
      assertEquals(fake.stderr, "");
    }
  });
});

Deno.test("main() --version prints the version from deno.json", async () => {
  for (const args of [["--version"], ["-V"]]) {
    const fake = new FakeIo();
    assertEquals(await main(args, fake.io), 0);
    assertEquals(fake.stdout, `kv ${denoJson.version}\n`);
    assertEquals(fake.stderr, "");
  }
});

Deno.test("main() rejects a bad command line with exit 2 and one message on stderr", async (t) => {
  const cases: [string[], string][] = [
    [[], "missing command: expected serve, client, bench, check or repair"],
    [
      ["frobnicate"],
      'unknown command "frobnicate": expected serve, client, bench, check or repair',
    ],
    [["1e3"], 'unknown command "1e3": expected serve, client, bench, check or repair'],
    [["--bogus"], 'unknown option "--bogus"'],
    [["-x", "serve"], 'unknown option "-x"'],
    [["--port", "1", "client"], 'unknown option "--port"'],
    [["serve", "--prot", "1"], 'unknown option "--prot"'],
    [["serve", "--prot=1"], 'unknown option "--prot"'],
    [["client", "--bogus", "PING"], 'unknown option "--bogus"'],
    [["client", "--udp=no", "PING"], '--udp takes no value (got "no")'],
    [
      ["client", "PING\nPING"],
      "a request given on the command line cannot hold a line break: send several requests on stdin",
    ],
    [
      ["client", "--udp", "PUT, a, 1\nGET, a"],
      "a request given on the command line cannot hold a line break: send several requests on stdin",
    ],
    [
      ["client", "PUT, k, a\uFFFDb"],
      "the request on the command line is not valid UTF-8 (or holds U+FFFD), and would be sent " +
      "changed: send it on stdin (printf '...\\n' | kv client)",
    ],
    [["client", "--trace=0", "PING"], '--trace takes no value (got "0")'],
    [["serve", "--verbose=0"], '--verbose takes no value (got "0")'],
    [["serve", "extra"], 'unexpected argument "extra" for kv serve'],
    [["serve", "--verbose", "--quiet"], "cannot use --verbose with --quiet"],
    [["serve", "--port", "1e3"], 'cannot use --port "1e3": expected an integer from 0 to 65535'],
    [["serve", "--port", "-1"], 'cannot use --port "-1": expected an integer from 0 to 65535'],
    [["serve", "-p", "-1"], 'cannot use --port "-1": expected an integer from 0 to 65535'],
    [["client", "--port", "1e3"], 'cannot use --port "1e3": expected an integer from 1 to 65535'],
    [["serve", "--port", "0x10"], 'cannot use --port "0x10": expected an integer from 0 to 65535'],
    [
      ["serve", "--port", "70000"],
      'cannot use --port "70000": expected an integer from 0 to 65535',
    ],
    [["client", "--port", "0"], 'cannot use --port "0": expected an integer from 1 to 65535'],
    [["client", "--port", "abc"], 'cannot use --port "abc": expected an integer from 1 to 65535'],
    [["client", "--port", " 80"], 'cannot use --port " 80": expected an integer from 1 to 65535'],
    [["serve", "--port", ""], "option --port needs a value"],
    [["client", "--port", "", "PING"], "option --port needs a value"],
    [["serve", "--port"], "option --port needs a value"],
    [["client", "--port"], "option --port needs a value"],
    [["client", "--host"], "option --host needs a value"],
    [["serve", "--host="], "option --host needs a value"],
    [
      ["serve", "--max-line-bytes", "0"],
      'cannot use --max-line-bytes "0": expected an integer from 1 to 1073741824',
    ],
    [
      ["serve", "--max-line-bytes", "3000000000"],
      'cannot use --max-line-bytes "3000000000": expected an integer from 1 to 1073741824',
    ],
    [
      ["serve", "--max-connections=-1"],
      'cannot use --max-connections "-1": expected an integer of at least 1',
    ],
    [
      ["serve", "--unframed-pause-ms", "1.5"],
      'cannot use --unframed-pause-ms "1.5": expected an integer of at least 0',
    ],
    [
      ["serve", "--shutdown-grace-ms", "1e3"],
      'cannot use --shutdown-grace-ms "1e3": expected an integer of at least 0',
    ],
    [
      ["serve", "--idle-timeout", "abc"],
      'cannot use --idle-timeout "abc": expected seconds, like 30 or 0.5',
    ],
    [
      ["serve", "--idle-timeout=-1"],
      'cannot use --idle-timeout "-1": expected seconds, like 30 or 0.5',
    ],
    [["serve", "--idle-timeout"], "option --idle-timeout needs a value"],
    [["client", ""], "empty request: give one such as PING, or none for a prompt"],
    [["client", " ", "\t"], "empty request: give one such as PING, or none for a prompt"],
  ];
  for (const [args, message] of cases) {
    await t.step(`kv ${args.map((arg) => JSON.stringify(arg)).join(" ")}`, async () => {
      const fake = new FakeIo();
      assertEquals(await main(args, fake.io), 2);
      assertEquals(fake.stdout, "");
      const sub = ["serve", "client", "bench", "check"].find((word) => args[0] === word);
      const help = sub === undefined ? "kv --help" : `kv ${sub} --help`;
      assertEquals(fake.stderr, `kv: ${message}\nRun "${help}" for usage.\n`);
      assertNoStackTrace(fake.stderr);
    });
  }
});

Deno.test("main() takes -p for --port in serve and client, as kv bench does", async () => {
  await using server = startTestServer();
  assertEquals(await runClient(server.port, ["PING"]), { code: 0, stdout: "PONG\n", stderr: "" });
  const fake = new FakeIo();
  assertEquals(await main(["client", "-p", String(server.port), "PING"], fake.io), 0);
  assertEquals(fake.stdout, "PONG\n");
  const stop = new AbortController();
  const serving = new FakeIo({ signal: stop.signal });
  const served = main(["serve", "-p", "0", "-q"], serving.io);
  await serving.waitForStdout(/listening on 127\.0\.0\.1:\d+\n/);
  stop.abort();
  assertEquals(await served, 0);
});
