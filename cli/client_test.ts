/**
 * Tests of `kv client` against the servers students write, run in-process
 * through `main()` over real sockets on port 0: the textbook server (answers
 * without `\n`, one request per read) in one-shot, batch and REPL modes;
 * `--timeout`; answers printed as they arrive from a stdin that stays open;
 * `\r\n` answers; `--host localhost` over IPv6. The prompt's line editor
 * is in line_editor_test.ts.
 *
 * @module
 */

import { assertEquals, assertStringIncludes } from "@std/assert";
import { main } from "../main.ts";
import {
  FakeIo,
  readRawLines,
  scriptedServer,
  send,
  startTestServer,
  studentServer,
  textbookServer,
  within,
} from "../testing/mod.ts";

async function client(
  port: number,
  args: string[],
  options: ConstructorParameters<typeof FakeIo>[0] = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const fake = new FakeIo(options);
  const code = await main(["client", "-p", String(port), ...args], fake.io);
  return { code, stdout: fake.stdout, stderr: fake.stderr };
}

const NOTE = "kv: note: an answer came without its \\n; it was taken once nothing more came for";
const SLOW = "(--pause-ms; if the server is only slow, give more)";
// The note for an answer the server's close ended: no pause was waited out.
const CLOSED = "the server closed the connection right after it, so it was taken as it came";
// ... and for one the close ended once the requests had (our FIN): a textbook server's loop end.
const CLOSED_AT_END =
  "the server closed the connection once kv client's requests ended (its FIN), so it was taken as it came";
// ... with requests still waiting: all that had come is one answer.
const GLUED_AT_END =
  "the server closed the connection once kv client's requests ended (its FIN), " +
  "so all that had come was taken as one answer: answers without \\n run together";
const KEEPS_NEWLINE =
  "; if an answer looks wrong, try --unframed (a server that does not strip() its last field keeps the \\n kv client sends)";

Deno.test("kv client one-shot takes a textbook server's answer after the pause, with one note", async () => {
  await using server = textbookServer();
  const put = await client(server.port, ["PUT, myname, yyjun"]);
  assertEquals([put.code, put.stdout], [0, "Success!\n"]);
  assertEquals(put.stderr, `${NOTE} 300 ms ${SLOW}${KEEPS_NEWLINE}\n`);
  const get = await client(server.port, ["--pause-ms", "50", "GET, myname"]);
  assertEquals([get.code, get.stdout], [0, "yyjun\n"]);
  assertEquals(get.stderr, `${NOTE} 50 ms ${SLOW}${KEEPS_NEWLINE}\n`);
});

Deno.test("kv client --trace shows the pause that took an answer without its \\n, between recv and close", async () => {
  await using server = textbookServer();
  const { code, stdout, stderr } = await client(server.port, [
    "--trace",
    "--pause-ms",
    "50",
    "PUT, a, 1",
  ]);
  assertEquals([code, stdout], [0, "Success!\n"]);
  const events = stderr.split("\n").filter((line) => line.startsWith("trace client"))
    .map((line) => line.split(/\s+/)[3]);
  assertEquals(events, ["connect", "send", "recv", "pause", "close"]);
  assertStringIncludes(
    stderr,
    " pause (nothing more came for 50 ms: what came is taken as the answer, without its \\n)\n",
  );
});

Deno.test("kv client: an answer the server's close ended is said to be so, not taken after a pause", async (t) => {
  // A server that answers without \n and closes at once: no pause was waited
  // out (a learner's --trace shows the eof right after the recv).
  const closesAfterAnswer = () =>
    scriptedServer(async (conn) => {
      await readRawLines(conn, 1);
      await send(conn, "PONG");
    });
  await t.step("in English", async () => {
    await using server = closesAfterAnswer();
    const result = await client(server.port, ["--pause-ms", "60000", "PING"]);
    assertEquals(result, {
      code: 0,
      stdout: "PONG\n",
      stderr: `kv: note: an answer came without its \\n; ${CLOSED}\n`,
    });
  });
  await t.step("in Korean", async () => {
    await using server = closesAfterAnswer();
    const result = await client(server.port, ["--lang", "ko", "--pause-ms", "60000", "PING"]);
    assertEquals(result, {
      code: 0,
      stdout: "PONG\n",
      stderr: "kv: 참고: 답이 \\n 없이 왔습니다. 서버가 답을 보내고 바로 연결을 닫아서, 받은 " +
        "데까지를 답으로 보았습니다\n",
    });
  });
});

