/**
 * Tests of `kv client --lang ko`: the notes and hints a learner meets
 * most, in Korean, run in-process through `main()` over real sockets on
 * port 0 (the failures that need a file, --tls-ca, through the line they
 * print); and `--lang`'s default, from the user's language.
 *
 * @module
 */

import { assertEquals, assertMatch, assertRejects, assertStringIncludes } from "@std/assert";
import { type AddressInfo, createServer } from "node:net";
import { KvClient } from "../client/client.ts";
import { describeConnectError, KvConnectionError } from "../client/errors.ts";
import { TEST_CA, TEST_CERT, TEST_KEY } from "../testing/tls.ts";
import { connectFailedLine } from "./client_messages.ts";
import { udpSendFailedLine } from "./client_udp_messages.ts";
import {
  closedPort,
  readAll,
  readRawLines,
  runClient,
  scriptedServer,
  send,
  startTestServer,
  textbookServer,
} from "../testing/mod.ts";

const KO = ["--lang", "ko"];

Deno.test("kv client --lang ko: a refused connection", async () => {
  const port = closedPort();
  assertEquals(await runClient(port, [...KO, "PING"]), {
    code: 2,
    stdout: "",
    stderr: `kv: 서버(127.0.0.1:${port})에 연결할 수 없습니다: 연결이 거부되었습니다(서버를 ` +
      "실행했나요? 포트는 맞나요?)\n",
  });
});

Deno.test("kv client --lang ko: no answer in time, and what came of it", async (t) => {
  await t.step("nothing", async () => {
    await using server = scriptedServer(async (conn) => {
      await readAll(conn);
    });
    const result = await runClient(server.port, [...KO, "--timeout", "0.1", "PING"]);
    assertEquals(result, {
      code: 1,
      stdout: "",
      stderr: `kv: 서버(127.0.0.1:${server.port})에서 0.1초 안에 답이 오지 않았습니다\n` +
        "kv: 아무것도 오지 않았습니다: 서버가 다른 클라이언트를 처리하는 중일 수 있습니다" +
        "(한 번에 클라이언트 하나만 받는 서버는 먼저 연결한 클라이언트가 나가야 답합니다). 아니면 " +
        "요청의 나머지를 기다리는 중일 수도 있습니다(--unframed를 써 보세요). 아니면 이 클라이언트를 " +
        "맡은 서버 코드가 이 요청에서 오류로 멈추고 연결만 열어 두었을 수도 있습니다(서버를 실행한 " +
        "터미널에 Traceback이 찍혔나요?). 아니면 서버 프로세스가 일시 중지되어 있을 수도 있습니다(그 " +
        "터미널에서 Ctrl-Z를 누르면 서버가 끝나지 않고 일시 중지됩니다: 거기서 fg를 입력하면 다시 " +
        "돌아가고, 끝내려면 Ctrl-C를 누르세요)\n",
    });
  });
  await t.step("bytes without their \\n", async () => {
    await using server = scriptedServer(async (conn) => {
      await readRawLines(conn, 1);
      await send(conn, "PON");
      await readAll(conn);
    });
    const args = [...KO, "--timeout", "0.1", "--pause-ms", "0", "PING"];
    const result = await runClient(server.port, args);
    assertEquals(result, {
      code: 1,
      stdout: "",
      stderr: `kv: 서버(127.0.0.1:${server.port})에서 0.1초 안에 답이 다 오지 않았습니다\n` +
        'kv: 3바이트("PON")가 왔지만 \\n은 오지 않았습니다: 답은 \\n으로 끝나야 합니다(또는 ' +
        "--pause-ms를 주세요)\n",
    });
  });
});

Deno.test("kv client --lang ko: a server that closes after its first answer", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 2);
    await send(conn, "Success!\n"); // Then the close, the second request unanswered.
  });
  const result = await runClient(server.port, KO, { stdin: "PUT, a, 1\nGET, a\n" });
  assertEquals(result, {
    code: 2,
    stdout: "Success!\n",
    stderr:
      `kv: 서버(127.0.0.1:${server.port})가 답하지 않은 요청을 남기고 연결을 닫았습니다(답할 ` +
      "때마다 연결을 닫는 서버는 연결마다 요청을 하나만 받습니다: 요청마다 kv client를 따로 " +
      "실행하세요)\n",
  });
});

Deno.test("kv client --lang ko: an answer the close cut off before its \\n, with --pause-ms 0", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, "PONG");
  });
  const result = await runClient(server.port, [...KO, "--pause-ms", "0", "PING"]);
  assertEquals(result, {
    code: 1,
    stdout: "",
    stderr: `kv: 서버(127.0.0.1:${server.port})가 답을 보내던 중에 연결을 닫았습니다(4바이트 ` +
      '"PONG"만 오고 \\n은 오지 않았습니다): 답은 \\n으로 끝나야 합니다(또는 --pause-ms를 0보다 ' +
      "크게 주면, 연결이 끝날 때 답도 끝난 것으로 봅니다)\n",
  });
});

