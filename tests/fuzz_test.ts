/**
 * A seeded fuzz test of the server's framing: thousands of random lines
 * (printable text, raw bytes, commas, real and fake command words, CR, NUL,
 * lines over the limit) over several connections at once, cut into random
 * chunks. Every non-blank line must get exactly one answer (LIST: its lines
 * and the empty line), in order, and the server must stay up.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { parseRequest } from "../wire/line/encode.ts";
import { writeAll } from "../net/conn.ts";
import { ask, startTestServer } from "../testing/mod.ts";

const SEED = 0x6b76_2024;
const CONNECTIONS = 8;
const LINES_PER_CONNECTION = 2_500;
const MAX_LINE_BYTES = 300;
const BOUND_MS = 30_000;

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** mulberry32: a tiny seeded PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

class Random {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const WORDS = ["PUT", "GET", "DELETE", "LIST", "PING", "QUIT"];
const FAKE_WORDS = [
  "PUTT",
  "GE",
  "DEL",
  "LISTS",
  "PONG",
  "lıst",
  "PİNG",
  "ＰＵＴ",
  "",
  "SET",
  "quit!",
];
const PIECES = [",", ", ", " ", "\t", "\r", "\0", "key", "값", "🙂", "a,b", "Error: ", "\uFEFF"];
const KEYS = ["a", "b", "k1", "이름", "🔑", "x y", "NUL\0key"];

/** Random text of printable ASCII and a few multi-byte and odd characters. */
function text(random: Random, most: number): string {
  let out = "";
  const length = random.int(most);
  for (let i = 0; i < length; i++) {
    out += random.chance(0.85) ? String.fromCharCode(32 + random.int(95)) : random.pick(PIECES);
  }
  return out;
}

/** Spaces and tabs to pad a field with. */
function blanks(random: Random): string {
  return random.chance(0.6) ? "" : random.pick([" ", "  ", "\t", " \t "]);
}

/**
 * One random line, without its `\n`. Without `rawBytes` every line is valid
 * UTF-8, so the server's fast path (a whole run decoded at once) runs too.
 */
function randomLine(random: Random, rawBytes: boolean): Uint8Array {
  const kind = random.int(10);
  switch (kind === 7 && !rawBytes ? 5 : kind) {
    case 0: // blank
      return encoder.encode(random.pick(["", " ", "\t \t", "\r", " \r"]));
    case 1:
    case 2:
    case 3: { // a real command word with 0-3 fields
      const word = random.pick(WORDS);
      const cased = random.chance(0.3) ? word.toLowerCase() : word;
      const fields = [blanks(random) + cased + blanks(random)];
      const count = random.int(4);
      for (let i = 0; i < count; i++) {
        const field = random.chance(0.7) ? random.pick(KEYS) : text(random, 12);
        fields.push(blanks(random) + field + blanks(random));
      }
      return encoder.encode(fields.join(",") + (random.chance(0.2) ? "\r" : ""));
    }
    case 4: // a fake command word
      return encoder.encode(`${random.pick(FAKE_WORDS)}${random.chance(0.5) ? ", a" : ""}`);
    case 5:
    case 6: // printable text with commas and odd characters
      return encoder.encode(text(random, 60));
    case 7: { // raw bytes, mostly not UTF-8; anything but `\n`
      const bytes = new Uint8Array(1 + random.int(40));
      for (let i = 0; i < bytes.length; i++) {
        const byte = random.int(256);
        bytes[i] = byte === 0x0a ? 0xff : byte;
      }
      return bytes;
    }
    case 8: { // around the limit in bytes, some characters multi-byte
      const length = MAX_LINE_BYTES - 2 + random.int(5);
      const filler = random.pick(["v", "값", "🙂"]);
      let line = "PUT, long, ";
      while (encoder.encode(line).length < length - 4) line += filler;
      while (encoder.encode(line).length < length) line += "v";
      return encoder.encode(line);
    }
    default: { // over the limit, by a little or a lot
      const length = MAX_LINE_BYTES + 1 + random.int(3 * MAX_LINE_BYTES);
      return encoder.encode(text(random, 20).padEnd(length, "z"));
    }
  }
}

/** What the server must answer to a line: nothing, an error, one line, or a LIST. */
type Expected = "none" | "error" | "list" | { line: string | null } | "bye";

/** The contract's answer to one line of bytes, with the same parser the client uses. */
function expectedAnswer(bytes: Uint8Array): Expected {
  if (bytes.length > MAX_LINE_BYTES) return "error";
  let line: string;
  try {
    line = strictDecoder.decode(bytes);
  } catch {
    return "error";
  }
  if (line.endsWith("\r")) line = line.slice(0, -1);
  const request = parseRequest(line);
  if (request === null) return "none";
  if ("failure" in request) return "error";
  switch (request.command.name) {
    case "LIST":
      return "list";
    case "QUIT":
      return "bye";
    case "PUT":
      return { line: "Success!" };
    case "PING":
      return { line: "PONG" };
    default:
      return { line: null }; // GET or DELETE: depends on the other connections
  }
}

