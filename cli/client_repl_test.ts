/**
 * Tests of `kv client` on a terminal, its prompt: the banner and the
 * address in the prompt, help, input split across reads, and the ways out
 * (exit, QUIT, end of input, Ctrl-C while an answer is awaited). Run in-process through `main(args, io)` over
 * real sockets on port 0.
 *
 * @module
 */

import { assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import type { LineEditor } from "./line_editor.ts";
import { main } from "./main.ts";
import {
  FakeIo,
  gate,
  readAll,
  readRawLines,
  runClient,
  scriptedServer,
  scriptedUdpServer,
  send,
  startTestServer,
  UNKNOWN_FOO,
  within,
} from "../testing/mod.ts";

const encoder = new TextEncoder();

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
    `Connected to 127.0.0.1:${server.port}. Type "help" for the commands.\n` +
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
    `Connected to 127.0.0.1:${server.port}. Type "help" for the commands.\n`,
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
  const banner = `Connected to 127.0.0.1:${server.port}. Type "help" for the commands.\n`;
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

Deno.test("main() client on a terminal: a server that closed right after its first answer is named at the next request", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, "Success!\n"); // Then the close: one request per connection.
  });
  const encoded = new TextEncoder();
  // The second request is typed once the server has closed.
  const stdin = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(encoded.encode("PUT, a, 1\n"));
      await server.done;
      controller.enqueue(encoded.encode("GET, a\n"));
      controller.close();
    },
  });
  const { code, stderr } = await runClient(server.port, [], { stdin, terminal: true });
  assertEquals(code, 2);
  assertStringIncludes(
    stderr,
    "(a server that closes after each answer takes one request per connection: run kv client once per request)",
  );
});

Deno.test("main() client on a terminal: an answer that is not UTF-8 is shown as bytes with the hint, and the prompt goes on", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, new Uint8Array([0xc8, 0xab, 0xb1, 0xe6, 0xb5, 0xbf, 0x0a])); // "홍길동" in cp949
    await readRawLines(conn, 1);
    await send(conn, "PONG\n");
    await readRawLines(conn, 1);
    await send(conn, "Bye!\n");
  });
  const prompt = `kv 127.0.0.1:${server.port}> `;
  const { code, stdout, stderr } = await runClient(server.port, [], {
    stdin: "GET, 이름\nPING\nquit\n",
    terminal: true,
  });
  assertEquals(
    stderr,
    `kv: 127.0.0.1:${server.port} sent an answer line that is not UTF-8: ` +
      '"\\xc8\\xab\\xb1\\xe6\\xb5\\xbf" (it reads as cp949: "홍길동"; answers are UTF-8 text: ' +
      'encode them with .encode() or .encode("utf-8"), not "cp949")\n',
  );
  assertEquals(stdout.split(prompt).slice(1), ["", "PONG\n", "Bye!\n"]);
  assertEquals(code, 0);
  await server.done;
});

Deno.test("main() client --trace on a terminal: a password typed after AUTH never shows in the trace", async () => {
  await using server = startTestServer({ password: "sekret" });
  const { code, stdout, stderr } = await runClient(server.port, ["--trace"], {
    stdin: "AUTH\nsekret\nPUT, k, v\nAUTH, sekret\nquit\n",
    terminal: true,
  });
  assertEquals(code, 0);
  assertStringIncludes(stdout, "Success!");
  assertMatch(stderr, /send +bytes=13 "AUTH, \*\*\*\\n"/);
  assertEquals(stderr.includes("sekret"), false, stderr);
});

