/**
 * Tests of `kv check --udp` on the command line, in-process through
 * `main(args, io)` over real UDP sockets on port 0: the flags it refuses,
 * `--list --udp`, the header's rules left out, the hint for a datagram cut
 * at 1,024 bytes, and no answer at all, in English and Korean.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { main } from "../main.ts";
import { FakeIo, scriptedUdpServer, startTestServer } from "../testing/mod.ts";

async function check(args: string[]) {
  const fake = new FakeIo();
  const code = await main(["check", ...args], fake.io);
  return { code, stdout: fake.stdout, stderr: fake.stderr };
}

Deno.test("kv check --udp refuses TLS and a password (exit 2), as kv serve does, and --retries alone", async () => {
  for (
    const [args, flag] of [
      [["--tls"], "--tls"],
      [["--password-file", "/nonexistent"], "--password-file"],
    ] as const
  ) {
    const { code, stderr } = await check(["--udp", ...args]);
    assertEquals(code, 2, stderr);
    assertStringIncludes(stderr, `cannot use ${flag} with --udp: UDP has no connections`);
  }
  const { code, stderr } = await check(["--retries", "1"]);
  assertEquals(code, 2);
  assertStringIncludes(stderr, "--retries needs --udp");
});

Deno.test("kv check --list --udp shows the datagram rules and not the connection rules", async () => {
  const { code, stdout } = await check(["--list", "--udp", "--level", "contract", "--lang", "en"]);
  assertEquals(code, 0);
  assertStringIncludes(stdout, "udp.too-large");
  assertStringIncludes(stdout, "cmd.put");
  assert(!stdout.includes("conn.concurrent") && !stdout.includes("cmd.quit"), stdout);
  const tcp = await check(["--list", "--level", "contract"]);
  assert(!tcp.stdout.includes("udp.lines"), "the datagram rules are --udp's alone");
  // ... and the list without --udp ends saying how to see them, in both languages.
  for (const lang of ["en", "ko"] as const) {
    const list = await check(["--list", "--lang", lang]);
    assertStringIncludes(
      list.stdout.split("\n").at(-2)!,
      lang === "en"
        ? "Over UDP (kv check --udp) the datagram rules (udp.*) are added and the connection " +
          "rules left out: kv check --list --udp shows them."
        : "UDP에서는(kv check --udp) 데이터그램 규칙(udp.*)이 더해지고 연결 규칙은 빠집니다: " +
          "kv check --list --udp로 보세요.",
    );
  }
  assert(!stdout.includes("--list --udp"), "not under --udp itself");
  assert(!(await check(["--list", "--json"])).stdout.includes("--list --udp"), "nor --json");
  const only = await check(["--udp", "--only", "conn.*"]);
  assertEquals(only.code, 2);
  assertStringIncludes(only.stderr, "runs over UDP: UDP has no connections");
});

Deno.test("kv check --udp: the err.* rules say the server goes on answering, not that a connection stays open", async () => {
  await using server = startTestServer({ udp: true });
  const run = ["--udp", "-p", String(server.port), "--only", "err.*"];
  const en = await check([...run, "--lang", "en"]);
  assertEquals(en.code, 0, en.stdout);
  assertStringIncludes(
    en.stdout,
    "A wrong number of fields gets one Error: line, stores nothing, and the server goes on answering\n",
  );
  const ko = await check([...run, "--lang", "ko"]);
  assertStringIncludes(
    ko.stdout,
    "필드 수가 틀리면 Error: 한 줄로 답하고, 아무것도 저장하지 않으며, 그 뒤에도 계속 답한다\n",
  );
  const json = await check([...run, "--json"]);
  const list = await check(["--list", "--udp", "--lang", "ko"]);
  for (const out of [en.stdout, ko.stdout, json.stdout, list.stdout]) {
    assert(!/connection stays open|연결을 유지/.test(out), out);
  }
  assertEquals(JSON.parse(json.stdout).rules.length, 4);
  // Over TCP the sentence is as it was.
  const tcp = await check(["--list", "--lang", "en"]);
  assertStringIncludes(
    tcp.stdout,
    "An empty key gets one Error: line, and the connection stays open\n",
  );
});

Deno.test("kv check --udp against kv serve --udp: the header names the rules left out, in Korean too", async () => {
  await using server = startTestServer({ udp: true });
  const en = await check([
    "--udp",
    "-p",
    String(server.port),
    "--level",
    "assignment",
    "--lang",
    "en",
  ]);
  assertEquals(en.code, 0, en.stdout);
  assertStringIncludes(en.stdout, "Left out, as UDP has no connections: a.disconnect.");
  assertStringIncludes(en.stdout, "12 passed, 0 failed, 0 skipped");
  const ko = await check(["--udp", "-p", String(server.port), "--lang", "ko"]);
  assertEquals(ko.code, 0, ko.stdout);
  assertStringIncludes(ko.stdout, "UDP에는 연결이 없으므로 뺀 규칙: cmd.quit, req.split");
});

Deno.test("kv check --udp: a datagram cut at recvfrom(1024) gets a hint where a value came back cut, not where an answer lacks its \\n; no answer at all is exit 2", async () => {
  const store = new Map<string, string>();
  const decoder = new TextDecoder();
  // PUT and GET of a server that reads 1,024 bytes of each datagram.
  await using cut = scriptedUdpServer((data) => {
    const [command = "", key = "", ...value] = decoder.decode(data.subarray(0, 1024)).trim()
      .split(",").map((field) => field.trim());
    if (command === "PUT") store.set(key, value.join(","));
    return command === "PUT" ? "Success!\n" : `${store.get(key) ?? "Not exist!"}\n`;
  });
  for (const lang of ["en", "ko"] as const) {
    const { code, stdout } = await check([
      "--udp",
      "-p",
      String(cut.port),
      "--only",
      "udp.big-request",
      "--lang",
      lang,
    ]);
    assertEquals(code, 1, stdout);
    assertStringIncludes(
      stdout,
      lang === "en"
        ? "Hint: udp.big-request sent a datagram of more than 1,024 bytes and failed. A server " +
          "that reads with recvfrom(1024) gets only the first 1,024 bytes"
        : "힌트: 1,024바이트가 넘는 데이터그램을 보낸 규칙(udp.big-request)이 실패했습니다. " +
          "recvfrom(1024)로 읽는 서버는 데이터그램의 앞 1,024바이트만 받고 나머지는 버려집니다",
    );
  }
  // The textbook's way: cut at 1,024 bytes too, but its answers lack the \n, which fails the
  // rule first (at PUT's Success!): the cut is not why, and no hint says it is.
  await using textbook = scriptedUdpServer((data) => {
    const [command = "", key = "", ...value] = decoder.decode(data.subarray(0, 1024)).trim()
      .split(",").map((field) => field.trim());
    if (command === "PUT") store.set(key, value.join(","));
    return command === "PUT" ? "Success!" : store.get(key) ?? "Not exist!";
  });
  const framing = await check(["--udp", "-p", String(textbook.port), "--only", "udp.*"]);
  assertEquals(framing.code, 1, framing.stdout);
  assertStringIncludes(framing.stdout, "udp.big-request");
  assert(!framing.stdout.includes("recvfrom(1024)"), framing.stdout);
  await using silent = scriptedUdpServer(() => undefined);
  for (const lang of ["en", "ko"] as const) {
    const args = ["--udp", "-p", String(silent.port), "--timeout", "0.05", "--retries", "0"];
    const { code, stderr } = await check([...args, "--lang", lang]);
    assertEquals(code, 2);
    assertStringIncludes(
      stderr,
      lang === "en"
        ? `kv: no answer from 127.0.0.1:${silent.port} over UDP after 1 try of 50 ms: UDP ` +
          "promises no delivery"
        : "UDP는 전달을 약속하지 않습니다",
    );
  }
  // A timeout under half a millisecond is 1 ms, as kv client's, not 0 (which nothing can meet).
  const tiny = ["--udp", "-p", String(silent.port), "--timeout", "0.0001", "--retries", "0"];
  assertStringIncludes((await check([...tiny, "--lang", "en"])).stderr, "after 1 try of 1 ms:");
});