Deno.test("kv client --lang ko: an answer that is not UTF-8, at the prompt", async () => {
  await using server = scriptedServer(async (conn) => {
    await readRawLines(conn, 1);
    await send(conn, new Uint8Array([0xc8, 0xab, 0xb1, 0xe6, 0xb5, 0xbf, 0x0a])); // "홍길동" in cp949
    await readAll(conn);
  });
  const result = await runClient(server.port, KO, { stdin: "GET, 이름\n", terminal: true });
  assertEquals(result.code, 0);
  assertEquals(
    result.stderr,
    `kv: 서버(127.0.0.1:${server.port})가 UTF-8이 아닌 답 줄을 보냈습니다: ` +
      '"\\xc8\\xab\\xb1\\xe6\\xb5\\xbf" (cp949로 읽으면 "홍길동"입니다. 답은 UTF-8 텍스트여야 ' +
      '합니다: "cp949"가 아니라 .encode()나 .encode("utf-8")로 인코딩하세요)\n',
  );
});

const NOTE_KO =
  "kv: 참고: 답이 \\n 없이 왔습니다. 50 ms 동안 더 오는 것이 없어 받은 데까지를 답으로 " +
  "보았습니다(서버가 느릴 뿐이라면 --pause-ms를 더 크게 주세요)";
const STRIP_HINT_KO = ". 답이 이상하면 --unframed를 써 보세요(마지막 필드를 strip()하지 않는 " +
  "서버라면 kv client가 보내는 \\n이 그 필드에 그대로 남습니다)";

Deno.test("kv client --lang ko: an answer without its \\n, and the --unframed hints", async () => {
  await using server = textbookServer();
  const once = await runClient(server.port, [...KO, "--pause-ms", "50", "PUT, a, 1"]);
  assertEquals(once, { code: 0, stdout: "Success!\n", stderr: `${NOTE_KO}${STRIP_HINT_KO}\n` });
  const prompt = await runClient(server.port, [...KO, "--pause-ms", "50"], {
    stdin: "LIST\nGET, a\n",
    terminal: true,
  });
  assertEquals(
    prompt.stderr,
    `${NOTE_KO}\nkv: 참고: 이 답도 \\n 없이 왔습니다${STRIP_HINT_KO}\n`,
  );
  // All in one write: the server takes them as one request, answers once,
  // and closes once the requests end (no pause is waited out: it is long).
  const batch = await runClient(server.port, [...KO, "--pause-ms", "10000"], {
    stdin: "GET, a\nGET, a\n",
  });
  assertEquals(batch.stderr.split("\n").slice(0, 2), [
    "kv: 참고: 답이 \\n 없이 왔습니다. kv client가 요청을 다 보냈다고 알리자(FIN) 서버가 연결을 " +
    "닫아서, 그때까지 받은 것을 모두 답 하나로 보았습니다: \\n 없는 답들은 서로 붙어 버립니다. " +
    "서버가 recv() 한 번에 요청 하나를 읽는다면 --unframed로 보내세요",
    `kv: 요청을 다 보내고 나자 서버(127.0.0.1:${server.port})가 답하지 않은 요청 1개를 남기고 연결을 ` +
    "닫았습니다(\\n이 없으면 답을 나눌 곳이 없어서, 출력된 답 하나가 여러 답이 붙은 것일 수 " +
    "있습니다. 아니면 recv() 한 번에 요청 하나를 읽는 서버가 함께 보낸 요청들을 한 요청으로 받아 " +
    "한 번만 답했을 수도 있습니다: --unframed로 보내세요. 서버가 답할 때마다 연결을 닫는다면 연결마다 요청을 하나만 받으니, " +
    "요청마다 kv client를 따로 실행하세요)",
  ]);
});

Deno.test("kv client --lang: Korean by default where the user's language is Korean", async () => {
  const port = closedPort();
  const korean = await runClient(port, ["PING"], { language: "ko-KR" });
  assertEquals(korean.stderr.startsWith(`kv: 서버(127.0.0.1:${port})에 연결할 수 없습니다`), true);
  const english = await runClient(port, ["--lang", "en", "PING"], { language: "ko-KR" });
  assertEquals(english.stderr.startsWith(`kv: cannot connect to 127.0.0.1:${port}`), true);
  const other = await runClient(port, ["PING"], { language: "en-US" });
  assertEquals(other.stderr.startsWith(`kv: cannot connect to 127.0.0.1:${port}`), true);
});

