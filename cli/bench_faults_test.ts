/**
 * Tests of `kv bench` against fake servers that get it wrong, over real
 * sockets on port 0: wrong values, `Error:` lines and answers where
 * `Success!` belongs (counted, exit 1), a connection closed early (lost),
 * an answer line longer than any right one, a server that speaks only RESP
 * (nothing measured, and a hint), and a server that never
 * answers, trickles bytes or never ends an answer (`runBench()` gives up,
 * and says why).
 *
 * @module
 */

import { assertEquals, assertGreater, assertMatch, assertStringIncludes } from "@std/assert";
import { runBench } from "../bench/run.ts";
import { main } from "../main.ts";
import { FakeIo, scriptedServer } from "../testing/mod.ts";

const encoder = new TextEncoder();

/** Runs `kv bench --port PORT ARGS` in-process, as bench_test.ts does (stderr not a terminal). */
async function bench(
  port: number,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const fake = new FakeIo();
  const code = await main(["bench", "--port", String(port), ...args], fake.io);
  return { code, stdout: fake.stdout, stderr: fake.stderr };
}

function answerEveryLine(answer: string): (conn: Deno.TcpConn) => Promise<void> {
  return async (conn) => {
    const buffer = new Uint8Array(64 * 1024);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return;
      let lines = 0;
      for (let i = 0; i < n; i++) if (buffer[i] === 0x0a) lines++;
      const out = encoder.encode(answer.repeat(lines));
      for (let written = 0; written < out.length;) {
        written += await conn.write(out.subarray(written));
      }
    }
  };
}

Deno.test("kv bench catches a server that answers GETs wrongly: exit 1", async () => {
  await using server = scriptedServer(answerEveryLine("Success!\n"));
  const { code, stdout, stderr } = await bench(server.port, ["-n", "500", "-c", "2", "-k", "10"]);
  assertEquals(code, 1, stdout);
  const errors = Number(stdout.match(/errors: (\d+)\n/)?.[1]);
  assertGreater(errors, 100); // About half of the 500 are GETs.
  assertMatch(stdout, /errors: wrong values [1-9]\d*, error answers 0, /);
  assertMatch(
    stderr,
    /^kv bench: first error: GET key:\d+: expected "v+\d+\.\d+", got "Success!"\n$/,
  );
});

Deno.test("kv bench counts Error: answers, and PUTs not answered Success!", async (t) => {
  await t.step("Error: lines", async () => {
    await using server = scriptedServer(answerEveryLine("Error: no\n"));
    const { code, stdout } = await bench(server.port, [
      "--json",
      "-n",
      "300",
      "-c",
      "1",
      "-k",
      "5",
    ]);
    assertEquals(code, 1);
    // Every answer is wrong: the 5 of the preload and the 300 measured.
    assertEquals(JSON.parse(stdout).errors, 305);
  });
  await t.step("values where Success! belongs", async () => {
    await using server = scriptedServer(answerEveryLine("vvvvvvvvvvvv1.0\n"));
    const { code, stdout, stderr } = await bench(server.port, ["-n", "300", "-c", "1", "-k", "1"]);
    assertEquals(code, 1);
    assertMatch(stdout, /unexpected answers [1-9]\d*,/);
    assertEquals(
      stderr,
      'kv bench: first error: PUT key:0: expected "Success!", got "vvvvvvvvvvvv1.0"\n',
    );
  });
});

Deno.test("kv bench against a server that speaks only RESP measures nothing and says so", async () => {
  // Redis takes each of kv's lines as an inline command named "PUT,".
  await using server = scriptedServer(
    answerEveryLine("-ERR unknown command 'PUT,', with args beginning with: \r\n"),
  );
  const { code, stdout, stderr } = await bench(server.port, ["-n", "300", "-c", "1", "-k", "5"]);
  assertEquals(code, 1, stdout);
  assertStringIncludes(stdout, `: 1 connection, pipeline 1,`);
  // Only the 5 refused PUTs of the preload: no throughput of refusals.
  assertStringIncludes(stdout, "preload: 0 keys");
  assertStringIncludes(stdout, "requests: 0 in 0.000 s, errors: 5\n");
  assertStringIncludes(stdout, "throughput: 0 ops/s\n");
  assertEquals(
    stderr,
    `kv bench: first error: PUT key:0: expected "Success!", got "-ERR unknown command 'PUT,', ` +
      `with args beginning with: "\n` +
      "kv bench: the server answers in RESP, as Redis does: kv bench speaks kv's line protocol " +
      "(measure a Redis server with redis-benchmark)\n",
  );
});