/** Reads lines off a socket, keeping an offset instead of copying per line. */
class LineSocket {
  readonly #conn: Deno.Conn;
  #buffer = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #decoder = new TextDecoder("utf-8", { ignoreBOM: true });

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The next line, or `null` at the end of the stream. */
  async readLine(): Promise<string | null> {
    while (true) {
      const nl = this.#buffer.subarray(this.#start, this.#end).indexOf(0x0a);
      if (nl !== -1) {
        const line = this.#decoder.decode(this.#buffer.subarray(this.#start, this.#start + nl));
        this.#start += nl + 1;
        return line;
      }
      if (this.#end === this.#buffer.length) {
        const size = this.#end - this.#start;
        const grown = new Uint8Array(
          size * 2 > this.#buffer.length ? size * 2 : this.#buffer.length,
        );
        grown.set(this.#buffer.subarray(this.#start, this.#end));
        this.#buffer = grown;
        this.#start = 0;
        this.#end = size;
      }
      const n = await this.#conn.read(this.#buffer.subarray(this.#end));
      if (n === null) return null;
      this.#end += n;
    }
  }
}

type Ending = "quit" | "half-close" | "half-close mid-line";

/** One connection's share: send every line in random chunks, check every answer. */
async function fuzzConnection(
  port: number,
  random: Random,
  ending: Ending,
  rawBytes: boolean,
  label: string,
): Promise<number> {
  const lines: Uint8Array[] = [encoder.encode("PING")];
  while (lines.length < LINES_PER_CONNECTION) {
    const line = randomLine(random, rawBytes);
    if (expectedAnswer(line) !== "bye") lines.push(line);
  }
  if (ending === "quit") lines.push(encoder.encode(random.pick(["QUIT", " quit\r", "Quit\t"])));

  const parts: Uint8Array[] = [];
  for (const line of lines) parts.push(line, encoder.encode("\n"));
  if (ending === "half-close mid-line") parts.pop();
  const stream = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    stream.set(part, offset);
    offset += part.length;
  }

  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const sending = (async () => {
    // The first chunk holds the first `\n`, so the unframed pause never
    // applies, however the scheduler delays the next chunk.
    let at = 0;
    let first = true;
    while (at < stream.length) {
      const size = first ? 5 + random.int(100) : 1 + random.int(random.chance(0.5) ? 16 : 2048);
      first = false;
      await writeAll(conn, stream.subarray(at, Math.min(stream.length, at + size)));
      at += size;
    }
    if (ending !== "quit") await conn.closeWrite();
  })().catch((error) => error); // Rethrown below, unless a check failed first.

  const socket = new LineSocket(conn);
  const where = (i: number) =>
    `${label}, line ${i} ${JSON.stringify(new TextDecoder().decode(lines[i]!)).slice(0, 80)}`;
  let answered = 0;
  for (let i = 0; i < lines.length; i++) {
    const expected = expectedAnswer(lines[i]!);
    if (expected === "none") continue;
    answered++;
    const answer = await socket.readLine();
    if (answer === null) throw new Error(`${where(i)}: no answer, the connection ended`);
    if (expected === "error") {
      assert(answer.startsWith("Error: "), `${where(i)}: expected an error, got ${answer}`);
    } else if (expected === "bye") {
      assertEquals(answer, "Bye!", where(i));
    } else if (expected === "list") {
      let item = answer;
      for (let count = 0; item !== ""; count++) {
        assert(
          item.includes(", ") || (item === "Not exist!" && count === 0),
          `${where(i)}: LIST line ${JSON.stringify(item)}`,
        );
        const next = await socket.readLine();
        if (next === null) throw new Error(`${where(i)}: LIST cut short`);
        item = next;
      }
    } else if (expected.line !== null) {
      assertEquals(answer, expected.line, where(i));
    } else {
      assert(!answer.startsWith("Error: "), `${where(i)}: ${answer}`);
    }
  }
  assertEquals(await socket.readLine(), null, `${label}: answers beyond one per request`);
  const failure = await sending;
  if (failure !== undefined) throw failure;
  return answered;
}

Deno.test("serve() answers every non-blank random line exactly once, and stays up", async () => {
  await using server = startTestServer({ maxLineBytes: MAX_LINE_BYTES });
  const random = new Random(SEED);
  const endings: Ending[] = ["quit", "half-close", "half-close mid-line"];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`fuzz: not done in ${BOUND_MS} ms`)), BOUND_MS);
  });
  try {
    const answered = await Promise.race([
      Promise.all(
        Array.from({ length: CONNECTIONS }, (_, i) =>
          fuzzConnection(
            server.port,
            new Random(random.int(2 ** 32)),
            endings[i % endings.length]!,
            i % 2 === 0,
            `seed ${SEED}, connection ${i}`,
          )),
      ),
      late,
    ]);
    const total = answered.reduce((sum, n) => sum + n, 0);
    assert(total > CONNECTIONS * LINES_PER_CONNECTION / 2, `only ${total} answers`);
  } finally {
    clearTimeout(timer);
  }
  assertEquals(await ask(server.port, "PING"), "PONG");
});