Deno.test("kv client: answers without \\n that the server's close after our FIN ended are said to be so, and may be several", async (t) => {
  // A student's server answered each request (one recv() each), with no \n,
  // and closed once recv() returned b"" (our FIN): the answers ran together,
  // and the close came after the end of our requests, not after its answer.
  const answersThenCloses = () =>
    scriptedServer(async (conn) => {
      await readRawLines(conn, 3);
      await send(conn, "Success!1myname, yyjun");
    });
  const stdin = "PUT, a, 1\nGET, a\nLIST\n";
  await t.step("in English", async () => {
    await using server = answersThenCloses();
    const result = await client(server.port, ["--pause-ms", "60000"], { stdin });
    assertEquals(result, {
      code: 2,
      stdout: "Success!1myname, yyjun\n",
      stderr: `kv: note: an answer came without its \\n; ${GLUED_AT_END}; for a server that ` +
        "reads one request per recv(), send them with --unframed\n" +
        `kv: connection closed by 127.0.0.1:${server.port} once the requests ended, with 2 ` +
        "unanswered (an answer shown may be several run together, as answers without \\n have " +
        "no end to split them at; or a server that reads one request per recv() took requests " +
        "sent together as one, and answered once: send them with --unframed; one that closes " +
        "after each answer takes one request per connection: run kv client once per request)\n",
    });
  });
  await t.step("in Korean", async () => {
    await using server = answersThenCloses();
    const result = await client(server.port, ["--lang", "ko", "--pause-ms", "60000"], { stdin });
    assertEquals(result, {
      code: 2,
      stdout: "Success!1myname, yyjun\n",
      stderr:
        "kv: 참고: 답이 \\n 없이 왔습니다. kv client가 요청을 다 보냈다고 알리자(FIN) 서버가 " +
        "연결을 닫아서, 그때까지 받은 것을 모두 답 하나로 보았습니다: \\n 없는 답들은 서로 붙어 " +
        "버립니다. 서버가 recv() 한 번에 요청 하나를 읽는다면 --unframed로 보내세요\n" +
        `kv: 요청을 다 보내고 나자 서버(127.0.0.1:${server.port})가 답하지 않은 요청 2개를 남기고 ` +
        "연결을 닫았습니다(\\n이 없으면 답을 나눌 곳이 없어서, 출력된 답 하나가 여러 답이 붙은 것일 " +
        "수 있습니다. 아니면 recv() 한 번에 요청 하나를 읽는 서버가 함께 보낸 요청들을 한 요청으로 " +
        "받아 한 번만 답했을 수도 있습니다: --unframed로 보내세요. 서버가 답할 때마다 연결을 " +
        "닫는다면 연결마다 요청을 하나만 받으니, 요청마다 kv client를 따로 실행하세요)\n",
    });
  });
  await t.step("with --unframed, each answer is its own", async () => {
    await using server = textbookServer();
    const result = await client(server.port, ["--unframed", "--pause-ms", "50"], { stdin });
    assertEquals([result.code, result.stdout], [0, "Success!\n1\na, 1\n"]);
  });
});

Deno.test("kv client --unframed batch talks to a textbook server one request at a time", async () => {
  await using server = textbookServer();
  const result = await client(server.port, ["--unframed", "--pause-ms", "50"], {
    stdin: "PUT, name, yyjun\nPUT, age, 20\nGET, name\n\nLIST\nDELETE, age\nGET, age\n",
  });
  assertEquals(
    result.stdout,
    "Success!\nSuccess!\nyyjun\nname, yyjun\nage, 20\nSuccess!\nNot exist!\n",
  );
  assertEquals([result.code, result.stderr], [0, `${NOTE} 50 ms ${SLOW}\n`]);
});

