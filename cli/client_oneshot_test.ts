/**
 * Tests of `kv client REQUEST...`, one request from the command line, run
 * in-process through `main(args, io)` with a fake stdin/stdout/stderr, over
 * real sockets on port 0: the answer on stdout, exit statuses, `--host` and
 * `--port`, and a refused connection.
 *
 * @module
 */

import { assertEquals, assertStringIncludes } from "@std/assert";
import { main } from "../main.ts";
import {
  assertNoStackTrace,
  closedPort,
  FakeIo,
  readRawLines,
  runClient,
  scriptedServer,
  send,
  startTestServer,
  UNKNOWN_FOO,
} from "../testing/mod.ts";

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
      `kv: cannot connect to 127.0.0.1:${port}: connection refused (is the server running, on that port?)\n`,
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
      `kv: cannot connect to localhost:${port}: connection refused (is the server running, on that port?)\n`,
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
  assertEquals(
    stderr,
    "kv: a request given on the command line cannot hold a line break: send several requests on stdin\n" +
      'Run "kv client --help" for usage.\n',
  );
});

Deno.test("main() client hints that options go before the request", async () => {
  await using server = startTestServer();
  const { code, stdout, stderr } = await runClient(server.port, ["PING", "--port", "1"]);
  assertEquals(code, 1);
  assertStringIncludes(stdout, 'Error: unknown command "PING --port 1"');
  assertEquals(stderr, "kv: note: options go before the request (kv client --port 1 PING)\n");
});

Deno.test("main() client hints that options go before the request when the default port is refused", async () => {
  const port = closedPort();
  const fake = new FakeIo();
  // The request's "-p PORT" is not an option: kv client tries its --host and --port instead.
  const code = await main(["client", "--port", String(port), "PING", "-p", "17499"], fake.io);
  assertEquals(code, 2);
  assertStringIncludes(fake.stderr, `kv: cannot connect to 127.0.0.1:${port}: connection refused`);
  assertStringIncludes(fake.stderr, "kv: note: options go before the request");
});

Deno.test("main() client prints a LIST's first lines before the server has sent the rest", async () => {
  // The server sends two pairs, then the rest only once the client has
  // printed the first: a client that gathers the whole answer first times
  // out (and the server hears it close).
  const fake = new FakeIo();
  const printed = fake.waitForStdout(/^a, 1\n/);
  await using server = scriptedServer(async (conn) => {
    assertEquals(await readRawLines(conn, 1), ["LIST"]);
    await send(conn, "a, 1\nb, 2\n");
    const closed = conn.read(new Uint8Array(1));
    if (await Promise.race([printed.then(() => "printed"), closed]) !== "printed") return;
    await send(conn, "c, 3\n\n");
    await closed;
  });
  const code = await main(
    ["client", "--port", String(server.port), "--timeout", "2", "LIST"],
    fake.io,
  );
  assertEquals({ code, stdout: fake.stdout, stderr: fake.stderr }, {
    code: 0,
    stdout: "a, 1\nb, 2\nc, 3\n",
    stderr: "",
  });
});

Deno.test("main() client: a LIST cut by the timeout says how many bytes came, those printed included", async () => {
  const fake = new FakeIo();
  await using server = scriptedServer(async (conn) => {
    assertEquals(await readRawLines(conn, 1), ["LIST"]);
    await send(conn, "a, 1\nb, 2\n");
    await conn.read(new Uint8Array(1)); // The client's close.
  });
  const code = await main(
    ["client", "--port", String(server.port), "--timeout", "0.2", "--pause-ms", "0", "LIST"],
    fake.io,
  );
  assertEquals({ code, stdout: fake.stdout }, { code: 1, stdout: "a, 1\nb, 2\n" });
  assertStringIncludes(
    fake.stderr,
    'got 10 bytes, "a, 1\\nb, 2\\n", but not the end of the answer (a LIST answer ends with an empty line)',
  );
});
