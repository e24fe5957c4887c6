/**
 * Tests of the `kv` command, run in-process through `main(args, io)` with a
 * fake stdin/stdout/stderr, over real sockets on port 0: `kv client` in its
 * three modes, `kv serve`, and the command line's parsing and exit statuses.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import denoJson from "../deno.json" with { type: "json" };
import { KvClient } from "../client/client.ts";
import { main } from "../main.ts";
import { closedPort, FakeIo, startTestServer } from "../testing/mod.ts";

const encoder = new TextEncoder();

/** Runs `kv client --port PORT ...words` against `port`. */
async function runClient(
  port: number,
  words: string[],
  options: ConstructorParameters<typeof FakeIo>[0] = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const fake = new FakeIo(options);
  const code = await main(["client", "--port", String(port), ...words], fake.io);
  return { code, stdout: fake.stdout, stderr: fake.stderr };
}

function assertNoStackTrace(text: string): void {
  assert(!/^\s+at /m.test(text), `a stack trace on stderr:\n${text}`);
}

const UNKNOWN_FOO = 'Error: unknown command "FOO" (expected PUT, GET, DELETE, LIST, PING or QUIT)';

// ---------------------------------------------------------------------------
// kv client REQUEST...

Deno.test("main() client prints the answer to one request and exits 0", async (t) => {
  await using server = startTestServer();
  await t.step("one word", async () => {
    assertEquals(await runClient(server.port, ["PUT,a,b"]), {
      code: 0,
      stdout: "Success!\n",
      stderr: "",
    });
    assertEquals(await runClient(server.port, ["GET,a"]), {
      code: 0,
      stdout: "b\n",
      stderr: "",
    });
  });
  await t.step("words are joined with one space into one request", async () => {
    assertEquals((await runClient(server.port, ["PUT,", "myname,", "yyjun"])).stdout, "Success!\n");
    assertEquals((await runClient(server.port, ["GET,", "myname"])).stdout, "yyjun\n");
    await runClient(server.port, ["PUT,", "greeting,", "hello,", "big", "world"]);
    assertEquals((await runClient(server.port, ["GET,", "greeting"])).stdout, "hello, big world\n");
  });
  await t.step("Not exist! is an answer: exit 0", async () => {
    assertEquals(await runClient(server.port, ["GET,", "missing"]), {
      code: 0,
      stdout: "Not exist!\n",
      stderr: "",
    });
    assertEquals((await runClient(server.port, ["DELETE,", "missing"])).code, 0);
  });
  await t.step("PING and QUIT", async () => {
    assertEquals((await runClient(server.port, ["ping"])).stdout, "PONG\n");
    assertEquals(await runClient(server.port, ["QUIT"]), { code: 0, stdout: "Bye!\n", stderr: "" });
  });
  await t.step("Korean keys and values", async () => {
    assertEquals((await runClient(server.port, ["PUT,", "이름,", "윤영준"])).stdout, "Success!\n");
    assertEquals((await runClient(server.port, ["GET,", "이름"])).stdout, "윤영준\n");
  });
});

Deno.test("main() client prints LIST without its final empty line", async () => {
  await using server = startTestServer();
  assertEquals(await runClient(server.port, ["LIST"]), {
    code: 0,
    stdout: "Not exist!\n",
    stderr: "",
  });
  await runClient(server.port, ["PUT, a, 1"]);
  await runClient(server.port, ["PUT, b, x, y"]);
  const { stdout } = await runClient(server.port, ["LIST"]);
  assertEquals(stdout.split("\n").toSorted(), ["", "a, 1", "b, x, y"], "any order");
});

Deno.test("main() client prints an empty line for an empty value", async () => {
  await using server = startTestServer();
  assertEquals((await runClient(server.port, ["PUT,", "k,"])).stdout, "Success!\n");
  assertEquals(await runClient(server.port, ["GET,", "k"]), { code: 0, stdout: "\n", stderr: "" });
  assertEquals((await runClient(server.port, ["LIST"])).stdout, "k, \n");
});

Deno.test("main() client exits 1 when the answer is an Error: line", async (t) => {
  await using server = startTestServer();
  const cases: [string[], string][] = [
    [["FOO"], UNKNOWN_FOO],
    [["GET"], "Error: usage: GET, key"],
    [["GET,", "a,"], "Error: usage: GET, key"],
    [["PUT,", ",", "v"], "Error: key must not be empty"],
    [["LIST,", "x"], "Error: usage: LIST"],
  ];
  for (const [words, answer] of cases) {
    await t.step(words.join(" "), async () => {
      assertEquals(await runClient(server.port, words), {
        code: 1,
        stdout: `${answer}\n`,
        stderr: "",
      });
    });
  }
});

