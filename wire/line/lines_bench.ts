/**
 * Microbenchmarks of lines.ts (`deno task bench`): `LineSplitter` (feed, then
 * next() until null) over 16 KiB chunks (what a server read returns under load) of ~30-byte
 * request lines, ASCII and Korean, and over chunks that end mid-line.
 *
 * @module
 */

import { LineSplitter } from "./lines.ts";

const CHUNK_BYTES = 16 * 1024;
const encoder = new TextEncoder();

/** Lines made by `line(i)`, `bytes` of them or a little less: whole lines only. */
function linesOf(bytes: number, line: (i: number) => string): Uint8Array {
  const out = new Uint8Array(bytes);
  let length = 0;
  for (let i = 0;; i++) {
    const encoded = encoder.encode(`${line(i)}\n`);
    if (length + encoded.length > bytes) return out.subarray(0, length);
    out.set(encoded, length);
    length += encoded.length;
  }
}

// About 30 bytes a line, half PUT and half GET, as kv bench sends them.
function asciiLine(i: number): string {
  return i % 2 === 0
    ? `PUT, key:${i % 10_000}, value-${i % 1000}xyz`
    : `GET, key:${(i * 7) % 10_000}`.padEnd(29);
}

// Hangul takes 3 bytes a character in UTF-8: `이름` is 6 bytes, `김철수` 9.
function koreanLine(i: number): string {
  return i % 2 === 0 ? `PUT, 이름:${i % 1000}, 김철수` : `GET, 사용자:${i % 1000}`;
}

const ascii = linesOf(CHUNK_BYTES, asciiLine);
const korean = linesOf(CHUNK_BYTES, koreanLine);

// Two reads of one stream that end mid-line: the reader must hold the
// partial line and join it to the start of the next read. The second ends on
// a `\n`, so every iteration starts clean.
const stream = linesOf(2 * CHUNK_BYTES, asciiLine);
const cut = stream[CHUNK_BYTES - 1] === 0x0a ? CHUNK_BYTES - 1 : CHUNK_BYTES;
const splitFirst = stream.subarray(0, cut);
const splitSecond = stream.subarray(cut);

let lines = 0;
let chars = 0;

/** Feeds one chunk and takes every line, as a connection does per read. */
function split(chunk: Uint8Array): void {
  splitter.feed(chunk);
  for (let kind = splitter.next(); kind !== null; kind = splitter.next()) {
    if (kind !== "line") throw new Error("the benchmark's lines are all good");
    lines++;
    chars += splitter.end - splitter.start;
  }
}

function countLines(bytes: Uint8Array): number {
  let count = 0;
  for (const byte of bytes) if (byte === 0x0a) count++;
  return count;
}

const splitter = new LineSplitter(1_048_576);

Deno.bench({
  name: `split: 16 KiB of ASCII lines (${countLines(ascii)} lines, ${ascii.length} B)`,
  group: "split",
  baseline: true,
  fn() {
    split(ascii);
  },
});

Deno.bench({
  name: `split: 16 KiB of Korean lines (${countLines(korean)} lines, ${korean.length} B)`,
  group: "split",
  fn() {
    split(korean);
  },
});

Deno.bench({
  name: `split: 2 x 16 KiB split mid-line (${countLines(stream)} lines, ${stream.length} B)`,
  group: "split",
  fn() {
    split(splitFirst);
    split(splitSecond);
  },
});

// Read after the run, so the sink's work is never dead code.
globalThis.addEventListener("unload", () => {
  if (lines < 0 || chars < 0) throw new Error("unreachable");
});
