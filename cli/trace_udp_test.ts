/**
 * Tests of `--trace` and `--udp` on the command line, run in-process through
 * `main(args, io)` over real sockets on port 0: `kv serve --trace`,
 * `kv serve --udp`, `kv client --trace`, `kv client --udp`.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { main } from "../main.ts";
import {
  closedPort,
  emulateMacosMaxdgram,
  emulateWindowsIcmp,
  FakeIo,
  RawConn,
  scriptedUdpServer,
  startTestServer,
  UdpPeer,
  within,
} from "../testing/mod.ts";

/** Starts `kv serve --port 0 ...args` in-process; `stop()` shuts it down and returns its exit status. */
async function mainServe(args: string[]) {
  const stop = new AbortController();
  const fake = new FakeIo({ signal: stop.signal });
  const status = main(["serve", "--port", "0", ...args], fake.io);
  const [, port] = await within("listening", fake.waitForStdout(/listening on .*:(\d+)\n/));
  return {
    port: Number(port),
    fake,
    stop: () => {
      stop.abort();
      return within("exit status", status);
    },
  };
}

/** Runs `kv client ...args` in-process. */
async function mainClient(args: string[], options: ConstructorParameters<typeof FakeIo>[0] = {}) {
  const fake = new FakeIo(options);
  const code = await main(["client", ...args], fake.io);
  return { code, stdout: fake.stdout, stderr: fake.stderr };
}

/** The event words of the trace lines in `stderr` whose WHO is `who`. */
function traceEvents(stderr: string, who: string): string[] {
  return stderr.split("\n")
    .filter((line) => line.startsWith(`trace ${who} `))
    .map((line) => line.split(" ")[3]!);
}

