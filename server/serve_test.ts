/**
 * Contract tests for the server over real sockets: a server on 127.0.0.1
 * port 0, spoken to in raw bytes the way `nc` would (PROTOCOL.md): every
 * row of the contract, every bad request, many clients at once, and
 * serve()'s own options. How requests arrive (limits, pipelining, split
 * reads) is in serve_framing_test.ts, QUIT in serve_quit_test.ts. Every
 * test ends by checking that the server still answers PING on a fresh
 * connection.
 */

import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { parseListLine } from "../wire/line/encode.ts";
import { ExposureError, serve } from "./serve.ts";
import {
  assertAlive,
  bytes,
  exchange,
  LogCollector,
  RawConn,
  readRawLines,
  send,
  startTestServer,
} from "../testing/mod.ts";

/** Reads one answer line; fails if the server closes first. */
async function readLine(conn: RawConn): Promise<string> {
  const line = await conn.readLine();
  if (line === null) throw new Error("the server closed instead of answering");
  return line;
}

const HINT = "(expected PUT, GET, DELETE, LIST, PING or QUIT)";
const unknownCommand = (quoted: string) => `Error: unknown command ${quoted} ${HINT}`;
const NOT_UTF8 = "Error: request is not valid UTF-8";
const EMPTY_KEY = "Error: key must not be empty";

/** The contract's rows as one conversation: [request line, answer lines]. */
const CONVERSATION: [string, string[]][] = [
  ["PING", ["PONG"]],
  ["LIST", ["Not exist!", ""]],
  ["GET, myname", ["Not exist!"]],
  ["DELETE, myname", ["Not exist!"]],
  ["PUT, myname, yyjun", ["Success!"]],
  ["GET, myname", ["yyjun"]],
  ["PUT,myname,jun", ["Success!"]], // overwrite
  ["GET,myname", ["jun"]],
  ["  put ,myname,  yyjun ", ["Success!"]],
  ["\tget\t, myname ", ["yyjun"]],
  ["PUT, greeting, hello, world", ["Success!"]],
  ["GET, greeting", ["hello, world"]],
  ["PUT, empty,", ["Success!"]],
  ["GET, empty", [""]],
  ["LIST", ["empty, ", "greeting, hello, world", "myname, yyjun", ""]], // sorted below
  ["DELETE, myname", ["Success!"]],
  ["DELETE, myname", ["Not exist!"]],
  ["GET, myname", ["Not exist!"]],
  ["DeLeTe, greeting", ["Success!"]],
  ["pInG", ["PONG"]],
];

/** Plays CONVERSATION on `conn`, each line ended by `eol`. LIST lines are compared sorted. */
async function playConversation(conn: RawConn, eol: string): Promise<void> {
  for (const [request, expected] of CONVERSATION) {
    const answer = await exchange(conn, request + eol, expected.length);
    if (request === "LIST" && expected.length > 2) {
      assertEquals(answer.at(-1), "", "LIST ends with an empty line");
      answer.splice(0, answer.length - 1, ...answer.slice(0, -1).toSorted());
    }
    assertEquals(answer, expected, `answer to ${JSON.stringify(request + eol)}`);
  }
  // Blank lines get no answer: the next line read is PING's.
  assertEquals(await exchange(conn, `${eol} \t ${eol}\t${eol}PING${eol}`, 1), ["PONG"]);
  assertEquals(await exchange(conn, `QUIT${eol}`, 1), ["Bye!"]);
  assert(
    await conn.closedByServer(),
    "the server sent more after Bye!",
  );
}

Deno.test("serve() answers every contract row with its exact lines", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  await playConversation(conn, "\n");
  await assertAlive(server.port);
});

Deno.test("serve() drops the \\r of CRLF requests", async (t) => {
  await using server = startTestServer();
  await t.step("the whole conversation with CRLF", async () => {
    await using conn = await RawConn.connect(server.port);
    await playConversation(conn, "\r\n");
  });
  await t.step("only the \\r right before \\n is dropped", async () => {
    await using conn = await RawConn.connect(server.port);
    assertEquals(
      await exchange(conn, "PUT, k, v\r\nGET, k\nGET, k\r\r\nPUT, a\rb, c\rd\r\nGET, a\rb\n", 5),
      ["Success!", "v", "Not exist!", "Success!", "c\rd"],
    );
  });
  await assertAlive(server.port);
});