Deno.test("kv bench counts a connection the server closes as lost: exit 1", async () => {
  await using server = scriptedServer(async (conn) => {
    await conn.read(new Uint8Array(1024));
  });
  const { code, stdout, stderr } = await bench(server.port, ["-n", "1000", "-c", "3", "-k", "30"]);
  assertEquals(code, 1, stdout);
  assertMatch(stdout, /connections lost 3, unanswered [1-9]/);
  assertMatch(stderr, /first error: connection \d lost: /);
});

Deno.test("kv bench stops reading an answer line longer than any right answer", async () => {
  await using server = scriptedServer(async (conn) => {
    await conn.read(new Uint8Array(1024));
    const line = encoder.encode("x".repeat(256 * 1024));
    for (let written = 0; written < line.length;) {
      written += await conn.write(line.subarray(written));
    }
    while (await conn.read(new Uint8Array(1024)) !== null);
  });
  const { code, stderr } = await bench(server.port, ["-n", "100", "-c", "1", "-k", "5"]);
  assertEquals(code, 1);
  assertMatch(stderr, /first error: connection 1 lost: an answer line of over \d+ bytes\n$/);
});

Deno.test("runBench() gives up on a server that never answers", async () => {
  await using server = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(1024);
    while (await conn.read(buffer) !== null);
  });
  const fake = new FakeIo();
  const outcome = await runBench(
    { port: server.port, connections: 2, keys: 4, requests: 10, stallTimeoutMs: 100 },
    fake.io,
  );
  assertEquals(outcome, "errors");
  assertMatch(fake.stdout, /connections lost 2, unanswered 4/);
  assertStringIncludes(fake.stderr, "lost: no answer for 0.1 s");
});

Deno.test("runBench() gives up on a server that trickles bytes without ever ending an answer", async () => {
  await using server = scriptedServer(async (conn) => {
    await conn.read(new Uint8Array(1024));
    try {
      for (let i = 0; i < 200; i++) {
        await conn.write(encoder.encode("x"));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } catch {
      // The client gave up and closed.
    }
  });
  const fake = new FakeIo();
  const outcome = await runBench(
    { port: server.port, connections: 1, keys: 1, requests: 1, stallTimeoutMs: 200 },
    fake.io,
  );
  assertEquals(outcome, "errors");
  assertStringIncludes(fake.stderr, "lost: no answer for 0.2 s");
});

Deno.test("runBench() with a password gives up on an answer to AUTH that never ends", async () => {
  // A textbook server: its Success! has no \n, so AUTH's answer line never ends.
  await using server = scriptedServer(async (conn) => {
    await conn.read(new Uint8Array(64));
    await conn.write(encoder.encode("Success!"));
    while (await conn.read(new Uint8Array(64)) !== null);
  });
  const fake = new FakeIo();
  const outcome = await runBench(
    {
      port: server.port,
      connections: 1,
      keys: 1,
      requests: 1,
      password: "pw",
      connectTimeoutMs: 200,
    },
    fake.io,
  );
  assertEquals(outcome, "unreachable");
  assertStringIncludes(fake.stderr, "the answer to AUTH did not end with \\n in time");
});

Deno.test("runBench() says why it gave up: nothing arrived, or an answer without \\n", async (t) => {
  await t.step("nothing arrived", async () => {
    await using server = scriptedServer(async (conn) => {
      while (await conn.read(new Uint8Array(1024)) !== null);
    });
    const fake = new FakeIo();
    await runBench(
      { port: server.port, connections: 1, keys: 1, requests: 1, stallTimeoutMs: 100 },
      fake.io,
    );
    assertStringIncludes(
      fake.stderr,
      "connection 1 lost: no answer for 0.1 s (nothing arrived: a server that serves one client at a time",
    );
  });
  await t.step("an answer without \\n", async () => {
    await using server = scriptedServer(async (conn) => {
      await conn.read(new Uint8Array(1024));
      await conn.write(encoder.encode("Success!"));
      while (await conn.read(new Uint8Array(1024)) !== null);
    });
    const fake = new FakeIo();
    await runBench(
      { port: server.port, connections: 1, keys: 1, requests: 1, stallTimeoutMs: 100 },
      fake.io,
    );
    assertStringIncludes(
      fake.stderr,
      'lost: no answer for 0.1 s (got "Success!" with no \\n after it: answers must end with \\n)',
    );
  });
});