Deno.test("main() serve --trace writes a plain trace line per socket event to stderr; without it, none", async (t) => {
  for (const traced of [true, false]) {
    await t.step(traced ? "--trace" : "no --trace", async () => {
      const server = await mainServe(traced ? ["--trace"] : []);
      await using conn = await RawConn.connect(server.port);
      await conn.send("PING\n");
      assertEquals(await conn.readLine(), "PONG");
      await conn.closeWrite();
      assert(await conn.closedByServer());
      if (traced) await within("close", server.fake.waitForStderr(/^trace #1 \S+ close /m));
      assertEquals(await server.stop(), 0);
      const { stderr } = server.fake;
      if (!traced) {
        assertEquals(stderr.split("\n").filter((line) => line.includes("trace")), []);
        return;
      }
      assertEquals(traceEvents(stderr, "#1"), [
        ...["accept", "recv", "request", "answer", "send", "eof", "close"],
      ]);
      assertMatch(stderr, /^trace #1 \+\d+\.\d{3}ms recv bytes=5 "PING\\n"$/m);
      assertEquals(traceEvents(stderr, "server"), ["listen", "shutdown", "shutdown"]);
    });
  }
});

Deno.test("main() client --trace traces connect, send, recv and close; a batch half-closes", async (t) => {
  await using server = startTestServer();
  await t.step("one request", async () => {
    const run = await mainClient(["--trace", "-p", String(server.port), "PING"]);
    assertEquals([run.code, run.stdout], [0, "PONG\n"]);
    assertEquals(traceEvents(run.stderr, "client"), ["connect", "send", "recv", "close"]);
    assertMatch(
      run.stderr,
      /^trace client \S+ connect local=127\.0\.0\.1:(\d+) peer=127\.0\.0\.1:\d+ \(handshake done; the OS picked local port \1\)$/m,
    );
    // The course teaches that close() sends FIN: the close says so, as the
    // server's eof says it came.
    assertMatch(
      run.stderr,
      /^trace client \S+ close \(we sent FIN: the server reads the end of the stream\)$/m,
    );
  });
  await t.step("a batch: its FIN after the last request, then the server's", async () => {
    const run = await mainClient(["--trace", "-p", String(server.port)], {
      stdin: "PUT, a, 1\nGET, a\n",
    });
    assertEquals([run.code, run.stdout], [0, "Success!\n1\n"]);
    // Answers may come back while requests are still being sent.
    const events = traceEvents(run.stderr, "client");
    assertEquals(events[0], "connect");
    assert(events.includes("send"));
    assert(events.indexOf("half-close") > events.lastIndexOf("send"), events.join(" "));
    assert(events.includes("recv"));
    assertEquals(events.slice(-2), ["eof", "close"]);
    assertMatch(run.stderr, /^trace client \S+ close \(our FIN went with the half-close\)$/m);
  });
  await t.step("without --trace, no trace lines", async () => {
    const run = await mainClient(["-p", String(server.port), "PING"]);
    assertEquals(run, { code: 0, stdout: "PONG\n", stderr: "" });
  });
  await t.step("a refused connect: a refused line, then the error", async () => {
    const port = closedPort();
    const run = await mainClient(["--trace", "-p", String(port), "PING"]);
    assertEquals([run.code, run.stdout], [2, ""]);
    assertMatch(
      run.stderr,
      new RegExp(
        `^trace client \\S+ refused peer=127\\.0\\.0\\.1:${port} \\(our SYN was answered with RST: nothing listens on that port\\)\nkv: cannot connect`,
      ),
    );
  });
});

Deno.test("main() serve --udp answers datagrams on its port, and client --udp asks them", async () => {
  const server = await mainServe(["--udp"]);
  assertMatch(server.fake.stderr, /answering UDP datagrams on 127\.0\.0\.1:\d+ too/);
  const port = String(server.port);
  assertEquals(await mainClient(["--udp", "-p", port, "PUT,", "fruit,", "사과"]), {
    code: 0,
    stdout: "Success!\n",
    stderr: "",
  });
  assertEquals((await mainClient(["--udp", "-p", port, "LIST"])).stdout, "fruit, 사과\n");
  assertEquals(await mainClient(["--udp", "-p", port, "FOO"]), {
    code: 1,
    stdout: 'Error: unknown command "FOO" (expected PUT, GET, DELETE, LIST, PING or QUIT)\n',
    stderr: "",
  });
  // stdin: each line its own datagram, answered in turn.
  assertEquals(
    await mainClient(["--udp", "-p", port], { stdin: "GET, fruit\n\nDELETE, fruit\nLIST\n" }),
    { code: 0, stdout: "사과\nSuccess!\nNot exist!\n", stderr: "" },
  );
  using peer = new UdpPeer();
  assertEquals(await peer.exchange(server.port, "PING"), "PONG\n");
  assertEquals(await server.stop(), 0);
});

Deno.test("main() client --udp: a stdin that cannot be read is one line, exit 2", async () => {
  const server = await mainServe(["--udp"]);
  const stdin = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new Error("Is a directory (os error 21)"));
    },
  });
  const result = await mainClient(["--udp", "-p", String(server.port)], { stdin });
  assertEquals(result, { code: 2, stdout: "", stderr: "kv: Is a directory (os error 21)\n" });
  assertEquals(await server.stop(), 0);
});

