/**
 * Tests of `kv client < FILE` against servers that do not frame their
 * answers as kv does, run in-process through `main(args, io)` over real
 * sockets on port 0: a textbook server that takes a batch as one request,
 * answers run together or cut off by the close, more answer lines than
 * requests (a `b""` loop, a slow close), and the notes and hints that say
 * so, in English and Korean.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { readRawLines, runClient, scriptedServer, send } from "../testing/mod.ts";

Deno.test("main() client in batch mode: fewer answers than requests, each with its \\n, then the close: --unframed is named", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 4);
    // Two recv()s took the four requests, each read answered once.
    await send(conn, "Success!\nNot exist!\n");
  });
  const { code, stdout, stderr } = await runClient(server.port, [], {
    stdin: "PUT, x, 1\nGET, x\nPUT, y, 2\nGET, y\n",
  });
  await server.done;
  assertEquals([code, stdout], [2, "Success!\nNot exist!\n"]);
  assertEquals(
    stderr,
    `kv: connection closed by 127.0.0.1:${server.port} with requests still unanswered (a server that reads one request per recv() takes requests that arrive together as one, and answers once for them: send them with --unframed, one at a time; or it stopped at a request: see its terminal)\n`,
  );
});

Deno.test("main() client in batch mode: a textbook server that takes the batch as one request is told of --unframed", async () => {
  await using server = scriptedServer(async (conn) => {
    // One recv() took every line: one answer, no \n; the end of the requests ends the loop.
    await readRawLines(conn, 3);
    await send(conn, "Success!");
    while (await conn.read(new Uint8Array(64)) !== null);
  });
  const { code, stdout, stderr } = await runClient(server.port, ["--pause-ms", "50"], {
    stdin: "PUT,a,1\nGET,a\nLIST\n",
  });
  await server.done;
  assertEquals([code, stdout], [2, "Success!\n"]);
  assertStringIncludes(
    stderr,
    `kv: connection closed by 127.0.0.1:${server.port} once the requests ended, with 2 unanswered (an answer shown may be several run together, as answers without \\n have no end to split them at; or a server that reads one request per recv() took requests sent together as one, and answered once: send them with --unframed; one that closes after each answer takes one request per connection: run kv client once per request)\n`,
  );
});

Deno.test("main() client in batch mode: a LIST without its empty line that took the answers after it is said so", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 3);
    await send(conn, "a, 1\n1\nSuccess!\n"); // LIST's pair, then GET's and PUT's answers.
    while (await conn.read(new Uint8Array(64)) !== null);
  });
  const { code, stderr } = await runClient(server.port, ["--pause-ms", "50"], {
    stdin: "LIST\nGET,a\nPUT,b,2\n",
  });
  await server.done;
  assertEquals(code, 2);
  assertStringIncludes(
    stderr,
    "with 2 unanswered (its LIST answer has no empty line at the end, so the answers after a LIST were read as part of it",
  );
});

Deno.test("main() client in batch mode says when the server sent more answers than requests, in English and in Korean", async (t) => {
  // A request read in two pieces, each answered.
  const inPieces = () =>
    scriptedServer(async (conn) => {
      await readRawLines(conn, 1);
      await send(conn, "Success!\nError: wrong request\n");
      while (await conn.read(new Uint8Array(64)) !== null);
    });
  await t.step("in English", async () => {
    await using server = inPieces();
    const { code, stdout, stderr } = await runClient(server.port, [], { stdin: "PUT, a, 1\n" });
    await server.done;
    assertEquals([code, stdout], [0, "Success!\n"]);
    assertEquals(
      stderr,
      'kv: note: the server sent 1 more answer line(s) than there were requests ("Error: wrong request"): ' +
        "a server that reads a long request in pieces (one recv(1024) at a time) answers each piece\n",
    );
  });
  await t.step("in Korean, with --lang ko", async () => {
    await using server = inPieces();
    const run = await runClient(server.port, ["--lang", "ko"], { stdin: "PUT, a, 1\n" });
    await server.done;
    assertEquals(run, {
      code: 0,
      stdout: "Success!\n",
      stderr:
        'kv: 참고: 서버가 요청 수보다 답 줄을 1줄 더 보냈습니다("Error: wrong request"): 긴 ' +
        "요청을 조각으로 나눠 읽는 서버(recv(1024)를 여러 번)는 조각마다 답합니다\n",
    });
  });
});

Deno.test('main() client in batch mode stops reading the b"" loop of a server that answers on after the end of the requests, in English and in Korean', async (t) => {
  // The textbook loop without `if not data: break`: recv() gives b"" for
  // ever after the client's FIN, and each is answered, as fast as it can.
  const bLoop = () =>
    scriptedServer(async (conn) => {
      await readRawLines(conn, 1);
      await send(conn, "Success!\n");
      try {
        while (await conn.read(new Uint8Array(64)) !== null);
        const lines = "Wrong request!\n".repeat(4096);
        for (;;) await send(conn, lines);
      } catch {
        // The client stopped reading and closed.
      }
    });
  const kept =
    "Wrong request!\\nWrong request!\\nWrong request!\\nWrong request!\\nWrong request!…" +
    "(14999 bytes)…request!\\nWrong request!";
  await t.step("in English", async () => {
    await using server = bLoop();
    const started = performance.now();
    const run = await runClient(server.port, [], { stdin: "PUT, a, 1\n" });
    await server.done;
    assertEquals(run, {
      code: 0,
      stdout: "Success!\n",
      stderr:
        `kv: note: the server sent more than 1,000 answer lines past the requests ("${kept}"), ` +
        "and kv client stopped reading them: it sends without end (does its loop stop when recv() " +
        'returns b"", at the end of the requests: our FIN, shutdown(SHUT_WR)?)\n',
    });
    // Said at once: 1,000 lines, not the flood (620,544 lines held, 1 s, 134 MB).
    assert(performance.now() - started < 1_000, "the flood was not read for a while first");
  });
  await t.step("in Korean, with --lang ko", async () => {
    await using server = bLoop();
    const run = await runClient(server.port, ["--lang", "ko"], { stdin: "PUT, a, 1\n" });
    await server.done;
    assertEquals(
      run.stderr,
      `kv: 참고: 서버가 요청 수보다 답 줄을 1,000줄 넘게 더 보내서("${kept}") kv client가 읽기를 ` +
        "멈췄습니다: 서버가 끝없이 보내고 있습니다. 요청이 끝나(kv client의 FIN, shutdown(SHUT_WR)) " +
        'recv()가 b""를 돌려줄 때 서버의 루프가 멈추나요?\n',
    );
  });
});

Deno.test('main() client in batch mode names the b"" loop of a server that answers on slowly, short of the bound', async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, "Success!\n");
    try {
      while (await conn.read(new Uint8Array(64)) !== null);
      // A line every 20 ms: far from 1,000 lines while kv client waits.
      for (;;) {
        await send(conn, "Wrong request!\n");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } catch {
      // The client closed.
    }
  });
  const { code, stdout, stderr } = await runClient(server.port, [], { stdin: "PUT, a, 1\n" });
  await server.done;
  assertEquals([code, stdout], [0, "Success!\n"]);
  assertMatch(
    stderr,
    /^kv: note: the server sent \d+ more answer line\(s\) than there were requests \(".*"\): it kept sending after the end of the requests \(our FIN, shutdown\(SHUT_WR\)\) and did not close: does its loop stop when recv\(\) returns b""\?\n$/,
  );
});

Deno.test('main() client in batch mode: extra lines from a server slow to close are not called a b"" loop', async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, "Success!\nError: wrong request\n"); // A request read in two pieces.
    while (await conn.read(new Uint8Array(64)) !== null);
    // The close comes late (a far link, a busy server), and nothing more before it.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
  });
  const { code, stderr } = await runClient(server.port, [], { stdin: "PUT, a, 1\n" });
  await server.done;
  assertEquals(code, 0);
  assertStringIncludes(stderr, "a server that reads a long request in pieces");
});

Deno.test("main() client in batch mode: extra lines with an empty one among them are blamed on the answer, not on pieces", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    // A LIST whose values kept their \n: an empty line after each pair.
    await send(conn, "a,  1\n\nb,  2\n\n");
    while (await conn.read(new Uint8Array(64)) !== null);
  });
  const { stdout, stderr } = await runClient(server.port, [], { stdin: "LIST\n" });
  await server.done;
  assertEquals(stdout, "a,  1\n");
  assertStringIncludes(stderr, "an answer with an empty line inside it");
  assertEquals(stderr.includes("recv(1024)"), false, stderr);
});

Deno.test("main() client --pause-ms 0: an answer the close cuts off is an error that shows it; bytes past the last answer are still said", async (t) => {
  await t.step("cut off: exit 1, what came, and what to do", async () => {
    await using server = scriptedServer(async (conn) => {
      await readRawLines(conn, 1);
      await send(conn, "PONG"); // A textbook answer: no \n, then the close.
    });
    const run = await runClient(server.port, ["--pause-ms", "0"], { stdin: "PING\n" });
    assertEquals([run.code, run.stdout], [1, ""]);
    assertStringIncludes(
      run.stderr,
      'in the middle of an answer (4 bytes of it came, "PONG", with no \\n): answers must end with \\n (or give --pause-ms above 0',
    );
  });
  await t.step("past the last answer: the note, not silence", async () => {
    await using server = scriptedServer(async (conn) => {
      await readRawLines(conn, 1);
      await send(conn, "PONG\nPONG");
      while (await conn.read(new Uint8Array(64)) !== null);
    });
    const run = await runClient(server.port, ["--pause-ms", "0"], { stdin: "PING\n" });
    assertEquals([run.code, run.stdout], [0, "PONG\n"]);
    assertStringIncludes(
      run.stderr,
      'the server sent 1 more answer line(s) than there were requests ("PONG")',
    );
  });
});