Deno.test("main() client --udp on a terminal: quit leaves without sending it (no connection to end), as exit does", async () => {
  const sent: string[] = [];
  await using server = scriptedUdpServer((data) => {
    const text = new TextDecoder().decode(data);
    sent.push(text);
    return text === "PING\n" ? "PONG\n" : "Bye!\n";
  });
  const prompt = `kv udp 127.0.0.1:${server.port}> `;
  for (const typed of ["quit", " QuIt\r", "exit"]) {
    const { code, stdout, stderr } = await runClient(server.port, ["--udp"], {
      stdin: `PING\n${typed}\nPING\n`,
      terminal: true,
    });
    assertEquals([code, stderr], [0, ""], typed);
    assertEquals(stdout.split(prompt).slice(1), ["PONG\n", ""], typed);
  }
  assertEquals(sent, ["PING\n", "PING\n", "PING\n"]);
  const { stdout } = await runClient(server.port, ["--udp"], { stdin: "help\n", terminal: true });
  assertStringIncludes(
    stdout,
    "  quit               leave, as exit and Ctrl-D do (nothing is sent",
  );
});

/** A line editor that types `typed`, and whose Ctrl-C the test presses. */
function standInEditor(typed: string[]): { editor: LineEditor; pressCtrlC(): void } {
  const interrupts = new AbortController();
  const editor: LineEditor = {
    interrupted: interrupts.signal,
    readLine: () => Promise.resolve(typed.shift() ?? null),
    readSecret: () => Promise.resolve(null),
    forgetLast() {},
    close() {},
  };
  return { editor, pressCtrlC: () => interrupts.abort() };
}

Deno.test("main() client on a terminal: Ctrl-C while it waits for an answer stops it at once with 130", async () => {
  const asked = Promise.withResolvers<void>();
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    asked.resolve();
    await readAll(conn); // No answer: the client's close ends it.
  });
  const typed = ["GET, a", "PING"];
  const { editor, pressCtrlC } = standInEditor(typed);
  const fake = new FakeIo({ terminal: true });
  fake.io.openLineEditor = () => Promise.resolve(editor);
  const running = main(["client", "--port", String(server.port), "--timeout", "20"], fake.io);
  await asked.promise;
  pressCtrlC();
  assertEquals(await running, 130);
  assertEquals(fake.stderr, "kv: stopped with Ctrl-C while waiting for an answer\n");
  assertEquals(typed, ["PING"], "nothing more was read or sent");
  await server.done;
});

Deno.test("main() client --udp on a terminal: Ctrl-C while it waits stops it at once, its socket closed", async () => {
  const asked = Promise.withResolvers<void>();
  await using server = scriptedUdpServer(() => (asked.resolve(), undefined)); // Never answers.
  const { editor, pressCtrlC } = standInEditor(["GET, a"]);
  const fake = new FakeIo({ terminal: true });
  fake.io.openLineEditor = () => Promise.resolve(editor);
  const running = main(
    ["client", "--udp", "--port", String(server.port), "--timeout", "20", "--retries", "0"],
    fake.io,
  );
  await asked.promise;
  pressCtrlC();
  assertEquals(await running, 130);
  // The try was stopped, not left to time out: nothing more is said, and
  // the test's sanitizers find no socket or timer left behind.
  assertEquals(fake.stderr, "kv: stopped with Ctrl-C while waiting for an answer\n");
});

Deno.test("main() client on a terminal: each request lets go of its Ctrl-C listener once answered", async () => {
  await using server = startTestServer();
  const { editor } = standInEditor(["PING", "PUT, a, 1", "GET, a"]);
  // Counted on the signal itself: a listener left behind keeps its answer alive for the session.
  const signal = editor.interrupted!;
  let listening = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<typeof add>) => (listening++, add(...args));
  signal.removeEventListener = (
    ...args: Parameters<typeof remove>
  ) => (listening--, remove(...args));
  const fake = new FakeIo({ terminal: true });
  fake.io.openLineEditor = () => Promise.resolve(editor);
  assertEquals(await main(["client", "--port", String(server.port)], fake.io), 0);
  assertStringIncludes(fake.stdout, "PONG\nSuccess!\n1\n");
  assertEquals(listening, 0);
});

