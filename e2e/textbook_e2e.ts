/**
 * End-to-end tests that need more than --allow-net, run by .ci/run (not by
 * `deno test --allow-net`: the file is not named *_test.ts): `kv check` and
 * `kv client` against the real Python textbook server (e2e/textbook_server.py;
 * with `--greeting`, one that greets each client before any request),
 * a JUnit file written to disk and read back by Python's XML parser, and
 * `kv serve` stopping on SIGHUP as on SIGINT, and exiting at once on a second
 * signal.
 *
 * Run (as `.ci/run` does): deno test --allow-net --allow-run="$(deno eval 'console.log(Deno.execPath())'),python3" --allow-write=/tmp e2e/textbook_e2e.ts
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { main } from "../main.ts";
import { FakeIo, RawConn, within } from "../testing/mod.ts";

const here = new URL(".", import.meta.url).pathname;
const root = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();

/** Starts a process and resolves once its stdout shows `listening on HOST:PORT`. */
async function startListening(command: string, args: string[]) {
  const child = new Deno.Command(command, { args, stdout: "piped", stderr: "piped", cwd: root })
    .spawn();
  const reader = child.stdout.getReader();
  let seen = "";
  while (!/listening on \S+:\d+\n/.test(seen)) {
    const { value, done } = await within(`${command} listening`, reader.read());
    if (done) throw new Error(`${command} ended before listening: ${seen}`);
    seen += decoder.decode(value);
  }
  reader.releaseLock();
  const port = Number(/listening on \S+:(\d+)/.exec(seen)![1]);
  return { child, port };
}

/**
 * The textbook server; `--fragile`: without its `try` around a client, so a
 * reset stops it; `--greeting`: it greets each client before any request.
 */
async function python(...flags: string[]) {
  const { child, port } = await startListening("python3", [
    `${here}textbook_server.py`,
    "0",
    ...flags,
  ]);
  return {
    port,
    /** Its exit status, once it has stopped (by itself, or killed). */
    status: child.status,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch {
        // It had already stopped.
      }
      await child.status;
      await child.stdout.cancel();
      await child.stderr.cancel();
    },
  };
}

async function run(args: string[], stdin?: string, terminal = false) {
  const fake = new FakeIo({ stdin, terminal });
  const code = await main(args, fake.io);
  return { code, stdout: fake.stdout, stderr: fake.stderr };
}

Deno.test("the Python textbook server passes kv check --level assignment and fails the contract", async () => {
  await using server = await python();
  const assignment = await run([
    "check",
    "-p",
    String(server.port),
    "--level",
    "assignment",
    "--lang",
    "en",
  ]);
  assertEquals(assignment.code, 0, assignment.stdout);
  assertStringIncludes(assignment.stdout, "13 passed, 0 failed, 0 skipped");
  const contract = await run(["check", "-p", String(server.port), "--lang", "en"]);
  assertEquals(contract.code, 1);
  assertMatch(
    contract.stdout,
    /\n0 passed, 31 failed, 0 skipped in [\d.]+ s: 31 rule\(s\) broken\.\n/,
  );
  assertStringIncludes(
    contract.stdout,
    "Hint: 31 rules failed because an answer did not end with \\n.",
  );
});

Deno.test("kv check fails a Python server that a client's reset stops, saying why; one with a try passes", async () => {
  // A Deno socket's close() sends a FIN, which such a server survives
  // (recv() returns b""); a killed client's reset makes recv() raise.
  {
    await using server = await python("--fragile");
    const { code, stdout } = await run([
      "check",
      "-p",
      String(server.port),
      "--level",
      "assignment",
      "--only",
      "a.disconnect",
      "--lang",
      "en",
    ]);
    assertEquals(code, 1, stdout);
    assertStringIncludes(stdout, "FAIL  a.disconnect");
    assertStringIncludes(stdout, "right after a client reset its connection");
    assertStringIncludes(stdout, "raised ConnectionResetError");
    assertEquals((await server.status).success, false, "the server died of the reset");
  }
  await using sturdy = await python();
  const { code, stdout } = await run([
    "check",
    "-p",
    String(sturdy.port),
    "--level",
    "assignment",
    "--only",
    "a.disconnect",
  ]);
  assertEquals(code, 0, stdout);
});

