/**
 * Tests of `kv check`'s machine-readable reports, in-process through
 * `main()` over real sockets on port 0: `--json`, and `--junit` to stdout
 * or to a file it may not be allowed to write.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { runKvCheck, startTestServer, textbookServer } from "../testing/mod.ts";
import { junitWriteFailedLine } from "./check.ts";

const check = runKvCheck;

Deno.test("kv check --json prints one object with every rule's result", async () => {
  await using server = textbookServer();
  const { code, stdout } = await check(server.port, [
    "--json",
    "--only",
    "cmd.ping,a.put",
    "--lang",
    "en",
  ]);
  assertEquals(code, 1);
  const report = JSON.parse(stdout);
  assertEquals([report.tool, report.passed, report.failed, report.ok], ["kv check", 1, 1, false]);
  assertEquals(report.rules.map((rule: { id: string; status: string }) => [rule.id, rule.status]), [
    ["a.put", "pass"],
    ["cmd.ping", "fail"],
  ]);
  assertEquals(report.rules[1].got, '"Wrong request!"');
});

Deno.test("kv check --junit - prints JUnit XML, the text going to stderr", async () => {
  await using server = startTestServer();
  const { code, stdout, stderr } = await check(server.port, ["--junit", "-", "--only", "err.*"]);
  assertEquals(code, 0);
  assert(
    stdout.startsWith(
      '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="kv check" tests="4" failures="0"',
    ),
  );
  assertEquals(stdout.match(/<testcase /g)?.length, 4);
  assertStringIncludes(stderr, "PASS  err.utf8");
});

Deno.test("kv check --junit FILE without write permission says how to get it before any rule runs (exit 2)", async () => {
  await using server = startTestServer();
  const { code, stdout, stderr } = await check(server.port, [
    "--junit",
    "report.xml",
    "--only",
    "cmd.ping",
  ]);
  assertEquals(code, 2);
  assertEquals(stdout, "");
  assertStringIncludes(
    stderr,
    "kv: cannot write report.xml: permission denied (run with --allow-write=report.xml, or write it with --junit - > report.xml)",
  );
});

Deno.test({
  name: "junitWriteFailedLine(): Deno's refusal says how to get it; the file system's does not",
  permissions: "none",
  fn() {
    // The file system's refusal is not made here: root (which CI is) may write anywhere that
    // Deno lets a flag grant (sysfs and /proc need --allow-all).
    const notCapable = new Deno.errors.NotCapable('Requires write access to "r.xml"');
    const denied = new Deno.errors.PermissionDenied("Permission denied (os error 13)");
    assertEquals(
      junitWriteFailedLine("r.xml", notCapable, "en", false),
      "kv: cannot write r.xml: permission denied (run with --allow-write=r.xml, or write it " +
        "with --junit - > r.xml)\n",
    );
    assertEquals(
      junitWriteFailedLine("r.xml", notCapable, "en", true),
      "kv: cannot write r.xml: permission denied (this kv binary was compiled without " +
        "--allow-write=r.xml; compile one with it: deno compile --allow-net --allow-write=r.xml " +
        "-o kv main.ts, or write it with --junit - > r.xml)\n",
    );
    for (const standalone of [false, true]) {
      assertEquals(
        junitWriteFailedLine("r.xml", denied, "en", standalone),
        "kv: cannot write r.xml: permission denied by the file system\n",
      );
      assertEquals(
        junitWriteFailedLine("r.xml", denied, "ko", standalone),
        "kv: r.xml에 JUnit 보고서를 쓸 수 없습니다: 파일 시스템이 쓰기를 허용하지 않습니다\n",
      );
    }
    assertEquals(
      junitWriteFailedLine("r.xml", new Error("No space left on device (os error 28)"), "ko", true),
      "kv: r.xml에 JUnit 보고서를 쓸 수 없습니다: No space left on device (os error 28)\n",
    );
  },
});
