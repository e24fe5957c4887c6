/**
 * Contract tests for the server over real sockets: a server on 127.0.0.1
 * port 0, spoken to in raw bytes the way `nc` would (PROTOCOL.md). Every
 * test ends by checking that the server still answers PING on a fresh
 * connection.
 */

import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { parseListLine } from "../wire/line/encode.ts";
import { ExposureError, serve } from "./serve.ts";
import { writeAll } from "../net/conn.ts";
import {
  ask,
  assertAlive,
  bytes,
  exchange,
  RawConn,
  startTestServer,
  within,
} from "../testing/mod.ts";
import { TEST_CA, TEST_CERT, TEST_KEY } from "../testing/tls.ts";

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

Deno.test("serve() answers an over-limit line as soon as the limit is passed", async () => {
  await using server = startTestServer({ maxLineBytes: 16 });
  await using conn = await RawConn.connect(server.port);
  const TOO_LONG = "Error: line too long (limit 16 bytes)";
  assertEquals(await exchange(conn, "PING\n", 1), ["PONG"]);
  // No \n yet: the error comes as soon as byte 17 arrives.
  assertEquals(await exchange(conn, "PUT, k, 123456789", 1), [TOO_LONG]);
  // The rest of that line is skipped, whatever it holds; the next line is read.
  await conn.send("more bytes, QUIT, ");
  await conn.send(bytes([0xff, 0xfe], "\r"));
  assertEquals(await exchange(conn, "\nGET, k\n", 1), ["Not exist!"]);
  // Exactly at the limit (the \r counts) is fine; one byte more is not.
  assertEquals(await exchange(conn, "PUT, k, 12345678\n", 1), ["Success!"]);
  assertEquals(await exchange(conn, "GET, k\n", 1), ["12345678"]);
  assertEquals(await exchange(conn, "PUT, k, 1234567\r\n", 1), ["Success!"]);
  assertEquals(await exchange(conn, "GET, k\n", 1), ["1234567"]);
  assertEquals(await exchange(conn, "PUT, k, 12345678\r\nGET, k\n", 2), [TOO_LONG, "1234567"]);
  // The limit counts bytes: 8 + 9 bytes of Korean is over it.
  assertEquals(await exchange(conn, "PUT, k, 가나다\nPING\n", 2), [TOO_LONG, "PONG"]);
  await assertAlive(server.port);
});

Deno.test("serve() answers 10,000 pipelined requests in order, one answer each", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  const requests: string[] = [];
  const answers: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    const [request, answer] = ((): [string, string] => {
      switch (i % 8) {
        case 0:
          return [`PUT, k${i}, v${i}, ${i}`, "Success!"];
        case 1:
          return [`GET, k${i - 1}`, `v${i - 1}, ${i - 1}`];
        case 2:
          return [`get,k${i - 2}\r`, `v${i - 2}, ${i - 2}`];
        case 3:
          return [`DELETE, k${i - 3}`, "Success!"];
        case 4:
          return [`GET, k${i - 4}`, "Not exist!"];
        case 5:
          return ["PING", "PONG"];
        case 6:
          return [`LIST, ${i}`, "Error: usage: LIST"];
        default:
          return [`PUT, 키${i}, 값${i}`, "Success!"];
      }
    })();
    requests.push(request);
    answers.push(answer);
    if (i % 1000 === 999) requests.push("  \t"); // blank: no answer
  }
  // One write holding every request, then QUIT: the server's whole output is
  // the answers in order, one line each, then Bye!.
  const [, output] = await Promise.all([
    conn.send(requests.join("\n") + "\nQUIT\n"),
    conn.readToEnd(),
  ]);
  const lines = output.split("\n");
  assertEquals(lines.length, answers.length + 2, "one answer per request");
  assertEquals(lines, [...answers, "Bye!", ""]);
  assertEquals(await ask(server.port, "GET, 키9999"), "값9999");
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

Deno.test("serve() reads a request split at every byte boundary", async (t) => {
  const put = bytes("PUT, 키, 값😀\r\n");
  const get = bytes("GET, 키\r\n");

  /** Sends `data` in the given pieces, each write awaited. */
  const sendPieces = async (conn: RawConn, pieces: Uint8Array[]) => {
    for (const piece of pieces) await conn.send(piece);
  };
  const byteByByte = (data: Uint8Array) => [...data].map((byte) => Uint8Array.of(byte));

  for (const unframedPauseMs of [100, 0]) {
    await t.step(`unframedPauseMs: ${unframedPauseMs}`, async () => {
      await using server = startTestServer({ unframedPauseMs });
      await using conn = await RawConn.connect(server.port);
      conn.conn.setNoDelay(true);
      if (unframedPauseMs > 0) {
        // Once a \n has been sent, the unframed pause no longer applies.
        assertEquals(await exchange(conn, "PING\n", 1), ["PONG"]);
      }
      await sendPieces(conn, byteByByte(put));
      assertEquals(await readLine(conn), "Success!", "PUT sent byte by byte");
      await sendPieces(conn, byteByByte(get));
      assertEquals(await readLine(conn), "값😀", "GET sent byte by byte");
      for (let at = 1; at < put.length; at++) {
        await sendPieces(conn, [put.subarray(0, at), put.subarray(at)]);
        assertEquals(await readLine(conn), "Success!", `PUT split at byte ${at}`);
      }
      for (let at = 1; at < get.length; at++) {
        await sendPieces(conn, [get.subarray(0, at), get.subarray(at)]);
        assertEquals(await readLine(conn), "값😀", `GET split at byte ${at}`);
      }
      await assertAlive(server.port);
    });
  }
});