Deno.test("serve() answers LIST with its lines then an empty line", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  assertEquals(await exchange(conn, "LIST\n", 2), ["Not exist!", ""]);
  const pairs: [string, string][] = [
    ["a", "1"],
    ["greeting", "hello, world"],
    ["empty", ""],
    ["키", "값 😀"],
    ["n\0l", "\0"],
  ];
  for (const [key, value] of pairs) {
    assertEquals(await exchange(conn, `PUT, ${key}, ${value}\n`, 1), ["Success!"]);
  }
  // LIST pipelined with a PING: the empty line is where LIST's answer ends.
  await conn.send("LIST\nPING\n");
  const lines = await conn.readList();
  assertEquals(lines.map(parseListLine).toSorted(), pairs.toSorted());
  assertEquals(await readLine(conn), "PONG");
  for (const [key] of pairs) {
    assertEquals(await exchange(conn, `DELETE, ${key}\n`, 1), ["Success!"]);
  }
  assertEquals(await exchange(conn, "list\n", 2), ["Not exist!", ""]);
  await assertAlive(server.port);
});

/** Every bad request of PROTOCOL.md (bar the line limit), with its exact answer. */
const BAD_REQUESTS: [string | Uint8Array, string][] = [
  ["FOO\n", unknownCommand('"FOO"')],
  ["FOO, a, b\n", unknownCommand('"FOO"')],
  [", a\n", unknownCommand('""')],
  [",\n", unknownCommand('""')],
  ["lıst\n", unknownCommand('"lıst"')],
  ["liſt\n", unknownCommand('"liſt"')], // ſ upper-cases to S in Unicode, not in ASCII
  ["\vPING\n", unknownCommand('"\\u000bPING"')],
  ["\u00a0PING\n", unknownCommand('"\u00a0PING"')],
  ["\ufeffPING\n", unknownCommand('"\ufeffPING"')],
  ["PUT\n", "Error: usage: PUT, key, value"],
  ["PUT, k\n", "Error: usage: PUT, key, value"],
  ["GET\n", "Error: usage: GET, key"],
  ["GET, a,\n", "Error: usage: GET, key"],
  ["GET, a, b\r\n", "Error: usage: GET, key"],
  ["DELETE\n", "Error: usage: DELETE, key"],
  ["DELETE, a, b\n", "Error: usage: DELETE, key"],
  ["LIST, x\n", "Error: usage: LIST"],
  ["PING, x\n", "Error: usage: PING"],
  ["QUIT, x\n", "Error: usage: QUIT"],
  ["QUIT,\n", "Error: usage: QUIT"],
  ["PUT, , v\n", EMPTY_KEY],
  ["PUT,,\n", EMPTY_KEY],
  ["GET,\n", EMPTY_KEY],
  ["DELETE, \t\n", EMPTY_KEY],
  [bytes([0xff], "\n"), NOT_UTF8],
  [bytes("PUT, k, ", [0xff, 0xfe], "\n"), NOT_UTF8],
  [bytes("GET, ", [0xc0, 0xaf], "\r\n"), NOT_UTF8], // overlong
  [bytes("GET, ", [0xed, 0xa0, 0x80], "\n"), NOT_UTF8], // surrogate
  [bytes("GET, ", [0xed, 0x95], "\n"), NOT_UTF8], // truncated
];

const label = (request: string | Uint8Array) =>
  JSON.stringify(typeof request === "string" ? request : [...request]);