Deno.test("kv check stops at once when a client holds the Python server, and leaves it no key", async () => {
  await using server = await python();
  // A forgotten client: the server serves it, and nobody else, until it leaves.
  const holder = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  let result;
  try {
    result = await run([
      "check",
      "-p",
      String(server.port),
      "--level",
      "assignment",
      "--lang",
      "en",
    ]);
  } finally {
    holder.close();
  }
  assertEquals(result.code, 2, result.stdout);
  assertStringIncludes(result.stderr, "sent nothing back for 6 s, keeping it open");
  assertStringIncludes(result.stderr, "Most likely another client is still connected to it");
  // Once the holder has gone, the server takes what waited (a GET, LIST and HELLO), then this LIST.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(new TextEncoder().encode("LIST"));
    const buffer = new Uint8Array(1024);
    const n = await within("the LIST's answer", conn.read(buffer));
    assertEquals(decoder.decode(buffer.subarray(0, n ?? 0)), "Not exist!");
  } finally {
    conn.close();
  }
});

Deno.test("kv check --junit FILE writes JUnit XML that Python's XML parser reads", async () => {
  await using server = await python();
  const file = await Deno.makeTempFile({ suffix: ".xml" });
  try {
    const result = await run([
      "check",
      "-p",
      String(server.port),
      "--junit",
      file,
      "--only",
      "a.*,cmd.put",
    ]);
    assertEquals(result.code, 1);
    const script = "import sys, xml.etree.ElementTree as ET\n" +
      "suite = ET.parse(sys.argv[1]).getroot().find('testsuite')\n" +
      "cases = suite.findall('testcase')\n" +
      "print(suite.get('tests'), suite.get('failures'), len(cases), " +
      "sum(1 for c in cases if c.find('failure') is not None))";
    const out = await new Deno.Command("python3", { args: ["-c", script, file] }).output();
    assertEquals(decoder.decode(out.stdout).trim(), "14 1 14 1", decoder.decode(out.stderr));
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("kv client one-shot, batch (--unframed) and REPL against the Python textbook server", async () => {
  await using server = await python();
  const port = String(server.port);
  const once = await run(["client", "-p", port, "PUT, 이름, 윤영준"]);
  assertEquals([once.code, once.stdout], [0, "Success!\n"]);
  assertStringIncludes(once.stderr, "an answer came without its \\n");
  const batch = await run(["client", "-p", port, "--unframed"], "GET, 이름\nPUT, age, 20\nLIST\n");
  assertEquals([batch.code, batch.stdout], [0, "윤영준\nSuccess!\n이름, 윤영준\nage, 20\n"]);
  const repl = await run(["client", "-p", port], "DELETE, age\nGET, age\nexit\n", true);
  assertEquals(repl.code, 0);
  assertStringIncludes(
    repl.stdout,
    `kv 127.0.0.1:${port}> Success!\nkv 127.0.0.1:${port}> Not exist!\n`,
  );
});

Deno.test("kv serve shuts down gracefully on SIGHUP, as on SIGINT and SIGTERM", async () => {
  for (const signal of ["SIGHUP", "SIGTERM", "SIGINT"] as const) {
    const { child } = await startListening(Deno.execPath(), [
      "run",
      "--allow-net",
      "main.ts",
      "serve",
      "--port",
      "0",
    ]);
    child.kill(signal);
    const status = await within("kv serve stopping", child.status);
    const stderr = decoder.decode(await new Response(child.stderr).arrayBuffer());
    await child.stdout.cancel();
    assertEquals(status.code, 0, `${signal}: ${stderr}`);
    assertMatch(stderr, /^\d{4}-\d\d-\d\dT[\d:.]+Z shutting down: finishing answers/m);
    assert(stderr.includes(" stopped\n"), stderr);
  }
});

Deno.test("kv serve exits at once with status 1 on a second signal during its grace", async () => {
  const { child, port } = await startListening(Deno.execPath(), [
    "run",
    "--allow-net",
    "main.ts",
    "serve",
    "--port",
    "0",
    "--shutdown-grace-ms",
    "60000",
    "--verbose",
  ]);
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let said = "";
  const stderrIncludes = async (text: string) => {
    while (!said.includes(text)) {
      const { value, done } = await within(`stderr: ${text}`, stderr.read());
      if (done) throw new Error(`no "${text}" in: ${said}`);
      said += value;
    }
  };
  try {
    // A client that does not read its answers keeps the connection busy, so
    // the grace would run its whole 60 s.
    await using busy = await RawConn.connect(port);
    await busy.send(`PUT, big, ${"b".repeat(1_000_000)}\n`);
    assertEquals(await within("PUT", busy.readLine()), "Success!");
    await busy.send("GET, big\n".repeat(64));
    await stderrIncludes(`"GET, big" ->`); // The server has read them: it is busy writing.
    child.kill("SIGTERM");
    await stderrIncludes("shutting down");
    // Signals closer than 250 ms count as one (Ctrl-C under deno task): the
    // time is the rule under test here, not a wait for an event.
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill("SIGTERM");
    const status = await within("the second signal's exit", child.status, 5_000);
    await stderrIncludes("second signal: exiting now");
    assertEquals(status.code, 1, said);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // It has exited, as it should.
    }
    await child.status;
    await stderr.cancel();
    await child.stdout.cancel();
  }
});

Deno.test("the Python textbook UDP server passes kv check --udp --level assignment; the contract says why not", async () => {
  const { child, port } = await startListening("python3", [
    `${root}testing/textbook_udp_server.py`,
    "0",
  ]);
  try {
    const assignment = await run([
      "check",
      "--udp",
      "-p",
      String(port),
      "--level",
      "assignment",
      "--lang",
      "en",
    ]);
    assertEquals(assignment.code, 0, assignment.stdout);
    assertStringIncludes(assignment.stdout, "12 passed, 0 failed, 0 skipped");
    assertStringIncludes(assignment.stdout, "Left out, as UDP has no connections: a.disconnect.");
    const contract = await run(["check", "--udp", "-p", String(port), "--lang", "en"]);
    assertEquals(contract.code, 1);
    assertStringIncludes(contract.stdout, "0 passed, 29 failed, 0 skipped");
    assertStringIncludes(
      contract.stdout,
      "the answer stopped without a \\n (at the end of its datagram)",
    );
    assertStringIncludes(contract.stdout, "Hint: 29 rules failed because an answer did not end");
    // Its answers fail for their missing \n before the cut shows: no recvfrom(1024) hint.
    assert(!contract.stdout.includes("reads with recvfrom(1024)"), contract.stdout);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stdout.cancel();
    await child.stderr.cancel();
  }
});

Deno.test("kv client and kv check tell the Python textbook server's greeting, sent before any request, from its answers", async () => {
  await using server = await python("--greeting");
  const port = String(server.port);
  // accept(), then sendall() of the greeting, in Python: kv client's wait after connecting must
  // see it before its request goes, run after run.
  for (let i = 0; i < 5; i++) {
    const once = await run(["client", "-p", port, "--lang", "en", "PUT, k, v"]);
    assertEquals({ code: once.code, stdout: once.stdout }, { code: 0, stdout: "Success!\n" });
    assertStringIncludes(
      once.stderr,
      'kv: note: the server sent "Welcome to the kv server!" as soon as we connected, before any ' +
        "request",
    );
  }
  const check = await run(["check", "-p", port, "--level", "assignment", "--lang", "en"]);
  assertEquals(check.code, 1);
  assertStringIncludes(
    check.stdout,
    '\nHint: your server sends "Welcome to the kv server!\\n" as soon as a client connects, ' +
      "before any request.",
  );
});