Deno.test("main() client takes request words starting with '-' as part of the request", async () => {
  await using server = startTestServer();
  assertEquals((await runClient(server.port, ["PUT,", "k,", "-5"])).stdout, "Success!\n");
  assertEquals((await runClient(server.port, ["GET,", "k"])).stdout, "-5\n");
  assertEquals(
    (await runClient(server.port, ["PUT,", "flag,", "--port", "1", "-h"])).stdout,
    "Success!\n",
  );
  assertEquals((await runClient(server.port, ["GET,", "flag"])).stdout, "--port 1 -h\n");
});

Deno.test("main() client sends number-like request words as typed", async () => {
  await using server = startTestServer();
  assertEquals(await runClient(server.port, ["1e3"]), {
    code: 1,
    stdout: 'Error: unknown command "1e3" (expected PUT, GET, DELETE, LIST, PING or QUIT)\n',
    stderr: "",
  });
  assertEquals((await runClient(server.port, ["PUT,", "n,", "0012"])).stdout, "Success!\n");
  assertEquals((await runClient(server.port, ["GET,", "n"])).stdout, "0012\n");
});

Deno.test("main() client exits 2 naming the address when the connection is refused", async (t) => {
  const port = closedPort();
  await t.step("a one-shot request", async () => {
    const { code, stdout, stderr } = await runClient(port, ["PING"]);
    assertEquals(code, 2);
    assertEquals(stdout, "");
    assertEquals(
      stderr,
      `kv: cannot connect to 127.0.0.1:${port}: connection refused (is kv serve running?)\n`,
    );
    assertNoStackTrace(stderr);
  });
  await t.step("batch and prompt modes too", async () => {
    assertEquals((await runClient(port, [], { stdin: "PING\n" })).code, 2);
    const repl = await runClient(port, [], { stdin: "PING\n", terminal: true });
    assertEquals(repl.code, 2);
    assertEquals(repl.stdout, "", "no prompt before a connection");
  });
  await t.step("--host names the host it tried", async () => {
    const fake = new FakeIo();
    const code = await main(
      ["client", "--host", "localhost", "--port", String(port), "PING"],
      fake.io,
    );
    assertEquals(code, 2);
    assertEquals(
      fake.stderr,
      `kv: cannot connect to localhost:${port}: connection refused (is kv serve running?)\n`,
    );
  });
});

Deno.test("main() client --host and --port reach the server", async () => {
  await using server = startTestServer();
  const fake = new FakeIo();
  const code = await main(
    ["client", "--host", "127.0.0.1", "--port", String(server.port), "PING"],
    fake.io,
  );
  assertEquals([code, fake.stdout, fake.stderr], [0, "PONG\n", ""]);
  const equals = new FakeIo();
  assertEquals(await main(["client", `--port=${server.port}`, "PING"], equals.io), 0);
  assertEquals(equals.stdout, "PONG\n");
});

Deno.test("main() client exits 2 for a request holding a newline", async () => {
  await using server = startTestServer();
  const { code, stdout, stderr } = await runClient(server.port, ["PING\nPING"]);
  assertEquals(code, 2);
  assertEquals(stdout, "");
  assertMatch(stderr, /^[^\n]*newline[^\n]*\n$/);
});

// ---------------------------------------------------------------------------
// kv client < FILE

Deno.test("main() client in batch mode answers 5,000 PUTs then 5,000 GETs in order", async () => {
  await using server = startTestServer();
  const count = 5_000;
  let input = "";
  for (let i = 0; i < count; i++) input += `PUT, key${i}, value ${i}, 값${i}\n`;
  for (let i = 0; i < count; i++) input += `GET, key${i}\n`;
  const { code, stdout, stderr } = await runClient(server.port, [], { stdin: input });
  assertEquals([code, stderr], [0, ""]);
  const lines = stdout.split("\n");
  assertEquals(lines.pop(), "");
  assertEquals(lines.length, 2 * count);
  assertEquals(lines.slice(0, count), Array(count).fill("Success!"));
  assertEquals(
    lines.slice(count),
    Array.from({ length: count }, (_, i) => `value ${i}, 값${i}`),
  );
});