Deno.test("kv client: the --unframed hints come only where they can be right, not after a LIST", async (t) => {
  const recvHint = "; for a server that reads one request per recv(), send them with --unframed";
  await t.step("a batch of one LIST: nothing was sent with it, to be taken with it", async () => {
    // The server closes once the requests end: its answer, and the end of the
    // LIST, came with the close (the LIST was counted as still waiting).
    await using server = textbookServer();
    const result = await client(server.port, ["--pause-ms", "10000"], { stdin: "LIST\n" });
    assertEquals(result, {
      code: 0,
      stdout: "Not exist!\n",
      stderr: `kv: note: an answer came without its \\n; ${CLOSED_AT_END}\n`,
    });
  });
  await t.step("one LIST: it has no field to keep the \\n in", async () => {
    await using server = textbookServer();
    const result = await client(server.port, ["--pause-ms", "50", "LIST"]);
    assertEquals(result, { code: 0, stdout: "Not exist!\n", stderr: `${NOTE} 50 ms ${SLOW}\n` });
  });
  await t.step(
    "at the prompt, LIST first: the hint comes with the first request it fits",
    async () => {
      await using server = textbookServer();
      const result = await client(server.port, ["--pause-ms", "50"], {
        stdin: "LIST\nGET, a\nGET, b\n",
        terminal: true,
      });
      assertEquals(
        result.stderr,
        `${NOTE} 50 ms ${SLOW}\nkv: note: another answer came without its \\n${KEEPS_NEWLINE}\n`,
      );
    },
  );
  await t.step("a LIST whose lines end but that lacks its empty line", async () => {
    await using server = studentServer("list-no-empty-line");
    const note = "kv: note: a LIST answer came without its closing empty line; it was taken once " +
      `nothing more came for 50 ms ${SLOW}\n`;
    const once = await client(server.port, ["--pause-ms", "50", "LIST"]);
    assertEquals(once, { code: 0, stdout: "Not exist!\n", stderr: note });
    // A batch half-closes: the server's close, not the pause, ends the LIST.
    const batch = await client(server.port, ["--pause-ms", "10000"], {
      stdin: "PUT, a, 1\nLIST\n",
    });
    assertEquals(batch, {
      code: 0,
      stdout: "Success!\na, 1\n",
      stderr: `kv: note: a LIST answer came without its closing empty line; ${CLOSED_AT_END}\n`,
    });
  });
  await t.step("a batch whose first answer took several requests still gets it", async () => {
    await using server = textbookServer();
    const result = await client(server.port, ["--pause-ms", "10000"], {
      stdin: "LIST\nGET, a\n",
    });
    assertStringIncludes(
      result.stderr,
      `kv: note: an answer came without its \\n; ${GLUED_AT_END}${recvHint}\n`,
    );
  });
  await t.step("the prompt sends one request at a time: none arrive together", async () => {
    await using server = studentServer("dies-on-extra-fields");
    const result = await client(server.port, [], {
      stdin: "PING\nLIST\nPUT, a, 1, 2\n",
      terminal: true,
    });
    assertEquals(result.code, 2);
    assertEquals(
      result.stderr,
      `kv: connection closed by 127.0.0.1:${server.port} with requests still unanswered ` +
        "(it may have stopped at that request: see its terminal)\n",
    );
  });
});

Deno.test("kv client batch to a textbook server suggests --unframed when answers come glued together", async () => {
  await using server = textbookServer();
  // All three lines in one write: the server's one recv() takes them as one
  // request, and its answers, without \n, run into each other until it closes.
  const result = await client(server.port, [], { stdin: "PUT, y, 1\nGET, y\nLIST\n" });
  assertEquals(result.code, 2);
  assertStringIncludes(result.stderr, `kv: note: an answer came without its \\n; ${GLUED_AT_END}`);
  assertStringIncludes(result.stderr, "send them with --unframed");
});

Deno.test("kv client REPL against a textbook server, with and without --unframed", async () => {
  for (const args of [["--pause-ms", "50"], ["--pause-ms", "50", "--unframed"]]) {
    await using server = textbookServer();
    const prompt = `kv 127.0.0.1:${server.port}> `;
    const result = await client(server.port, args, {
      stdin: "PUT, 이름, 윤영준\nGET, 이름\nLIST\nFOO\nquit\n",
      terminal: true,
    });
    // The banner names the address only: the server may well not be kv.
    assertEquals(
      result.stdout,
      `Connected to 127.0.0.1:${server.port}. Type "help" for the commands.\n` +
        `${prompt}Success!\n${prompt}윤영준\n${prompt}이름, 윤영준\n${prompt}Wrong request!\n` +
        `${prompt}Wrong request!\n`, // The textbook server knows no QUIT; the prompt ends anyway.
    );
    const hint = args.includes("--unframed") ? "" : KEEPS_NEWLINE;
    assertEquals([result.code, result.stderr], [0, `${NOTE} 50 ms ${SLOW}${hint}\n`]);
  }
});

Deno.test("kv client against kv is unchanged: no note, no pause", async () => {
  await using server = startTestServer();
  const result = await client(server.port, ["--unframed"], { stdin: "PUT, a, 1\nGET, a\nLIST\n" });
  assertEquals(result, { code: 0, stdout: "Success!\n1\na, 1\n", stderr: "" });
});

Deno.test("kv client: a LIST whose first key starts with Error: prints the pairs, exit 0", async () => {
  await using server = startTestServer();
  assertEquals((await client(server.port, ["PUT, Error: x, y"])).code, 0);
  const once = await client(server.port, ["LIST"]);
  assertEquals(once, { code: 0, stdout: "Error: x, y\n", stderr: "" });
  const batch = await client(server.port, [], { stdin: "LIST\nPING\n" });
  assertEquals(batch, { code: 0, stdout: "Error: x, y\nPONG\n", stderr: "" });
});