Deno.test("kv client --lang ko: a host name with no address; --lang en keeps the library's words", async () => {
  // .invalid is reserved never to resolve (RFC 6761).
  const args = ["--host", "nosuch.invalid", "PING"];
  const korean = await runClient(closedPort(), [...KO, ...args]);
  assertEquals([korean.code, korean.stdout], [2, ""]);
  assertMatch(
    korean.stderr,
    /^kv: 서버\(nosuch\.invalid:\d+\)에 연결할 수 없습니다: 호스트 이름 nosuch\.invalid의 주소를 찾지 못했습니다\(failed to lookup address[^\n]*\)\. --host가 맞나요\?\n$/,
  );
  const english = await runClient(closedPort(), ["--lang", "en", ...args]);
  assertMatch(
    english.stderr,
    /^kv: cannot connect to nosuch\.invalid:\d+: failed to lookup address[^\n]*\n$/,
  );
});

Deno.test("kv client --lang ko: TLS to a certificate it does not trust, and to a server without TLS", async () => {
  await using tls = startTestServer({ tls: { cert: TEST_CERT, key: TEST_KEY } });
  const untrusted = await runClient(tls.port, [...KO, "--tls", "PING"]);
  assertEquals([untrusted.code, untrusted.stdout], [2, ""]);
  assertMatch(
    untrusted.stderr,
    new RegExp(
      `^kv: 서버\\(127\\.0\\.0\\.1:${tls.port}\\)에 연결할 수 없습니다: 서버의 인증서를 믿을 수 ` +
        "없습니다\\([^\\n]*UnknownIssuer[^\\n]*\\)\\. 자체 서명 인증서라면 --tls-ca FILE로 " +
        "그 인증서를 주세요\n$",
    ),
  );
  await using plain = startTestServer();
  const noTls = await runClient(plain.port, [...KO, "--tls", "PING"]);
  assertEquals([noTls.code, noTls.stdout], [2, ""]);
  assertMatch(
    noTls.stderr,
    new RegExp(
      `^kv: 서버\\(127\\.0\\.0\\.1:${plain.port}\\)에 연결할 수 없습니다: 서버가 TLS를 쓰지 ` +
        "않습니다\\([^\\n]*InvalidContentType[^\\n]*\\)\\. --tls와 --tls-ca 없이 연결하세요\n$",
    ),
  );
  const english = await runClient(plain.port, ["--lang", "en", "--tls", "PING"]);
  assertStringIncludes(
    english.stderr,
    "(the server does not speak TLS: connect without --tls and --tls-ca, or without the tls option)\n",
  );
});

Deno.test("kv client --lang ko: a certificate for other names, and no connection in time (the line kv client prints)", async () => {
  // kv client needs --tls-ca FILE for these (a file to read: e2e/password_file_e2e.ts runs it
  // whole); here the library's error, over real sockets, and the line made of it.
  await using server = startTestServer({
    hostname: "127.0.0.2",
    tls: { cert: TEST_CERT, key: TEST_KEY },
  });
  const wrongName = await assertRejects(() =>
    KvClient.connect({ hostname: "127.0.0.2", port: server.port, tls: { caCerts: [TEST_CA] } })
  );
  const address = `127.0.0.2:${server.port}`;
  assertMatch(
    connectFailedLine("ko", wrongName, { address, host: "127.0.0.2" }),
    new RegExp(
      `^kv: 서버\\(127\\.0\\.0\\.2:${server.port}\\)에 연결할 수 없습니다: 서버의 인증서에 ` +
        "없는 이름\\(127\\.0\\.0\\.2\\)으로 연결했습니다\\([^\\n]*certificate not valid for name " +
        '"127\\.0\\.0\\.2"[^\\n]*\\)\\. --host를 인증서에 있는 이름으로 주거나, README\\.ko\\.md ' +
        '"보안"처럼 -addext subjectAltName에 "127\\.0\\.0\\.2"도 넣어 서버의 인증서를 다시 만드세요\n$',
    ),
  );
  // A server that never answers the handshake: the connect's time runs out.
  const gaveUp = Promise.withResolvers<void>();
  await using silent = scriptedServer(() => gaveUp.promise);
  const late = await assertRejects(() =>
    KvClient.connect({ port: silent.port, tls: {}, connectTimeoutMs: 100 })
  );
  gaveUp.resolve();
  const lateAddress = `127.0.0.1:${silent.port}`;
  assertEquals(
    connectFailedLine("ko", late, { address: lateAddress, host: "127.0.0.1" }),
    `kv: 서버(${lateAddress})에 연결할 수 없습니다: 제한 시간 안에 연결되지 않았습니다\n`,
  );
  assertEquals(
    connectFailedLine("en", late, { address: lateAddress, host: "127.0.0.1" }),
    `kv: cannot connect to ${lateAddress}: timed out\n`,
  );
});

