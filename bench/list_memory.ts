/**
 * What clients that send LIST and never read cost the server's memory:
 * starts `kv serve` in a child process, fills it with KEYS pairs, then opens
 * CLIENTS connections that each send `LIST` and read nothing, and reports the
 * server's RSS (from `ps`) before, while they wait, and after they reset.
 *
 *     deno run --allow-run --allow-net bench/list_memory.ts \
 *       [--keys 1000000] [--clients 40] [--value-bytes 80] [--cwd DIR]
 *
 * `--cwd` runs the server of another checkout (to compare before and after).
 * A measurement, not a test: BENCHMARKS.md keeps its numbers.
 *
 * @module
 */

import { parseArgs } from "@std/cli";

const args = parseArgs(Deno.args, {
  string: ["keys", "clients", "value-bytes", "cwd"],
  default: { keys: "1000000", clients: "40", "value-bytes": "80", cwd: "." },
});
const keys = Number(args.keys);
const clients = Number(args.clients);
const valueBytes = Number(args["value-bytes"]);
const encoder = new TextEncoder();

const server = new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-net", "main.ts", "serve", "--port", "0", "--quiet"],
  cwd: args.cwd,
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
let banner = "";
while (!banner.includes("\n")) {
  const { value, done } = await reader.read();
  if (done) throw new Error("the server exited before listening");
  banner += value;
}
const port = Number(banner.match(/:(\d+)\n/)![1]);

/** The server's resident set size, read with `ps` (Deno asks --allow-all for /proc). */
async function rssMb(): Promise<number> {
  const { stdout } = await new Deno.Command("ps", {
    args: ["-o", "rss=", "-p", String(server.pid)],
  }).output();
  return Number(new TextDecoder().decode(stdout).trim()) / 1024;
}

/** Waits until RSS has moved less than 1 MB over a second (at most 15 s). */
async function settledRss(): Promise<number> {
  let last = await rssMb();
  for (let i = 0; i < 15; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = await rssMb();
    if (Math.abs(now - last) < 1) return now;
    last = now;
  }
  return last;
}

// Fill: PUTs pipelined in batches of 10,000 lines, every answer read.
const filler = await Deno.connect({ hostname: "127.0.0.1", port });
const value = "v".repeat(valueBytes);
const answers = new Uint8Array(1 << 20);
for (let start = 0; start < keys; start += 10_000) {
  const end = Math.min(keys, start + 10_000);
  let batch = "";
  for (let i = start; i < end; i++) batch += `PUT, key:${i}, ${value}\n`;
  const bytes = encoder.encode(batch);
  for (let written = 0; written < bytes.length;) {
    written += await filler.write(bytes.subarray(written));
  }
  let lines = 0;
  while (lines < end - start) {
    const n = await filler.read(answers);
    if (n === null) throw new Error("the server closed while filling");
    for (let i = 0; i < n; i++) if (answers[i] === 0x0a) lines++;
  }
}
filler.close();
const filled = await settledRss();

const silent: Deno.TcpConn[] = [];
for (let i = 0; i < clients; i++) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode("LIST\n"));
  silent.push(conn);
}
const waiting = await settledRss();
for (const conn of silent) conn.close();
const after = await settledRss();

server.kill("SIGTERM");
await reader.cancel();
await server.status;

const mb = (n: number) => `${Math.round(n)} MB`;
const listMb = keys * (`key:${keys - 1}, `.length + valueBytes + 1) / 2 ** 20;
// deno-lint-ignore no-console
console.log(
  `${keys} keys (a LIST of about ${
    mb(listMb)
  }), ${clients} clients sending LIST and reading nothing`,
);
// deno-lint-ignore no-console
console.log(
  `RSS: filled ${mb(filled)}, while they wait ${mb(waiting)} (+${mb(waiting - filled)}, ${
    ((waiting - filled) / clients).toFixed(1)
  } MB a client), after they reset ${mb(after)}`,
);
