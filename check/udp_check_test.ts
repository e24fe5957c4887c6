/**
 * Tests of `kv check --udp` (`runCheck({ udp: true })`) over real UDP
 * sockets on port 0: kv's own `serve({ udp })` passes every level, and
 * scripted UDP servers that answer nothing, lose a datagram, answer in
 * several datagrams or read only 1,024 bytes of one are told apart.
 *
 * @module
 */

import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { CheckUnreachableError, runCheck } from "./runner.ts";
import { formatResult } from "./report.ts";
import { rulesOf } from "./rules.ts";
import { UDP_REASON } from "./udp_messages.ts";
import { endHints } from "./hints.ts";
import { notPassed } from "../testing/check_runs.ts";
import {
  closedPort,
  emulateMacosMaxdgram,
  emulateWindowsIcmp,
  scriptedUdpServer,
  startTestServer,
} from "../testing/mod.ts";

const decoder = new TextDecoder();

/**
 * A small kv for scripted servers: the answer lines (each ending in `\n`)
 * to the request lines of `datagram`, against `store`.
 */
function answerLines(store: Map<string, string>, datagram: string): string[] {
  return datagram.split("\n").filter((line) => line.trim() !== "").map((line) => {
    const [command = "", key = "", ...rest] = line.replace(/\r$/, "").split(",").map((field) =>
      field.trim()
    );
    switch (command.toUpperCase()) {
      case "PUT":
        store.set(key, rest.join(",").trim());
        return "Success!\n";
      case "GET":
        return `${store.get(key) ?? "Not exist!"}\n`;
      case "DELETE":
        return store.delete(key) ? "Success!\n" : "Not exist!\n";
      case "LIST":
        return store.size === 0
          ? "Not exist!\n\n"
          : [...store].map(([k, v]) => `${k}, ${v}\n`).join("") + "\n";
      case "PING":
        return "PONG\n";
      default:
        return "Error: unknown command\n";
    }
  });
}

for (const level of ["assignment", "contract", "full"] as const) {
  Deno.test(`runCheck() over UDP: kv's own serve({ udp }) passes every rule of level ${level}`, async () => {
    await using server = startTestServer({ udp: true });
    const run = await runCheck({ port: server.port, level, udp: true });
    assertEquals(run.failed, 0, notPassed(run));
    assertEquals(run.results.length, rulesOf(level, "udp").length);
    assert(run.results.every((result) => result.retried === undefined));
    assert(run.results.every((result) => result.rule.over !== "tcp"));
    assertEquals(run.left, []);
    assertEquals(run.udp, true);
  });
}

Deno.test("runCheck() over UDP: a port where nothing answers is unreachable, in kv client --udp's words", async () => {
  await using server = scriptedUdpServer(() => undefined);
  const error = await assertRejects(
    () => runCheck({ port: server.port, udp: true, timeoutMs: 50, retries: 1 }),
    CheckUnreachableError,
  );
  assertStringIncludes(
    error.message,
    `no answer from 127.0.0.1:${server.port} over UDP after 2 tries of 50 ms each: ` +
      "UDP promises no delivery",
  );
  assertStringIncludes(error.text!.ko, "UDP는 전달을 약속하지 않습니다");
  assertEquals(server.received(), 2, "sent once, then once again");
});

Deno.test("runCheck() over UDP on Windows: a port nothing listens on is unreachable at once, in words that say so", async () => {
  const port = closedPort();
  using _windows = emulateWindowsIcmp(new Set([port]));
  const error = await assertRejects(
    () => runCheck({ port, udp: true, timeoutMs: 10_000 }),
    CheckUnreachableError,
  );
  assertEquals(error.text, UDP_REASON.unreachable(`127.0.0.1:${port}`));
});

Deno.test("runCheck() over UDP: an answer that came only after a resend passes, and the report says so", async () => {
  const store = new Map<string, string>();
  // Datagram 1 is the run's first request; 2 is a.put's PUT, lost once.
  await using server = scriptedUdpServer((data, n) =>
    n === 2 ? undefined : answerLines(store, decoder.decode(data)).join("")
  );
  const run = await runCheck({
    port: server.port,
    udp: true,
    level: "assignment",
    only: ["a.put"],
    timeoutMs: 100,
  });
  const [result] = run.results;
  assertEquals(result?.status, "pass", notPassed(run));
  assertEquals(result?.retried, 2);
  assertStringIncludes(
    formatResult(result!, "en"),
    "note: the answer came on try 2: a datagram was lost or late",
  );
  assertStringIncludes(formatResult(result!, "ko"), "2번째 보낸 뒤에야 답이 왔습니다");
});

