/**
 * Microbenchmarks of the line protocol (`deno task bench`): parsing a
 * realistic mix of request lines, as strings (the client's way) and in place
 * within one chunk of bytes (the server's way), and running requests through
 * the command table against a store of 10k keys. Each iteration handles 1,000 requests, so time per request is
 * the figure / 1000.
 *
 * @module
 */

import type { Context } from "../../command/command.ts";
import { Request } from "../../command/request.ts";
import { execute } from "../../command/execute.ts";
import { testContext } from "../../testing/mod.ts";
import { MemoryStore } from "../../store/memory.ts";
import { TextStore } from "../../store/text.ts";
import { AnswerBuffer } from "../answer_buffer.ts";
import { parseRequest } from "./encode.ts";
import { parseLine } from "./parse.ts";
import { LineReply } from "./reply.ts";

const BATCH = 1_000;
const KEYS = 10_000;

/**
 * The mix a cache-like client sends (mostly GET and PUT, as in kv bench), in
 * the spellings people type: spaces or none, lower case, Korean keys and
 * values, a value holding commas, now and then a bad line.
 */
function requestLine(i: number): string {
  const key = `key:${(i * 7_919) % KEYS}`;
  switch (i % 20) {
    case 0:
      return `put,${key},${"v".repeat(16)}`;
    case 1:
      return `  get , ${key} `;
    case 2:
      return `PUT, 이름:${i % 100}, 김철수 안녕하세요`;
    case 3:
      return `PUT, ${key}, hello, world, with commas`;
    case 4:
      return `DELETE, ${key}`;
    case 5:
      return "PING";
    case 6:
      return `GET, ${key}, extra`;
    default:
      return i % 2 === 0 ? `GET, ${key}` : `PUT, ${key}, value-${i.toString(36).padStart(10, "0")}`;
  }
}

const lines = Array.from({ length: BATCH }, (_, i) => requestLine(i));
// The lines as the server holds them: one chunk of bytes, each line in place.
const encoder = new TextEncoder();
const chunk = encoder.encode(lines.join("\n"));
const bounds: number[] = [];
for (let start = 0; start <= chunk.length;) {
  const nl = chunk.indexOf(0x0a, start);
  const end = nl === -1 ? chunk.length : nl;
  bounds.push(start, end);
  start = end + 1;
}
const view = new Request();
const out = new AnswerBuffer();
const reply = new LineReply(out);

// Every result feeds this module-level sum, so no loop can be optimised away.
let sink = 0;

Deno.bench({
  name: "parseRequest(): 1,000 lines of a mixed workload",
  group: "parse",
  baseline: true,
  fn() {
    for (const line of lines) sink += parseRequest(line) === null ? 0 : 1;
  },
});

Deno.bench({
  name: "parseLine(): the same 1,000 lines in place in one chunk of bytes",
  group: "parse",
  fn() {
    for (let i = 0; i < bounds.length; i += 2) {
      sink += parseLine(chunk, bounds[i]!, bounds[i + 1]!, view) ? 1 : 0;
    }
  },
});

// execute(): half GETs of keys that are there (a few that are not), half PUTs
// that overwrite, like kv bench's default mix.
// Preloaded as a line client does it: by PUT (so GET shows the values as they are).
const store = new TextStore(new MemoryStore());
for (let key = 0; key < KEYS; key++) {
  store.set(`key:${key}`, `value-${key}`.padEnd(16, "v"), { lineText: true });
}
const context: Context = testContext(store.store);
const requestLines = Array.from({ length: BATCH }, (_, i) => {
  const key = i % 50 === 0 ? `missing:${i}` : `key:${(i * 7_919) % KEYS}`;
  return i % 2 === 0 ? `GET, ${key}` : `PUT, ${key}, ${`value-${i}`.padEnd(16, "v")}`;
});
const requestChunk = encoder.encode(requestLines.join("\n"));
const requestBounds: number[] = [];
for (let start = 0; start <= requestChunk.length;) {
  const nl = requestChunk.indexOf(0x0a, start);
  const end = nl === -1 ? requestChunk.length : nl;
  requestBounds.push(start, end);
  start = end + 1;
}

Deno.bench({
  name: "parseLine() + execute(): 1,000 GET/PUT on a store of 10k keys",
  group: "execute",
  fn() {
    for (let i = 0; i < requestBounds.length; i += 2) {
      if (parseLine(requestChunk, requestBounds[i]!, requestBounds[i + 1]!, view)) {
        execute(view, context, reply);
      }
    }
    sink += out.length;
    out.clear();
  },
});