Deno.test("serve() answers every bad request with one Error: line and stays open", async (t) => {
  await using server = startTestServer();
  await t.step("one at a time, each followed by a working request", async () => {
    await using conn = await RawConn.connect(server.port);
    for (const [request, expected] of BAD_REQUESTS) {
      assertEquals(await exchange(conn, request, 1), [expected], `answer to ${label(request)}`);
      assertEquals(await exchange(conn, "PING\n", 1), ["PONG"], `after ${label(request)}`);
    }
  });
  await t.step("all pipelined in one write, each followed by PING", async () => {
    await using conn = await RawConn.connect(server.port);
    const all = bytes(...BAD_REQUESTS.flatMap(([request]) => [
      typeof request === "string" ? request : [...request],
      "PING\n",
    ]));
    const answers = await exchange(conn, all, 2 * BAD_REQUESTS.length);
    assertEquals(answers, BAD_REQUESTS.flatMap(([, expected]) => [expected, "PONG"]));
  });
  await t.step("-v logs a line that is not UTF-8 as such, not as an empty request", async () => {
    const logs = new LogCollector();
    await using verbose = startTestServer({ log: logs.log, verbose: true });
    await using conn = await RawConn.connect(verbose.port);
    assertEquals(await exchange(conn, bytes("PUT, k, ", [0xff, 0xfe], "\n"), 1), [NOT_UTF8]);
    const logged = logs.lines.map((line) => line.message).filter((line) => line.includes("->"));
    assertEquals(logged, [`#1 (a line that is not valid UTF-8) -> "${NOT_UTF8}"`]);
  });
  await t.step("bad requests changed nothing", async () => {
    await using conn = await RawConn.connect(server.port);
    assertEquals(await exchange(conn, "LIST\n", 2), ["Not exist!", ""]);
  });
  await assertAlive(server.port);
});

Deno.test("serve() echoes an unknown command on one short line", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  const word = "X".repeat(100_000);
  const [long = ""] = await exchange(conn, `${word}, k, v\n`, 1);
  assert(long.startsWith(`Error: unknown command "XXXXXXXXXX`), long);
  assertStringIncludes(long, HINT);
  assert(long.length < 300, `the echo is ${long.length} chars`);
  // Control characters (a lone \r stays in the line) must not break the line.
  const [control = ""] = await exchange(conn, "F\0O\x1bO\rX\x07, k\n", 1);
  assert(control.startsWith("Error: unknown command "), control);
  assert(
    ![...control].some((char) => char.charCodeAt(0) < 0x20),
    `raw control character in ${JSON.stringify(control)}`,
  );
  assertEquals(await exchange(conn, "PING\n", 1), ["PONG"], "one line only per error");
  await assertAlive(server.port);
});

Deno.test("serve() answers a line that is not UTF-8 with an error and reads on", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  assertEquals(
    await exchange(
      conn,
      bytes("PUT, k, ", [0xff], "\nGET, k\nPUT, k, 값\n", [0x80], "\nGET, k\n"),
      5,
    ),
    [NOT_UTF8, "Not exist!", "Success!", NOT_UTF8, "값"],
  );
  await assertAlive(server.port);
});

Deno.test("serve() serves 100 concurrent clients, each its own keys", async () => {
  await using server = startTestServer();
  const KEYS = 20;
  const client = async (c: number) => {
    await using conn = await RawConn.connect(server.port);
    for (let j = 0; j < KEYS; j++) {
      assertEquals(await exchange(conn, `PUT, c${c}-k${j}, 값 ${c}/${j}\n`, 1), ["Success!"]);
    }
    const gets = Array.from({ length: KEYS }, (_, j) => `GET, c${c}-k${j}\n`).join("");
    assertEquals(
      await exchange(conn, gets, KEYS),
      Array.from({ length: KEYS }, (_, j) => `값 ${c}/${j}`),
    );
    const deletes = Array.from({ length: KEYS / 2 }, (_, j) => `DELETE, c${c}-k${2 * j}\n`);
    assertEquals(
      await exchange(conn, deletes.join("") + `GET, c${c}-k0\nGET, c${c}-k1\n`, KEYS / 2 + 2),
      [...deletes.map(() => "Success!"), "Not exist!", `값 ${c}/1`],
    );
    assertEquals(await exchange(conn, "QUIT\n", 1), ["Bye!"]);
  };
  await Promise.all(Array.from({ length: 100 }, (_, c) => client(c)));
  await using conn = await RawConn.connect(server.port);
  await conn.send("LIST\n");
  const pairs = (await conn.readList()).map(parseListLine);
  const expected: [string, string][] = [];
  for (let c = 0; c < 100; c++) {
    for (let j = 1; j < KEYS; j += 2) expected.push([`c${c}-k${j}`, `값 ${c}/${j}`]);
  }
  assertEquals(pairs.toSorted(), expected.toSorted());
  await assertAlive(server.port);
});