Deno.test("main() client --lang ko on a terminal: the AUTH tip and Ctrl-C's line in Korean", async () => {
  await using server = startTestServer();
  const tip = await runClient(server.port, ["--lang", "ko"], {
    stdin: "AUTH, secret\n",
    terminal: true,
  });
  assertEquals(
    tip.stderr,
    "kv: 참고: 비밀번호가 화면에 보이지 않게 하려면 AUTH만 입력하세요(그러면 비밀번호를 따로 " +
      "묻습니다)\n",
  );
  const asked = Promise.withResolvers<void>();
  await using silent = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    asked.resolve();
    await readAll(conn); // No answer: the client's close ends it.
  });
  const { editor, pressCtrlC } = standInEditor(["GET, a"]);
  const fake = new FakeIo({ terminal: true });
  fake.io.openLineEditor = () => Promise.resolve(editor);
  const running = main(["client", "--lang", "ko", "--port", String(silent.port)], fake.io);
  await asked.promise;
  pressCtrlC();
  assertEquals(await running, 130);
  assertEquals(fake.stderr, "kv: 답을 기다리는 중에 Ctrl-C로 멈췄습니다\n");
});

Deno.test("main() client on a terminal prints a LIST's lines as they come, not gathered whole", async () => {
  // A LIST whose end has not come (one that never ends grew the memory
  // without limit): its lines are on the screen before it.
  const end = gate();
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, "a, 1\nb, 2\n");
    await end.wait;
    await send(conn, "c, 3\n\n");
    await readAll(conn);
  });
  const fake = new FakeIo({ terminal: true, stdin: "LIST\n" });
  // --pause-ms 0: the pause does not take the LIST as it stands.
  const running = main(["client", "--pause-ms", "0", "--port", String(server.port)], fake.io);
  try {
    await within("the first lines on stdout", fake.waitForStdout(/> a, 1\nb, 2\n$/));
  } finally {
    end.open();
    assertEquals(await running, 0);
  }
  const prompt = `kv 127.0.0.1:${server.port}> `;
  assertEquals(
    fake.stdout,
    `Connected to 127.0.0.1:${server.port}. Type "help" for the commands.\n` +
      `${prompt}a, 1\nb, 2\nc, 3\n${prompt}\n`,
  );
  await server.done;
});

Deno.test("main() client on a terminal: a server that sends lines without end while the prompt waits is stopped, and said so, in English and in Korean", async (t) => {
  for (const lang of ["en", "ko"] as const) {
    await t.step(lang, async () => {
      const flooded = Promise.withResolvers<void>();
      await using server = scriptedServer(async (conn) => {
        await readRawLines(conn, 1);
        await send(conn, "PONG\n");
        const lines = "x\n".repeat(64 * 1024);
        try {
          for (;;) await send(conn, lines);
        } catch {
          flooded.resolve(); // kv client stopped reading and closed.
        }
      });
      // The second request is typed once the flood has been stopped.
      const typed = ["PING"];
      const editor: LineEditor = {
        ...standInEditor([]).editor,
        readLine: async () =>
          typed.length > 0
            ? typed.shift()!
            : (await within("the flood's end", flooded.promise), "PING"),
      };
      const fake = new FakeIo({ terminal: true });
      fake.io.openLineEditor = () => Promise.resolve(editor);
      const code = await main(["client", "--lang", lang, "--port", String(server.port)], fake.io);
      await server.done;
      assertEquals(code, 2);
      assertStringIncludes(fake.stdout, "PONG\n");
      const address = `127.0.0.1:${server.port}`;
      assertEquals(
        fake.stderr,
        lang === "en"
          ? `kv: stopped reading ${address}: it sent more answer lines than were asked for (past ` +
            "1,000 lines or 256 KiB with no request waiting): a server that sends without end " +
            '(does its loop stop when recv() returns b""?)\n'
          : `kv: 서버(${address})가 요청이 없는데도 답 줄을 계속 보내서(기다리는 요청 없이 1,000줄 ` +
            "또는 256 KiB를 넘음) kv client가 읽기를 멈추고 연결을 닫았습니다: 서버가 끝없이 보내고 " +
            '있습니다(recv()가 b""를 돌려줄 때 서버의 루프가 멈추나요?)\n',
      );
    });
  }
});
