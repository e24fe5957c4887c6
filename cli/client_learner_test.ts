/**
 * Tests of what `kv client` tells a learner about a server's habits, run
 * in-process through `main()` over real sockets on port 0: a server that
 * greets each client before any request (told, and taken for no answer),
 * and one that closes the connection without a byte (the code serving that
 * client died on an exception). The textbook server's own habits are tested in
 * `client_test.ts`.
 *
 * @module
 */

import { assertEquals, assertStringIncludes } from "@std/assert";
import { runClient as client, studentServer } from "../testing/mod.ts";

Deno.test("kv client says a server that closed without a byte may have died on the request, before it names TLS", async (t) => {
  // `cmd, key = fields` raises ValueError on a third field: the connection closes, unanswered.
  await t.step("one request", async () => {
    await using server = studentServer("dies-on-extra-fields");
    const address = `127.0.0.1:${server.port}`;
    assertEquals(await client(server.port, ["GET, a, b"]), {
      code: 2,
      stdout: "",
      stderr: `kv: connection closed by ${address} before any answer (the code serving this ` +
        "client may have stopped at the request on an exception and closed the socket: is " +
        "there a Traceback in the server's terminal? If it speaks TLS, connect with --tls)\n",
    });
  });
  await t.step("one request, in Korean", async () => {
    await using server = studentServer("dies-on-extra-fields");
    const address = `127.0.0.1:${server.port}`;
    const result = await client(server.port, ["--lang", "ko", "GET, a, b"]);
    assertEquals(
      result.stderr,
      `kv: 서버(${address})가 답을 하나도 보내지 않고 연결을 닫았습니다(이 클라이언트를 맡은 서버 ` +
        "코드가 요청을 처리하다 예외로 멈추고 소켓을 닫았을 수 있습니다: 서버를 실행한 터미널에 " +
        "Traceback이 찍혔나요? TLS를 쓰는 서버라면 --tls로 연결하세요)\n",
    );
  });
  await t.step(
    "a batch: a server of one request per recv() may have read them as one",
    async () => {
      await using server = studentServer("dies-on-extra-fields");
      const result = await client(server.port, [], { stdin: "GET, a, b\nLIST\n" });
      assertEquals(result.code, 2);
      assertEquals(
        result.stderr,
        `kv: connection closed by 127.0.0.1:${server.port} before any answer (the code serving ` +
          "this client may have stopped at a request on an exception and closed the socket (is " +
          "there a Traceback in the server's terminal?); a server that reads one request per " +
          "recv() takes requests that arrive together as one, and may stop at that: send them " +
          "with --unframed, one at a time; if it speaks TLS, connect with --tls)\n",
      );
    },
  );
});

const GREETING = '"Welcome to the kv server!\\n"';

Deno.test("kv client tells a greeting sent before any request, and takes it for no answer", async (t) => {
  // It writes "Welcome to the kv server!\n" as it accepts: every answer would come one late.
  await using server = studentServer("greeting");
  const note = `kv: note: the server sent ${GREETING.replace("\\n", "")} as soon as we connected`;
  await t.step("one request", async () => {
    const result = await client(server.port, ["GET, a"]);
    assertEquals({ code: result.code, stdout: result.stdout }, { code: 0, stdout: "Not exist!\n" });
    assertStringIncludes(result.stderr, `${note}, before any request: it answers no request`);
  });
  await t.step("a batch", async () => {
    const result = await client(server.port, [], { stdin: "PUT, a, 1\nGET, a\n" });
    assertEquals({ code: result.code, stdout: result.stdout }, {
      code: 0,
      stdout: "Success!\n1\n",
    });
    assertStringIncludes(result.stderr, note);
  });
  await t.step("the prompt, in Korean", async () => {
    const result = await client(server.port, ["--lang", "ko"], {
      stdin: "GET, a\nquit\n",
      terminal: true,
    });
    assertStringIncludes(result.stdout, "> 1\n");
    assertStringIncludes(result.stdout, "Bye!\n");
    assertStringIncludes(
      result.stderr,
      '서버가 요청을 받기도 전에, 연결하자마자 "Welcome to the kv server!"을(를) 보냈습니다. 어느 ' +
        "요청의 답도 아니므로 답으로 보지 않았습니다",
    );
  });
});