Deno.test("runCheck() over UDP: a request that never gets an answer fails after every try", async () => {
  const store = new Map<string, string>();
  await using server = scriptedUdpServer((data) => {
    const text = decoder.decode(data);
    return text.startsWith("PING") ? undefined : answerLines(store, text).join("");
  });
  const run = await runCheck({ port: server.port, udp: true, only: ["cmd.ping"], timeoutMs: 50 });
  const reason = run.results[0]?.failure?.reason;
  assertEquals(
    reason?.en,
    UDP_REASON.noAnswer(`127.0.0.1:${server.port}`, 3, 50).en,
  );
});

Deno.test("runCheck() over UDP: an answer sent a line per datagram fails as split", async () => {
  const store = new Map<string, string>();
  // One sendto() per line, LIST's pairs too.
  await using server = scriptedUdpServer((data) =>
    answerLines(store, decoder.decode(data)).join("").split(/(?<=\n)/)
  );
  const run = await runCheck({ port: server.port, udp: true, only: ["udp.lines", "cmd.list"] });
  assertEquals(run.results.map((result) => result.status), ["fail", "fail"]);
  for (const result of run.results) {
    assertEquals(result.failure?.reason.en, UDP_REASON.split().en, result.rule.id);
  }
});

Deno.test("runCheck() over UDP: answers without \\n, and a datagram cut at 1,024 bytes, fail", async () => {
  const store = new Map<string, string>();
  // recvfrom(1024), and each answer without its \n: the textbook's way.
  await using server = scriptedUdpServer((data) =>
    answerLines(store, decoder.decode(data.subarray(0, 1024))).join("").replace(/\n$/, "")
  );
  const run = await runCheck({ port: server.port, udp: true, only: ["cmd.put"] });
  assertEquals(run.results[0]?.failure?.reason.en, UDP_REASON.noNewline().en);
  await using cut = scriptedUdpServer((data) =>
    answerLines(store, decoder.decode(data.subarray(0, 1024))).join("")
  );
  const big = await runCheck({ port: cut.port, udp: true, only: ["udp.big-request"] });
  assertEquals(big.results[0]?.status, "fail");
  assertEquals(big.results[0]?.failure?.step, 4, "the GET, of a value cut short");
});

Deno.test("runCheck() over UDP: a late answer and its resend's copy are one answer, not a split one", async () => {
  // PING's first datagram (2) is answered late, together with its resend's (3): two copies.
  // Without \n, so the rule fails and looks for a second datagram of the answer.
  await using server = scriptedUdpServer((data, n) =>
    n === 2
      ? undefined
      : n === 3
      ? ["PONG", "PONG"]
      : decoder.decode(data).startsWith("PING")
      ? "PONG"
      : "Not exist!\n"
  );
  const run = await runCheck({ port: server.port, udp: true, only: ["cmd.ping"], timeoutMs: 100 });
  const [result] = run.results;
  assertEquals(result?.retried, 2);
  assertEquals(result?.failure?.reason.en, UDP_REASON.noNewline().en, "not split");
});

Deno.test("runCheck() over UDP: an empty answer datagram is said as one, not as a closed connection", async () => {
  // A textbook server's sendto(b"") for each request: the assignment's way of checking answers.
  await using server = scriptedUdpServer(() => "");
  const run = await runCheck({
    port: server.port,
    udp: true,
    level: "assignment",
    only: ["a.put"],
  });
  assertEquals(run.results[0]?.failure?.reason.en, UDP_REASON.empty().en);
  assertEquals(run.results[0]?.failure?.reason.ko, UDP_REASON.empty().ko);
});