Deno.test("main() client --udp says when an answer needed a retry, and gives up plainly", async (t) => {
  await t.step("a retry", async () => {
    await using lossy = scriptedUdpServer((_data, n) => n === 1 ? undefined : "PONG\n");
    const run = await mainClient([
      ...["--udp", "--trace", "--timeout", "0.05", "-p", String(lossy.port), "PING"],
    ]);
    assertEquals([run.code, run.stdout], [0, "PONG\n"]);
    assertMatch(run.stderr, /^kv: note: the answer came on try 2: a datagram was lost or late/m);
    assertEquals(traceEvents(run.stderr, "client"), [
      ...["bind", "sendto", "timeout", "retry", "sendto", "recvfrom", "close"],
    ]);
  });
  await t.step("no answer", async () => {
    await using silent = scriptedUdpServer(() => undefined);
    const run = await mainClient([
      ...["--udp", "--timeout", "0.02", "--retries", "1", "-p", String(silent.port), "PING"],
    ]);
    assertEquals({ code: run.code, stdout: run.stdout }, { code: 2, stdout: "" });
    assertEquals(
      run.stderr,
      `kv: no answer from 127.0.0.1:${silent.port} over UDP after 2 tries of 20 ms each: UDP ` +
        "promises no delivery (the request or its answer may have been lost; or no UDP server, " +
        "such as kv serve --udp, listens there; or the server answered another address than the " +
        "request came from: it must sendto() the address its recvfrom() returned)\n",
    );
    assertEquals(silent.received(), 2);
  });
  await t.step("in Korean, with --lang ko, as the notes over TCP are", async () => {
    await using lossy = scriptedUdpServer((_data, n) => n === 1 ? undefined : "PONG\n");
    const retried = await mainClient([
      ...["--udp", "--lang", "ko", "--timeout", "0.05", "-p", String(lossy.port), "PING"],
    ]);
    assertEquals(retried, {
      code: 0,
      stdout: "PONG\n",
      stderr:
        "kv: 참고: 2번째 보낸 뒤에야 답이 왔습니다: 데이터그램이 사라졌거나 늦었습니다(요청이 두 번 이상 실행되었을 수도 있습니다)\n",
    });
    await using silent = scriptedUdpServer(() => undefined);
    const lost = await mainClient([
      ...["--udp", "--lang", "ko", "--timeout", "0.02", "--retries", "1"],
      ...["-p", String(silent.port), "PING"],
    ]);
    assertEquals(lost, {
      code: 2,
      stdout: "",
      stderr:
        `kv: 서버(127.0.0.1:${silent.port})에 UDP로 2번 보냈지만(매번 20 ms씩 기다림) 답이 없었습니다: UDP는 전달을 약속하지 않습니다(요청이나 그 답이 사라졌을 수도 있고, 그 주소에서 kv serve --udp 같은 UDP 서버가 기다리지 않을 수도 있고, 서버가 요청이 온 곳이 아닌 다른 주소로 답했을 수도 있습니다: 답은 recvfrom()이 돌려준 주소로 sendto()해야 합니다)\n`,
    });
  });
  await t.step("a bad --timeout is a usage error, and so is --retries without --udp", async () => {
    const run = await mainClient(["--udp", "--timeout", "0", "PING"]);
    assertEquals(run.code, 2);
    assertMatch(run.stderr, /^kv: cannot use --timeout "0": expected seconds/);
    const tcp = await mainClient(["--retries", "3", "PING"]);
    assertEquals(tcp.code, 2);
    assertMatch(tcp.stderr, /^kv: --retries needs --udp\n/);
  });
});

Deno.test("main() client --udp on Windows, to a port nothing listens on: says so at once, not as a connection forcibly closed", async () => {
  // Windows reports the ICMP port unreachable that comes back as the next receive's error
  // (WSAECONNRESET, 10054: "An existing connection was forcibly closed by the remote host"),
  // which the client printed as its reason for a UDP send that "cannot send".
  const port = closedPort();
  using _windows = emulateWindowsIcmp(new Set([port]));
  const run = await mainClient(["--udp", "--trace", "-p", String(port), "PING"]);
  assertEquals({ code: run.code, stdout: run.stdout }, { code: 2, stdout: "" });
  assertStringIncludes(
    run.stderr,
    `kv: no UDP server listens on 127.0.0.1:${port}: its host answered "port unreachable" ` +
      '(ICMP; Windows reports it as error 10054, "connection forcibly closed"): start a UDP ' +
      "server there (such as kv serve --udp), or check --host and --port\n",
  );
  assertEquals(traceEvents(run.stderr, "client"), ["bind", "sendto", "unreachable", "close"]);
  const ko = await mainClient(["--udp", "--lang", "ko", "-p", String(port), "PING"]);
  assertEquals(ko.code, 2);
  assertStringIncludes(ko.stderr, `kv: 127.0.0.1:${port}에서 기다리는 UDP 서버가 없습니다`);
});

Deno.test("main() client --udp shows an answer that does not end with \\n, as the course's UDP servers send, with one note", async (t) => {
  // The course's UDP example answers with the bare text; a datagram is the whole answer.
  const decoder = new TextDecoder();
  await using textbook = scriptedUdpServer((data) => {
    const request = decoder.decode(data).trim();
    if (request.startsWith("PUT")) return "Success!";
    if (request === "LIST") return "a, 1\nb, 2";
    return "Not exist!";
  });
  const port = String(textbook.port);
  const note =
    "kv: note: the server does not end its answers with \\n; over UDP a datagram is one whole answer, so it is shown as it came\n";
  await t.step("one request", async () => {
    assertEquals(await mainClient(["--udp", "-p", port, "PUT, a, 1"]), {
      code: 0,
      stdout: "Success!\n",
      stderr: note,
    });
  });
  await t.step("from stdin: every answer, the note once", async () => {
    assertEquals(
      await mainClient(["--udp", "-p", port], { stdin: "PUT, b, 2\nLIST\nGET, c\n" }),
      { code: 0, stdout: "Success!\na, 1\nb, 2\nNot exist!\n", stderr: note },
    );
  });
  await t.step("in Korean, with --lang ko", async () => {
    assertEquals(await mainClient(["--udp", "--lang", "ko", "-p", port, "PUT, a, 1"]), {
      code: 0,
      stdout: "Success!\n",
      stderr:
        "kv: 참고: 서버가 답을 \\n으로 끝내지 않습니다. UDP에서는 데이터그램 하나가 답 전체이므로 받은 그대로 보여 줍니다\n",
    });
  });
});

