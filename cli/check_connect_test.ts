/**
 * Tests of `kv check --lang ko` where no rule runs: a server it cannot
 * reach (a host name with no address, TLS it cannot trust or a server
 * without TLS, no connection in time) and a `--junit` file it may not
 * write, said in Korean, in-process through `main()` over real sockets on
 * port 0; `--lang en` keeps the English.
 *
 * @module
 */

import { assertEquals, assertMatch } from "@std/assert";
import { closedPort, runKvCheck, scriptedServer, startTestServer } from "../testing/mod.ts";
import { TEST_CERT, TEST_KEY } from "../testing/tls.ts";

const KO = ["--lang", "ko"];

Deno.test("kv check --lang ko: a host name with no address", async () => {
  // .invalid is reserved never to resolve (RFC 6761).
  const { code, stdout, stderr } = await runKvCheck(closedPort(), [
    ...KO,
    "--host",
    "nosuch.invalid",
  ]);
  assertEquals([code, stdout], [2, ""]);
  assertMatch(
    stderr,
    /^kv: 서버\(nosuch\.invalid:\d+\)에 연결할 수 없습니다: 호스트 이름 nosuch\.invalid의 주소를 찾지 못했습니다\(failed to lookup address[^\n]*\)\. --host가 맞나요\?\n$/,
  );
  const english = await runKvCheck(closedPort(), ["--lang", "en", "--host", "nosuch.invalid"]);
  assertMatch(
    english.stderr,
    /^kv: cannot connect to nosuch\.invalid:\d+: failed to lookup address[^\n]*\n$/,
  );
});

Deno.test("kv check --lang ko --tls: a certificate it does not trust, and a server without TLS", async () => {
  await using tls = startTestServer({ tls: { cert: TEST_CERT, key: TEST_KEY } });
  const untrusted = await runKvCheck(tls.port, [...KO, "--tls"]);
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
  const noTls = await runKvCheck(plain.port, [...KO, "--tls"]);
  assertEquals([noTls.code, noTls.stdout], [2, ""]);
  assertMatch(
    noTls.stderr,
    new RegExp(
      `^kv: 서버\\(127\\.0\\.0\\.1:${plain.port}\\)에 연결할 수 없습니다: 서버가 TLS를 쓰지 ` +
        "않습니다\\([^\\n]*InvalidContentType[^\\n]*\\)\\. --tls와 --tls-ca 없이 연결하세요\n$",
    ),
  );
});

Deno.test("kv check --lang ko --tls: a server that never answers the handshake, no connection in time", async () => {
  const gaveUp = Promise.withResolvers<void>();
  await using server = scriptedServer(() => gaveUp.promise);
  const korean = await runKvCheck(server.port, [...KO, "--tls", "--timeout", "0.1"]);
  const english = await runKvCheck(server.port, ["--lang", "en", "--tls", "--timeout", "0.1"]);
  gaveUp.resolve();
  assertEquals(korean, {
    code: 2,
    stdout: "",
    stderr: `kv: 서버(127.0.0.1:${server.port})에 연결할 수 없습니다: 제한 시간 안에 연결되지 ` +
      "않았습니다\n",
  });
  assertEquals(english.stderr, `kv: cannot connect to 127.0.0.1:${server.port}: timed out\n`);
});

Deno.test("kv check --lang ko --junit FILE without write permission says how to get it, in Korean (exit 2)", async () => {
  await using server = startTestServer();
  const { code, stdout, stderr } = await runKvCheck(server.port, [
    ...KO,
    "--junit",
    "report.xml",
    "--only",
    "cmd.ping",
  ]);
  assertEquals([code, stdout], [2, ""]);
  assertEquals(
    stderr,
    "kv: report.xml에 JUnit 보고서를 쓸 수 없습니다: 권한이 없습니다(--allow-write=report.xml 옵션을 " +
      "주고 실행하거나, --junit - > report.xml처럼 표준 출력으로 쓰세요)\n",
  );
});