Deno.test("serve() answers QUIT with Bye!, closes, and runs no later request", async (t) => {
  await using server = startTestServer();
  await t.step("requests after QUIT in the same write are not answered or run", async () => {
    await using conn = await RawConn.connect(server.port);
    await conn.send("PUT, a, 1\nQUIT\nPUT, b, 2\nPING\n");
    assertEquals(await conn.readToEnd(), "Success!\nBye!\n");
    assertEquals(await ask(server.port, "GET, a"), "1");
    assertEquals(await ask(server.port, "GET, b"), "Not exist!");
  });
  for (const quit of ["quit\n", " QUIT \r\n", "\tQuIt"]) {
    await t.step(JSON.stringify(quit), async () => {
      await using conn = await RawConn.connect(server.port);
      await conn.send("PING\n" + quit);
      if (!quit.endsWith("\n")) await conn.closeWrite();
      assertEquals(await conn.readToEnd(), "PONG\nBye!\n");
    });
  }
  await assertAlive(server.port);
});

/**
 * Sends `head` (requests ending in QUIT) and 1 MiB more in one burst,
 * reading meanwhile, and returns what came back: the answers, then `<eof>`
 * or the error the read ended with.
 */
async function burstPastQuit(conn: Deno.Conn, head: string): Promise<string> {
  const start = new TextEncoder().encode(head);
  const burst = new Uint8Array(start.length + 1024 * 1024).fill(0x78);
  burst.set(start);
  // A write the server cuts short fails too; the reading side says how.
  const sending = writeAll(conn, burst).catch(() => {});
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(64 * 1024);
  let text = "";
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
    text += "<eof>";
  } catch (error) {
    text += `<${error instanceof Error ? error.name : error}>`;
  }
  await sending;
  return text;
}

Deno.test("serve() delivers every answer before QUIT to a client still sending after it, over TCP and TLS", async (t) => {
  // Closing a socket with the client's bytes unread resets the connection,
  // and the reset throws away the answers not yet delivered: a big one over
  // TCP, and any over TLS, whose pipe (server/tls_conn.ts) also lost the race
  // with the reset now and then. So after QUIT the server half-closes and
  // lingers, discarding the rest, as it does after an error that closes.
  const big = "v".repeat(512 * 1024);
  for (const tls of [false, true]) {
    await using server = startTestServer(tls ? { tls: { cert: TEST_CERT, key: TEST_KEY } } : {});
    const connect = () =>
      tls
        ? Deno.connectTls({ hostname: "127.0.0.1", port: server.port, caCerts: [TEST_CA] })
        : Deno.connect({ hostname: "127.0.0.1", port: server.port });
    for (const value of ["1", big]) {
      const cases: [string, string, string][] = [
        ["line", `PUT, a, ${value}\nGET, a\nQUIT\n`, `Success!\n${value}\nBye!\n<eof>`],
        [
          "RESP",
          `*3\r\n$3\r\nSET\r\n$1\r\na\r\n$${value.length}\r\n${value}\r\n` +
          "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n$4\r\nQUIT\r\n",
          `+OK\r\n$${value.length}\r\n${value}\r\n+OK\r\n<eof>`,
        ],
      ];
      for (const [protocol, head, want] of cases) {
        await t.step(
          `${tls ? "TLS" : "TCP"}, ${protocol}, a value of ${value.length} B`,
          async () => {
            for (let run = 0; run < 3; run++) {
              const conn = await connect();
              try {
                const got = await within("the answers, then the end", burstPastQuit(conn, head));
                // Compared by length and ends first: a 512 KiB diff says nothing.
                assertEquals(
                  [got.length, got.slice(0, 12), got.slice(-24)],
                  [want.length, want.slice(0, 12), want.slice(-24)],
                  `run ${run}`,
                );
                assertEquals(got, want);
              } finally {
                conn.close();
              }
            }
          },
        );
      }
    }
  }
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

Deno.test("serve() answers a last line without \\n when the client half-closes", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  await conn.send("PUT, hc, 1\nGET, hc");
  await conn.closeWrite();
  assertEquals(await conn.readToEnd(), "Success!\n1\n");
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