Deno.test("serve() round-trips Korean, emoji and NUL in keys and values", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  const pairs: [string, string][] = [
    ["이름", "윤영준"],
    ["😀", "🎉🇰🇷👩‍👩‍👧"],
    ["nul\0key", "nul\0value\0"],
    ["\0", "\0"],
    ["키 with space", "값, with, commas"],
    ["\ufeffbom", "\ufeff"],
  ];
  for (const [key, value] of pairs) {
    assertEquals(await exchange(conn, `PUT, ${key}, ${value}\n`, 1), ["Success!"], key);
    assertEquals(await exchange(conn, `GET, ${key}\n`, 1), [value], key);
  }
  await conn.send("LIST\n");
  assertEquals((await conn.readList()).map(parseListLine).toSorted(), pairs.toSorted());
  assertEquals(await exchange(conn, "GET, 이\n", 1), ["Not exist!"]);
  assertEquals(await exchange(conn, "GET, nul\n", 1), ["Not exist!"]);
  for (const [key] of pairs) {
    assertEquals(await exchange(conn, `DELETE, ${key}\n`, 1), ["Success!"], key);
  }
  assertEquals(await exchange(conn, "LIST\n", 2), ["Not exist!", ""]);
  await assertAlive(server.port);
});

Deno.test("serve() refuses an empty password: no line client could send it, and it would pass for one beyond loopback", () => {
  for (const password of ["", new Uint8Array(0)]) {
    assertThrows(
      () => serve({ port: 0, hostname: "0.0.0.0", password }),
      RangeError,
      "Cannot use an empty password",
    );
  }
});

Deno.test("serve({ verbose: true }) with no log of its own prints its lines to stderr", async () => {
  const printed: string[] = [];
  // The default logger's stderr is console.error: caught here, put back below.
  // deno-lint-ignore no-console
  const consoleError = console.error;
  // deno-lint-ignore no-console
  console.error = (...data: unknown[]) => printed.push(data.join(" "));
  try {
    await using server = serve({ port: 0, verbose: true });
    await using conn = await RawConn.connect(server.addr.port);
    assertEquals(await exchange(conn, "PING\n", 1), ["PONG"]);
  } finally {
    // deno-lint-ignore no-console
    console.error = consoleError;
  }
  assert(
    printed.some((line) => line.includes('"PING" -> "PONG"')),
    `no request line among ${JSON.stringify(printed)}`,
  );
});

Deno.test("kv/server exports the ExposureError serve() throws, for its importers to catch", () => {
  assertThrows(() => serve({ hostname: "0.0.0.0", port: 0 }), ExposureError, "noAuth: true");
});

Deno.test({
  name:
    "serve({ hostname: 'localhost' }) listens with --allow-net=localhost, which does not name 127.0.0.1",
  permissions: { net: ["localhost"] },
  async fn() {
    await using server = serve({ hostname: "localhost", port: 0 });
    using conn = await Deno.connect({ hostname: "localhost", port: server.addr.port });
    await send(conn, "PING\n");
    assertEquals(await readRawLines(conn, 1), ["PONG"]);
  },
});

Deno.test("serve({ hostname: 'localhost', udp: true }) listens on 127.0.0.1, over TCP and UDP", async () => {
  // Where a learner's AF_INET Python client and kv's UDP client look for
  // localhost, whatever the system lists first for the name (macOS: ::1).
  await using server = serve({ hostname: "localhost", port: 0, udp: true });
  assertEquals(server.addr.hostname, "127.0.0.1");
  assertEquals(server.udpAddr?.hostname, "127.0.0.1");
  await using conn = await RawConn.connect(server.addr.port);
  assertEquals(await exchange(conn, "PING\n", 1), ["PONG"]);
});