Deno.test("kv client --timeout below a millisecond still gives up (it is not 0, no limit)", async () => {
  await using server = scriptedServer(async (conn) => {
    while (await conn.read(new Uint8Array(64)) !== null);
  });
  const result = await client(server.port, ["--timeout", "0.0001", "PING"]);
  assertEquals([result.code, result.stdout], [1, ""]);
  assertStringIncludes(result.stderr, "kv: no answer from");
});

Deno.test("kv client --timeout shows what arrived and the likely cause, exit 1", async (t) => {
  await t.step("nothing arrived", async () => {
    await using server = scriptedServer(async (conn) => {
      while (await conn.read(new Uint8Array(64)) !== null);
    });
    const result = await client(server.port, ["--timeout", "0.2", "PING"]);
    assertEquals([result.code, result.stdout], [1, ""]);
    assertEquals(
      result.stderr,
      `kv: no answer from 127.0.0.1:${server.port} within 0.2 s\n` +
        "kv: nothing arrived: the server may be serving another client (a server that serves one " +
        "client at a time answers only once the others leave), or be waiting for more of the " +
        "request (try --unframed), or its code for this client may have stopped on an error at " +
        "this request, leaving the connection open (is there a traceback where the server runs?), " +
        "or its process may be stopped (Ctrl-Z in its terminal stops it, Ctrl-C ends it: fg there " +
        "resumes it)\n",
    );
  });
  await t.step("an answer without \\n and no pause", async () => {
    await using server = scriptedServer(async (conn) => {
      await conn.read(new Uint8Array(64));
      await send(conn, "Success!");
      while (await conn.read(new Uint8Array(64)) !== null);
    });
    const result = await client(server.port, ["--timeout", "0.3", "--pause-ms", "0", "PING"]);
    assertEquals(result.code, 1);
    assertStringIncludes(
      result.stderr,
      'kv: got 8 bytes, "Success!", with no \\n after them: answers must end with \\n',
    );
  });
  await t.step("in the REPL too", async () => {
    await using server = scriptedServer(async (conn) => {
      while (await conn.read(new Uint8Array(64)) !== null);
    });
    const result = await client(server.port, ["--timeout", "0.2"], {
      stdin: "PING\n",
      terminal: true,
    });
    assertEquals(result.code, 1);
    assertStringIncludes(result.stderr, "within 0.2 s\nkv: nothing arrived");
  });
});

Deno.test("kv client batch prints each answer as it arrives, while stdin stays open", async () => {
  await using server = startTestServer();
  const stdin = Promise.withResolvers<ReadableStreamDefaultController<Uint8Array>>();
  const fake = new FakeIo({ stdin: new ReadableStream({ start: (c) => stdin.resolve(c) }) });
  const input = await stdin.promise;
  const exit = main(["client", "-p", String(server.port)], fake.io);
  input.enqueue(new TextEncoder().encode("PING\n"));
  await within("the first answer", fake.waitForStdout(/^PONG\n$/));
  input.enqueue(new TextEncoder().encode("GET, a\n"));
  await within("the second answer", fake.waitForStdout(/^PONG\nNot exist!\n$/));
  input.close();
  assertEquals(await exit, 0);
});

Deno.test("kv client accepts answers that end with \\r\\n, LIST included", async () => {
  await using server = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(1024);
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      const request = new TextDecoder().decode(buffer.subarray(0, n));
      await send(conn, request.startsWith("LIST") ? "a, 1\r\nb, 2\r\n\r\n" : "Success!\r\n");
    }
  });
  for (const request of ["LIST", "PUT, a, 1"]) {
    const result = await client(server.port, ["--timeout", "2", request]);
    const expected = request === "LIST" ? "a, 1\nb, 2\n" : "Success!\n";
    assertEquals(result, { code: 0, stdout: expected, stderr: "" });
  }
});

Deno.test("kv client --host localhost reaches a server on ::1 and on 127.0.0.1", async () => {
  for (const hostname of ["::1", "127.0.0.1"]) {
    await using server = startTestServer({ hostname });
    const fake = new FakeIo();
    const code = await main(
      ["client", "--host", "localhost", "-p", String(server.port), "PING"],
      fake.io,
    );
    assertEquals([code, fake.stdout, fake.stderr], [0, "PONG\n", ""], hostname);
  }
});

Deno.test("kv client sends AUTH first with --tls and --password-file (files it may not read: one line)", async () => {
  const fake = new FakeIo();
  const code = await main(["client", "--password-file", "pw.txt", "PING"], fake.io);
  assertEquals(code, 2);
  assertEquals(
    fake.stderr.split("\n")[0],
    'kv: cannot read --password-file "pw.txt": permission denied (run with --allow-read=pw.txt)',
  );
});