Deno.test("runCheck() over UDP on Windows: a textbook server that recvfrom(1024) stopped is said to have stopped, with why", async () => {
  // On Windows, Python's recvfrom(1024) raises OSError [WinError 10040] for a longer datagram
  // (Linux cuts it short), and a textbook server without a try ends there: its port is closed,
  // and Windows reports the ICMP port unreachable each later request brings back.
  const closed = new Set<number>();
  using _windows = emulateWindowsIcmp(closed);
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const port = (socket.addr as Deno.NetAddr).port;
  const store = new Map<string, string>();
  const serving = (async () => {
    for await (const [data, from] of socket) {
      if (data.length > 1024) break; // WinError 10040, uncaught.
      await socket.send(
        new TextEncoder().encode(answerLines(store, decoder.decode(data)).join("")),
        from,
      );
    }
    socket.close();
    closed.add(port);
  })();
  const run = await runCheck({
    port,
    udp: true,
    only: ["cmd.ping", "udp.big-request", "udp.too-large"],
    // The big request reached the server alive and got no answer: one wait, then its resend
    // meets the closed port. Every request after that is told at once.
    timeoutMs: 300,
  });
  await serving;
  assertEquals(run.results.map((result) => result.status), ["pass", "fail", "fail"]);
  const reason = UDP_REASON.unreachable(`127.0.0.1:${port}`);
  assertEquals(run.results[1]?.failure?.reason, reason);
  assertEquals(run.results[2]?.failure?.reason, reason);
  assertStringIncludes(reason.en, "no UDP server listens on 127.0.0.1:");
  assertEquals(run.results[2]?.retried, undefined, "no resend once the port is known closed");
  const [hint, ...others] = endHints(run, "en", false);
  assertEquals(others, []);
  assertStringIncludes(hint!, "the server stopped during or right after udp.big-request");
  assertStringIncludes(hint!, "in the rule after it too");
  assertStringIncludes(hint!, "OSError [WinError 10040]");
  assertMatch(hint!, /udp\.big-request sent one of 2,0\d\d bytes/);
  assertStringIncludes(hint!, "ConnectionResetError [WinError 10054]");
  const ko = endHints(run, "ko", false)[0]!;
  assertStringIncludes(ko, "udp.big-request 도중이나 직후에 멈췄습니다");
  // No particle right after a rule id, whose reading (and so 은/는) is unknown.
  assertMatch(ko, /udp\.big-request 규칙이 보낸 데이터그램은 2,0\d\d바이트였습니다/);
});

Deno.test("runCheck() with udp passes udp.too-large where the system sends no datagram past 9,216 bytes (macOS)", async () => {
  // macOS's net.inet.udp.maxdgram: the checker's own sendto() of a longer request fails there
  // (EMSGSIZE), so a rule that needs a long answer must build it from short requests.
  using _macos = emulateMacosMaxdgram();
  await using server = startTestServer({ udp: true });
  const run = await runCheck({ port: server.port, udp: true, only: ["udp.too-large"] });
  assertEquals(notPassed(run), "");
  assertEquals([run.written, run.deleted, run.left], [9, 9, []]);
});

Deno.test("runCheck() over UDP: a server that went silent from a rule on is told where its last answer came (Linux says no port unreachable)", async () => {
  // decode() of bytes that are not UTF-8 raises and nothing catches it: from a.invalid-utf8's
  // first datagram on, the server is gone, and its port swallows datagrams in silence.
  const store = new Map<string, string>();
  let dead = false;
  await using server = scriptedUdpServer((data) => {
    try {
      const request = new TextDecoder("utf-8", { fatal: true }).decode(data);
      return dead ? undefined : answerLines(store, request).join("");
    } catch {
      dead = true;
      return undefined;
    }
  });
  const options = { port: server.port, udp: true, timeoutMs: 50, retries: 0, pauseMs: 20 };
  const run = await runCheck({ ...options, level: "assignment" });
  assertEquals(run.results.filter((result) => result.failure).map((result) => result.rule.id), [
    "a.invalid-utf8",
  ]);
  assertStringIncludes(
    endHints(run, "en", false).join(""),
    "Hint: the server's last answer came in a.extra-fields; after it, no datagram of the rule " +
      "after it or of the cleanup got any answer: the server stopped answering there.",
  );
  assertStringIncludes(
    endHints(run, "ko", false).join(""),
    "힌트: 서버의 마지막 답은 a.extra-fields에서 왔습니다. 그 뒤로는 다음 규칙 1개와 " +
      "정리(cleanup)에서 보낸 데이터그램 어느 것에도 답이 없었습니다",
  );
});