Deno.test("main() client --udp shows an answer that is not UTF-8 as bytes, with the likely cause, as over TCP", async (t) => {
  // A Korean student's server that encodes its answers in cp949: 홍길동.
  const cp949 = Uint8Array.from([0xc8, 0xab, 0xb1, 0xe6, 0xb5, 0xbf, 0x0a]);
  await using server = scriptedUdpServer(() => cp949);
  const port = String(server.port);
  await t.step("in English", async () => {
    const run = await mainClient(["--udp", "-p", port, "--lang", "en", "GET, name"]);
    assertEquals([run.code, run.stdout], [2, ""]);
    assertEquals(
      run.stderr,
      `kv: 127.0.0.1:${port} sent an answer line that is not UTF-8: "\\xc8\\xab\\xb1\\xe6\\xb5\\xbf" ` +
        '(it reads as cp949: "홍길동"; answers are UTF-8 text: encode them with .encode() or .encode("utf-8"), not "cp949")\n',
    );
  });
  await t.step("in Korean", async () => {
    const run = await mainClient(["--udp", "-p", port, "--lang", "ko", "GET, name"]);
    assertEquals(run.code, 2);
    assertStringIncludes(run.stderr, '(cp949로 읽으면 "홍길동"입니다.');
  });
});

Deno.test("main() client --udp on a terminal: a prompt with help, which goes on after a lost datagram", async () => {
  await using lossy = scriptedUdpServer((_data, n) => n === 2 ? undefined : "PONG\n");
  const prompt = `kv udp 127.0.0.1:${lossy.port}> `;
  const run = await mainClient(
    ["--udp", "--timeout", "0.02", "--retries", "0", "-p", String(lossy.port)],
    { stdin: "help\nPING\nPING\nPING\n", terminal: true },
  );
  assertEquals(run.code, 0);
  const [banner, help, ...rest] = run.stdout.split(prompt);
  assertEquals(
    banner,
    `Sending to 127.0.0.1:${lossy.port} over UDP, a datagram per request. Type "help" for the commands.\n`,
  );
  assertMatch(help!, /^Type a request and press Enter/);
  assertEquals(help!.includes("AUTH"), false, "no AUTH over UDP");
  // The second PING was lost: said on stderr, and the third is still sent.
  assertEquals(rest, ["PONG\n", "", "PONG\n", "\n"]);
  assertMatch(run.stderr, /^kv: no answer from 127\.0\.0\.1:\d+ over UDP after 1 try of 20 ms/);
  assertEquals(lossy.received(), 3);
});

Deno.test({
  name: "main() client --udp without net permission says how to get it, in one line: exit 2",
  // Sending to the port alone is allowed; binding the client's own port is not.
  permissions: { net: ["127.0.0.1:9"] },
  async fn() {
    const run = await mainClient(["--udp", "-p", "9", "PING"]);
    assertEquals([run.code, run.stdout], [2, ""]);
    assertEquals(
      run.stderr,
      "kv: cannot send to 127.0.0.1:9 over UDP: permission denied (run with --allow-net: the client binds a local port as well as sending)\n",
    );
  },
});

Deno.test({
  name: "main() client --udp --lang ko says in Korean that it may not bind its port",
  permissions: { net: ["127.0.0.1:9"] },
  async fn() {
    const run = await mainClient(["--udp", "--lang", "ko", "-p", "9", "PING"]);
    assertEquals(run, {
      code: 2,
      stdout: "",
      stderr: "kv: UDP로 서버(127.0.0.1:9)에 보낼 수 없습니다: 권한이 없습니다(--allow-net으로 " +
        "실행하세요: 클라이언트는 보내는 것 말고도 자기 로컬 포트를 bind합니다)\n",
    });
  },
});

