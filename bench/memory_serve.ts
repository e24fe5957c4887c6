/**
 * `kv serve` that says where its memory is: runs `main.ts serve` with the
 * arguments given, and answers every line read on stdin with one line on
 * stdout, `memory heap=BYTES external=BYTES rss=BYTES`, from
 * `Deno.memoryUsage()`: V8's heap (objects), what lives outside it
 * (ArrayBuffers' bytes: read buffers, partial requests, answers), and the
 * process's resident pages. bench/input_budget.py starts it with
 * `--memory` to tell memory kv still holds from pages the allocator has not
 * given back. It asks for nothing itself, no collection among it.
 *
 *     deno run --allow-net bench/memory_serve.ts --port 0 --quiet
 *
 * @module
 */

import { main } from "../cli/main.ts";

/** One line of what `Deno.memoryUsage()` says. */
export function memoryLine(): string {
  const m = Deno.memoryUsage();
  return `memory heap=${m.heapUsed} external=${m.external} rss=${m.rss}\n`;
}

async function answerStdin(): Promise<void> {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(256);
  for (;;) {
    const n = await Deno.stdin.read(buffer);
    if (n === null) return;
    const lines = decoder.decode(buffer.subarray(0, n)).split("\n").length - 1;
    for (let i = 0; i < lines; i++) await Deno.stdout.write(encoder.encode(memoryLine()));
  }
}

if (import.meta.main) {
  answerStdin();
  Deno.exit(await main(["serve", ...Deno.args]));
}