Deno.test("kv client --lang ko: a reset it did not see as a close", async () => {
  // Reset on the first request's bytes (SO_LINGER 0): an RST, no FIN.
  const server = createServer((socket) => socket.once("data", () => socket.resetAndDestroy()));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    assertEquals(await runClient(port, [...KO, "PING"]), {
      code: 2,
      stdout: "",
      stderr: `kv: 서버(127.0.0.1:${port})와의 연결이 끊겼습니다: 연결이 리셋되었습니다(서버가 ` +
        "FIN 대신 RST를 보냈습니다)\n",
    });
    assertEquals(
      (await runClient(port, ["--lang", "en", "PING"])).stderr,
      `kv: lost connection to 127.0.0.1:${port}: connection reset\n`,
    );
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

Deno.test("kv client --lang ko: an expired certificate and a CA's, in the words rustls gives", () => {
  // Not made over sockets: the test certificates are neither expired nor a CA's.
  const server = { address: "127.0.0.1:12000", host: "127.0.0.1" };
  const failed = (message: string) =>
    new Error("cannot connect", { cause: new Error(`invalid peer certificate: ${message}`) });
  assertEquals(
    connectFailedLine("ko", failed("certificate expired"), server),
    "kv: 서버(127.0.0.1:12000)에 연결할 수 없습니다: 서버의 인증서가 유효 기간을 벗어났습니다" +
      "(invalid peer certificate: certificate expired). 서버 주인이 인증서를 새로 만들어야 " +
      "합니다. 아니면 이 컴퓨터의 시계가 틀렸을 수도 있습니다\n",
  );
  assertEquals(
    connectFailedLine("ko", failed("Other(OtherError(CaUsedAsEndEntity))"), server),
    "kv: 서버(127.0.0.1:12000)에 연결할 수 없습니다: 서버의 인증서가 CA 인증서입니다" +
      "(invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))). README.ko.md " +
      '"보안"처럼 -addext basicConstraints=critical,CA:FALSE를 주어 인증서를 다시 만드세요\n',
  );
});

Deno.test("kv client's line for a connect that failed with EMFILE says the limit is this process's (en, ko)", () => {
  // No test process can run itself out of descriptors: the error as Deno throws it
  // (e2e/fd_limit_e2e.ts runs kv bench and kv check out of them for real).
  const cause = Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" });
  const error = new KvConnectionError(
    `cannot connect to 127.0.0.1:12000: ${describeConnectError(cause)}`,
    { cause },
  );
  const server = { address: "127.0.0.1:12000", host: "127.0.0.1" };
  assertEquals(
    connectFailedLine("en", error, server),
    "kv: cannot connect to 127.0.0.1:12000: Too many open files (os error 24): this process is " +
      "out of file descriptors, not the server (raise ulimit -n, or open fewer connections)\n",
  );
  assertEquals(
    connectFailedLine("ko", error, server),
    "kv: 서버(127.0.0.1:12000)에 연결할 수 없습니다: 이 프로세스의 파일 디스크립터가 " +
      "바닥났습니다(Too many open files (os error 24)). 서버가 아니라 이쪽 문제입니다: " +
      "ulimit -n을 올리거나 연결을 줄이세요\n",
  );
});

Deno.test({
  name:
    "kv client: the system's refusal (a firewall, say) is not told to add --allow-net, over TCP or UDP",
  permissions: "none",
  fn() {
    // Not made over sockets: this machine has no firewall rule that refuses a connect or a send.
    const server = { address: "127.0.0.1:12000", host: "127.0.0.1" };
    const refused = (error: Error) => new Error("cannot connect", { cause: error });
    const system = new Deno.errors.PermissionDenied("Operation not permitted (os error 1)");
    const deno = new Deno.errors.NotCapable("Requires net access");
    assertEquals(
      connectFailedLine("ko", refused(system), server),
      "kv: 서버(127.0.0.1:12000)에 연결할 수 없습니다: 권한이 없습니다\n",
    );
    assertEquals(
      connectFailedLine("ko", refused(deno), server),
      "kv: 서버(127.0.0.1:12000)에 연결할 수 없습니다: 권한이 없습니다(--allow-net으로 실행하세요)\n",
    );
    assertEquals(
      udpSendFailedLine("en", system, server),
      "kv: cannot send to 127.0.0.1:12000 over UDP: Operation not permitted (os error 1)\n",
    );
    assertEquals(
      udpSendFailedLine("ko", system, server),
      "kv: UDP로 서버(127.0.0.1:12000)에 보낼 수 없습니다: Operation not permitted (os error 1)\n",
    );
  },
});