Deno.test("main() client --udp: a send that fails is said in Korean too, with --lang ko", async (t) => {
  await using server = scriptedUdpServer(() => "PONG\n");
  const port = String(server.port);
  // Past 65,507 bytes no IPv4 datagram holds it: sendto() fails (EMSGSIZE), and nothing is sent.
  const long = `PUT, a, ${"x".repeat(70_000)}`;
  await t.step("a request too long for one datagram", async () => {
    const english = await mainClient(["--udp", "--lang", "en", "-p", port, long]);
    assertEquals([english.code, english.stdout], [2, ""]);
    assertMatch(english.stderr, /^kv: cannot send to 127\.0\.0\.1:\d+ over UDP: Message too long/);
    const korean = await mainClient(["--udp", "--lang", "ko", "-p", port, long]);
    assertEquals([korean.code, korean.stdout], [2, ""]);
    assertMatch(
      korean.stderr,
      new RegExp(
        `^kv: UDP로 서버\\(127\\.0\\.0\\.1:${port}\\)에 보낼 수 없습니다: 요청이 너무 길어서 ` +
          "데이터그램 하나에 담을 수 없습니다\\(Message too long[^\\n]*\\)\\. 긴 요청은 --udp 없이 " +
          "TCP로 보내세요\\. \\(macOS는 데이터그램을 net\\.inet\\.udp\\.maxdgram에 정한 크기까지만 " +
          "보냅니다[^\\n]*\\)\n$",
      ),
    );
    assertEquals(server.received(), 0);
  });
  await t.step("a request past macOS's 9,216 bytes, there", async () => {
    // macOS refuses a datagram past net.inet.udp.maxdgram (9,216 bytes by default) even on
    // loopback: the line says so, not just the OS's "Message too long".
    using _macos = emulateMacosMaxdgram();
    const request = `PUT, a, ${"x".repeat(10_000)}`;
    const english = await mainClient(["--udp", "--lang", "en", "-p", port, request]);
    assertEquals(english, {
      code: 2,
      stdout: "",
      stderr: `kv: cannot send to 127.0.0.1:${port} over UDP: Message too long (os error 40): ` +
        "the request is longer than this system sends in one datagram; send long requests over " +
        "TCP (without --udp). (macOS sends at most net.inet.udp.maxdgram bytes, 9216 by " +
        "default; sudo sysctl -w net.inet.udp.maxdgram=65535 raises it until the next restart)\n",
    });
    assertEquals(server.received(), 0);
  });
  await t.step("a host name with no address", async () => {
    // .invalid is reserved never to resolve (RFC 6761).
    const korean = await mainClient(["--udp", "--lang", "ko", "--host", "nosuch.invalid", "PING"]);
    assertEquals([korean.code, korean.stdout], [2, ""]);
    assertMatch(
      korean.stderr,
      /^kv: UDP로 서버\(nosuch\.invalid:12000\)에 보낼 수 없습니다: 호스트 이름 nosuch\.invalid의 주소를 찾지 못했습니다\(failed to lookup address[^\n]*\)\. --host가 맞나요\?\n$/,
    );
  });
});

Deno.test("main() refuses --udp with a password or TLS, on either side: exit 2", async (t) => {
  const cases: [string, string[], RegExp][] = [
    [
      "serve",
      ["--udp", "--password-file", "pw.txt"],
      /^kv: cannot use --udp with --password-file: datagrams have no connection to authenticate\n/,
    ],
    [
      "serve",
      ["--udp", "--tls-cert", "cert.pem", "--tls-key", "key.pem"],
      /^kv: cannot use --udp with --tls-cert: datagrams have no connection to encrypt\n/,
    ],
    ["client", ["--udp", "--tls", "PING"], /^kv: cannot use --tls with --udp\n/],
    [
      "client",
      ["--udp", "--password-file", "pw.txt", "PING"],
      /^kv: cannot use --password-file with --udp\n/,
    ],
    ["client", ["--udp", "--unframed", "PING"], /^kv: cannot use --unframed with --udp\n/],
  ];
  for (const [command, args, message] of cases) {
    await t.step(`${command} ${args.join(" ")}`, async () => {
      // Refused before any file is read or socket opened (the files do not exist).
      const fake = new FakeIo();
      assertEquals(await main([command, ...args], fake.io), 2);
      assertMatch(fake.stderr, message);
      assertEquals(fake.stdout, "");
    });
  }
});
