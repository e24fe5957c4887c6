/**
 * Microbenchmarks of protocol.ts (`deno task bench`): parsing a realistic mix
 * of request lines, one string per line and in place within a chunk as the
 * server does, and executing requests against a store of 10k keys. Each
 * iteration handles 1,000 requests, so time per request is the figure / 1000.
 *
 * @module
 */

import { execute, parseRequest, parseRequestAt, type Request } from "./protocol.ts";
import { Store } from "./store.ts";

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
// The lines as the server holds them: one decoded chunk, each line in place.
const chunk = lines.join("\n");
const bounds: number[] = [];
for (let start = 0, i = 0; i < lines.length; i++) {
  bounds.push(start, start + lines[i]!.length);
  start += lines[i]!.length + 1;
}

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
  name: "parseRequestAt(): the same 1,000 lines in place in one chunk",
  group: "parse",
  fn() {
    for (let i = 0; i < bounds.length; i += 2) {
      sink += parseRequestAt(chunk, bounds[i]!, bounds[i + 1]!) === null ? 0 : 1;
    }
  },
});

// execute(): half GETs of keys that are there (a few that are not), half PUTs
// that overwrite, like kv bench's default mix.
const store = new Store();
for (let key = 0; key < KEYS; key++) store.put(`key:${key}`, `value-${key}`.padEnd(16, "v"));
const requests: Request[] = Array.from({ length: BATCH }, (_, i) => {
  const key = i % 50 === 0 ? `missing:${i}` : `key:${(i * 7_919) % KEYS}`;
  return i % 2 === 0
    ? { kind: "get", key }
    : { kind: "put", key, value: `value-${i}`.padEnd(16, "v") };
});

Deno.bench({
  name: "execute(): 1,000 GET/PUT on a store of 10k keys",
  group: "execute",
  fn() {
    for (const request of requests) sink += execute(request, store).length;
  },
});

const requestChunk = requests.map((request) =>
  request.kind === "put"
    ? `PUT, ${request.key}, ${request.value}`
    : `GET, ${(request as { key: string }).key}`
).join("\n");

Deno.bench({
  name: "parseRequestAt() + execute(): the same 1,000 as one chunk of lines",
  group: "execute",
  fn() {
    const text = requestChunk;
    for (let start = 0; start <= text.length;) {
      const nl = text.indexOf("\n", start);
      const end = nl === -1 ? text.length : nl;
      const request = parseRequestAt(text, start, end);
      if (request !== null) sink += execute(request, store).length;
      start = end + 1;
    }
  },
});