Deno.test("main() client in batch mode sends every request before reading the answers", async () => {
  const count = 1_000;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // A server that answers nothing until every request has arrived: a client
  // waiting for each answer before sending the next request would never finish.
  const fakeServer = (async () => {
    using conn = await listener.accept();
    const buffer = new Uint8Array(64 * 1024);
    let received = "";
    const decoder = new TextDecoder();
    while (received.split("\n").length - 1 < count) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error(`EOF after ${received.length} chars`);
      received += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
    const answers = encoder.encode(
      Array.from({ length: count }, (_, i) => `answer ${i}\n`).join(""),
    );
    for (let written = 0; written < answers.length;) {
      written += await conn.write(answers.subarray(written));
    }
    return received;
  })();
  try {
    const input = Array.from({ length: count }, (_, i) => `GET, k${i}\n`).join("");
    const { code, stdout } = await runClient(listener.addr.port, [], { stdin: input });
    assertEquals(code, 0);
    assertEquals(
      stdout,
      Array.from({ length: count }, (_, i) => `answer ${i}\n`).join(""),
    );
    assertEquals(await fakeServer, input);
  } finally {
    listener.close();
  }
});

Deno.test("main() client in batch mode skips blank lines and accepts CRLF", async () => {
  await using server = startTestServer();
  const input = "\nPUT, a, 1\r\n\r\n   \n\t\r\nGET, a\r\nLIST\r\nPING";
  assertEquals(await runClient(server.port, [], { stdin: input }), {
    code: 0,
    stdout: "Success!\n1\na, 1\nPONG\n",
    stderr: "",
  });
});

Deno.test("main() client in batch mode prints LIST answers without their empty line", async () => {
  await using server = startTestServer();
  const input = "LIST\nPUT, a, 1\nPUT, b, 2\nLIST\nDELETE, a\nDELETE, b\nLIST\nPING\n";
  const { code, stdout, stderr } = await runClient(server.port, [], { stdin: input });
  assertEquals([code, stderr], [0, ""]);
  const lines = stdout.split("\n");
  // LIST's pairs come in any order.
  lines.splice(3, 2, ...lines.slice(3, 5).toSorted());
  assertEquals(lines, [
    "Not exist!",
    "Success!",
    "Success!",
    "a, 1",
    "b, 2",
    "Success!",
    "Success!",
    "Not exist!",
    "PONG",
    "",
  ]);
});

Deno.test("main() client in batch mode stops at QUIT", async () => {
  await using server = startTestServer();
  const input = "PUT, a, 1\n quit \nPUT, b, 2\nGET, a\n";
  assertEquals(await runClient(server.port, [], { stdin: input }), {
    code: 0,
    stdout: "Success!\nBye!\n",
    stderr: "",
  });
  await using kv = await KvClient.connect({ port: server.port });
  assertEquals(await kv.get("a"), "1");
  assertEquals(await kv.get("b"), undefined, "nothing after QUIT was sent");
});

Deno.test("main() client in batch mode prints every answer and exits 1 after an Error: line", async () => {
  await using server = startTestServer();
  const input = "PUT, a, 1\nFOO\nGET, a\n";
  assertEquals(await runClient(server.port, [], { stdin: input }), {
    code: 1,
    stdout: `Success!\n${UNKNOWN_FOO}\n1\n`,
    stderr: "",
  });
});

Deno.test("main() client in batch mode sends stdin bytes as they are", async () => {
  await using server = startTestServer();
  const korean = encoder.encode("PUT, 이름, 윤영준\nGET, 이름\n");
  // One byte per chunk: lines and characters are split across chunks.
  const chunks = [...korean].map((byte) => new Uint8Array([byte]));
  chunks.push(new Uint8Array([0x47, 0xff, 0x0a])); // Not UTF-8.
  assertEquals(await runClient(server.port, [], { stdin: chunks }), {
    code: 1,
    stdout: "Success!\n윤영준\nError: request is not valid UTF-8\n",
    stderr: "",
  });
});

Deno.test("main() client in batch mode with empty stdin prints nothing and exits 0", async () => {
  await using server = startTestServer();
  assertEquals(await runClient(server.port, [], { stdin: "" }), {
    code: 0,
    stdout: "",
    stderr: "",
  });
});

Deno.test("main() client in batch mode exits 2 when the server closes mid-batch", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const fakeServer = (async () => {
    using conn = await listener.accept();
    const buffer = new Uint8Array(1024);
    let received = "";
    while (!received.includes("\n")) {
      const n = await conn.read(buffer);
      if (n === null) break;
      received += new TextDecoder().decode(buffer.subarray(0, n));
    }
    await conn.write(encoder.encode("PONG\n")); // One answer, then the close.
  })();
  try {
    const { code, stdout, stderr } = await runClient(listener.addr.port, [], {
      stdin: "PING\nPING\nPING\n",
    });
    await fakeServer;
    assertEquals(code, 2);
    assertEquals(stdout, "PONG\n", "answers before the close are printed");
    assertEquals(stderr, `kv: connection closed by 127.0.0.1:${listener.addr.port}\n`);
  } finally {
    listener.close();
  }
});

// ---------------------------------------------------------------------------
// kv client on a terminal

