/**
 * Microbenchmarks of the RESP framer (`deno task bench`), with no socket and
 * no commands run: requests are only framed. The common case, 10,000
 * pipelined GET/SET in reads of 64 KiB (time per request is the figure /
 * 10,000); and one large request, an MGET of 20,000 one-byte keys (140 KB),
 * in one read and in reads of 100 bytes, as a client on a slow link sends
 * it: framing it in pieces must cost about what it costs in one.
 *
 * @module
 */

import { Request } from "../../command/request.ts";
import { RespFramer } from "./framer.ts";

const encoder = new TextEncoder();

function resp(words: string[]): string {
  return `*${words.length}\r\n${words.map((w) => `$${w.length}\r\n${w}\r\n`).join("")}`;
}

/** `bytes` in pieces of `size` bytes. */
function pieces(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

const pipelined = pieces(
  encoder.encode(
    Array.from(
      { length: 10_000 },
      (_, i) => resp(i % 2 === 0 ? ["GET", `key:${i}`] : ["SET", `key:${i}`, "v".repeat(16)]),
    ).join(""),
  ),
  64 * 1024,
);
const mget = encoder.encode(
  resp(["MGET", ...Array.from({ length: 20_000 }, (_, i) => String.fromCharCode(97 + i % 26))]),
);
const mgetPieces = pieces(mget, 100);

// Every request's argument count feeds this sum, so nothing can be optimised away.
let sink = 0;
const request = new Request();

/** Frames every request in `chunks`, fed one at a time as a connection reads them. */
function frame(chunks: Uint8Array[]): void {
  const framer = new RespFramer(1024 * 1024);
  for (const chunk of chunks) {
    framer.feed(chunk);
    while (framer.next(request)) sink += request.count;
  }
}

Deno.bench({
  name: "frame: 10,000 pipelined GET/SET in reads of 64 KiB",
  group: "pipelined",
  fn: () => frame(pipelined),
});

Deno.bench({
  name: `frame: MGET of 20,000 keys (${mget.length} B) in one read`,
  group: "large",
  baseline: true,
  fn: () => frame([mget]),
});

Deno.bench({
  name: `frame: the same MGET in ${mgetPieces.length} reads of 100 bytes`,
  group: "large",
  fn: () => frame(mgetPieces),
});

// Read after the run, so the sink's work is never dead code.
globalThis.addEventListener("unload", () => {
  if (sink < 0) throw new Error("unreachable");
});
