/**
 * End-to-end: every way a connection can end leaves nothing behind. A
 * server runs in this process, and bench/leak_waves.py (Python, as a client
 * no Deno test can be: it resets on cue, sends half a ClientHello) runs
 * waves of connection lifecycles against it (QUIT, close, resets mid-answer,
 * WATCH and MULTI cut short, wrong AUTHs, lines past the limit, broken
 * frames, the idle timeout, refusals past the limit, TLS handshakes that go
 * wrong), then counts this process's descriptors in /proc (Deno reads /proc
 * only with more permissions): after each wave they must be back where they
 * were before the first, and INFO must count only its probe. It needs
 * `--allow-net --allow-run=python3`, from `.ci/run`. The numbers at scale are
 * BENCHMARKS.md's ("What connections leave behind").
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { startTestServer } from "../testing/mod.ts";
import { TEST_CA, TEST_CERT, TEST_KEY } from "../testing/tls.ts";
import type { ServeOptions } from "../server/serve.ts";

const SCRIPT = new URL("../bench/leak_waves.py", import.meta.url).pathname;
const PASSWORD = "leak-waves-password";
const MAX_CONNECTIONS = 12;
// Small enough that a wave's silent clients and handshakes end quickly, and
// long enough that a busy loaded machine reads a lifecycle's first request
// before it: at 300 ms a CI run under load cut two clients whose AUTH and PUT
// waited unread (a timeout fires before the I/O that came meanwhile is read).
const IDLE_TIMEOUT_MS = 1_000;

interface Wave {
  wave: number;
  fds: number;
  fds_before: number;
  connected_clients: number;
  refused?: number;
}

/** Serves with `options`, runs leak_waves.py against it with `args`; its waves. */
async function waves(options: ServeOptions, args: string[], stdin?: string): Promise<Wave[]> {
  await using server = startTestServer({
    maxConnections: MAX_CONNECTIONS,
    idleTimeoutMs: IDLE_TIMEOUT_MS,
    maxLineBytes: 131_072, // the script's big value (100 KB) fits; its long line does not
    ...options,
  });
  const child = new Deno.Command("python3", {
    args: [
      SCRIPT,
      ...["--port", String(server.port), "--pid", String(Deno.pid), "--json"],
      ...["--waves", "2", "--per-wave", "160", "--concurrency", "8", "--idle", "4"],
      ...["--max-connections", String(MAX_CONNECTIONS), "--refusals", "12"],
      ...args,
    ],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const out = new TextDecoder().decode(stdout);
  assertEquals(code, 0, `${out}${new TextDecoder().decode(stderr)}`);
  const rows = out.trim().split("\n").map((line) => JSON.parse(line) as Wave);
  assertEquals(rows.length, 3, out);
  for (const row of rows) {
    assertEquals(row.fds, row.fds_before, `wave ${row.wave}: descriptors not back (${out})`);
    assertEquals(row.connected_clients, 1, `wave ${row.wave}: INFO counts more than its probe`);
    if (row.wave > 0) {
      assertEquals(row.refused, 12, `wave ${row.wave}: every one over the limit refused`);
    }
  }
  assert(rows[0]!.fds_before > 0);
  return rows;
}

Deno.test("connections that end every way leave no descriptor and no client behind (TCP)", async () => {
  await waves({}, []);
});

Deno.test("connections that end every way leave nothing behind with a password too (wrong AUTHs, requests past the limits before AUTH)", async () => {
  await waves({ password: PASSWORD }, ["--password", PASSWORD]);
});

Deno.test("connections that end every way leave nothing behind over TLS, nor do handshakes that go wrong (silent, cut short, plain text, reset)", async () => {
  await waves(
    { password: PASSWORD, tls: { cert: TEST_CERT, key: TEST_KEY } },
    ["--password", PASSWORD, "--tls-ca", "-", "--handshakes", "35"],
    TEST_CA,
  );
});