Deno.test("main() client on a terminal runs a prompt that shows the address", async () => {
  await using server = startTestServer();
  const prompt = `kv 127.0.0.1:${server.port}> `;
  const { code, stdout, stderr } = await runClient(server.port, [], {
    stdin: "PUT, 이름, 윤영준\nGET, 이름\n\nLIST\nFOO\nquit\nPING\n",
    terminal: true,
  });
  assertEquals([code, stderr], [0, ""]);
  assertEquals(
    stdout,
    `Connected to kv at 127.0.0.1:${server.port}. Type "help" for the commands.\n` +
      `${prompt}Success!\n` +
      `${prompt}윤영준\n` +
      prompt + // The blank line: no answer, a new prompt.
      `${prompt}이름, 윤영준\n` +
      `${prompt}${UNKNOWN_FOO}\n` +
      `${prompt}Bye!\n`, // Nothing after quit is sent.
  );
});

Deno.test("main() client on a terminal prints help", async () => {
  await using server = startTestServer();
  const prompt = `kv 127.0.0.1:${server.port}> `;
  const { code, stdout } = await runClient(server.port, [], {
    stdin: "help\n ? \nPING\n",
    terminal: true,
  });
  assertEquals(code, 0);
  const [banner, afterHelp, afterQuestion, ...rest] = stdout.split(prompt);
  assertEquals(
    banner,
    `Connected to kv at 127.0.0.1:${server.port}. Type "help" for the commands.\n`,
  );
  assertEquals(afterHelp, afterQuestion, "? is help too");
  for (const line of ["PUT, key, value", "GET, key", "DELETE, key", "LIST", "PING", "quit"]) {
    assertStringIncludes(afterHelp!, `  ${line} `);
  }
  assertStringIncludes(afterHelp!, "Ctrl-D");
  assertEquals(rest, ["PONG\n", "\n"], "the end of input ends the prompt on a new line");
});

Deno.test("main() client on a terminal takes Korean split across reads", async () => {
  await using server = startTestServer();
  const bytes = encoder.encode("PUT, 키, 값 한글\nGET, 키\n");
  const chunks = [...bytes].map((byte) => new Uint8Array([byte]));
  const { code, stdout } = await runClient(server.port, [], { stdin: chunks, terminal: true });
  assertEquals(code, 0);
  assertStringIncludes(stdout, "> Success!\n");
  assertStringIncludes(stdout, "> 값 한글\n");
});

Deno.test("main() client on a terminal ends with status 0 on exit, quit and end of input", async (t) => {
  await using server = startTestServer();
  const prompt = `kv 127.0.0.1:${server.port}> `;
  const banner = `Connected to kv at 127.0.0.1:${server.port}. Type "help" for the commands.\n`;
  await t.step("exit", async () => {
    const result = await runClient(server.port, [], { stdin: "exit\nPING\n", terminal: true });
    // The terminal already echoed the Enter after "exit": nothing more is printed.
    assertEquals(result, { code: 0, stdout: `${banner}${prompt}`, stderr: "" });
  });
  await t.step("QUIT, any case", async () => {
    const result = await runClient(server.port, [], { stdin: "  QuIt\r\n", terminal: true });
    assertEquals(result, { code: 0, stdout: `${banner}${prompt}Bye!\n`, stderr: "" });
  });
  await t.step("end of input (Ctrl-D)", async () => {
    const result = await runClient(server.port, [], { stdin: "", terminal: true });
    assertEquals(result, { code: 0, stdout: `${banner}${prompt}\n`, stderr: "" });
  });
  await t.step("a last line without a newline is still run", async () => {
    const result = await runClient(server.port, [], { stdin: "PING", terminal: true });
    assertEquals(result.stdout, `${banner}${prompt}PONG\n${prompt}\n`);
  });
});

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

Deno.test("main() serve exits 1 for an address that is not on this machine", async () => {
  const fake = new FakeIo();
  const code = await main(["serve", "--host", "192.0.2.1", "--port", "0", "--no-auth"], fake.io);
  assertEquals(code, 1);
  assertEquals(fake.stdout, "");
  assertMatch(fake.stderr, /^kv: cannot listen on 192\.0\.2\.1:0: [^\n]+\n$/);
});

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
      'cannot use --max-line-bytes "0": expected an integer of at least 1',
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

Deno.test("main() client hints that options go before the request", async () => {
  await using server = startTestServer();
  const { code, stdout, stderr } = await runClient(server.port, ["PING", "--port", "1"]);
  assertEquals(code, 1);
  assertStringIncludes(stdout, 'Error: unknown command "PING --port 1"');
  assertEquals(stderr, "kv: note: options go before the request (kv client --port 1 PING)\n");
});
