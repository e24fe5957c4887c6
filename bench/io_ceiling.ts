/**
 * The I/O ceiling of a Deno server on this machine: a server that answers
 * each line of the line protocol without parsing it or keeping anything,
 * with an answer as long as kv's (a GET gets a 16-byte value and `\n`, as
 * loadgen's values are; anything else `Success!\n`). One read and one write
 * per chunk, as kv's connection loop does. The distance between it and kv,
 * measured side by side against Redis, is what kv's own work (parsing, the
 * keyed hash, the table, the answers) costs:
 *
 *     python3 ../shared/perf/compare.py --configs ii \
 *       --cmd 'deno run --allow-net bench/io_ceiling.ts'
 *
 * Its GET answers are not the values stored, so loadgen counts them as
 * errors: read its ops/s only. A measurement, not a server: BENCHMARKS.md
 * keeps its numbers.
 *
 * `--threads N` runs N such servers in worker threads on one port (the
 * kernel spreads the connections, `SO_REUSEPORT`): the ceiling of a Deno
 * server that would use a second core, which kv does not.
 *
 *     python3 ../shared/perf/compare.py --configs ii --cmd \
 *       'deno run --allow-net --allow-read --unstable-net bench/io_ceiling.ts --threads 2'
 *
 * @module
 */

import { parseArgs } from "@std/cli";

const args = parseArgs(Deno.args, {
  string: ["host", "port", "threads"],
  default: { host: "127.0.0.1", port: "12000", threads: "1" },
});
const threads = Number(args.threads);
// A worker is given its name by the main thread below; the main thread has none.
const inWorker = (globalThis as { name?: string }).name === "io-ceiling";
const encoder = new TextEncoder();
const OK = encoder.encode("Success!\n");
const VALUE = encoder.encode("v".repeat(16) + "\n");
const LF = 0x0a;
const G = 0x47;

async function answer(conn: Deno.Conn): Promise<void> {
  const input = new Uint8Array(64 * 1024);
  let output = new Uint8Array(64 * 1024);
  let lineStart = true;
  try {
    for (;;) {
      const n = await conn.read(input);
      if (n === null) break;
      let length = 0;
      for (let i = 0; i < n; i++) {
        const byte = input[i]!;
        if (lineStart && byte !== LF) {
          const line = byte === G ? VALUE : OK;
          if (length + line.length > output.length) {
            const grown = new Uint8Array(2 * output.length);
            grown.set(output.subarray(0, length));
            output = grown;
          }
          for (let j = 0; j < line.length; j++) output[length++] = line[j]!;
          lineStart = false;
        }
        if (byte === LF) lineStart = true;
      }
      let written = 0;
      while (written < length) written += await conn.write(output.subarray(written, length));
    }
  } catch {
    // The client went away.
  } finally {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
}

if (!Number.isInteger(threads) || threads < 1) {
  // deno-lint-ignore no-console
  console.error(`io_ceiling: --threads must be a whole number of at least 1, not ${args.threads}`);
  Deno.exit(2);
}
if (threads > 1 && !inWorker) {
  // Workers see the same Deno.args, and each listens on the port itself.
  for (let i = 0; i < threads; i++) {
    new Worker(import.meta.url, { type: "module", name: "io-ceiling" });
  }
} else {
  const listener = Deno.listen({
    hostname: args.host,
    port: Number(args.port),
    ...(threads > 1 ? { reusePort: true } : {}),
  } as Deno.TcpListenOptions);
  for await (const conn of listener) void answer(conn);
}
