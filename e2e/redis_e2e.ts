/**
 * kv against the real Redis (Debian's redis-server 7): a differential test
 * of seeded random commands sent to both, replies compared byte for byte in
 * RESP2 and in RESP3, and of edge cases of parsing, with and without a
 * password; and redis-cli and redis-benchmark run against kv.
 *
 * Needs more than --allow-net, so `deno test --allow-net` does not pick it
 * up; `.ci/run` runs it (installing redis-server and redis-tools if
 * missing) with:
 *
 *     deno test --allow-net --allow-run=redis-server,redis-cli,redis-benchmark e2e/redis_e2e.ts
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { closeQuietly, writeAll } from "../net/conn.ts";
import { RawConn, startTestServer } from "../testing/mod.ts";

const SEED = 20261127;
const COMMANDS_PER_PROTOCOL = 3_000;
const encoder = new TextEncoder();

/** A seeded PRNG (mulberry32), so a difference can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Starts Debian's redis-server on a free port, persistence off, with `options` added. */
async function startRedis(
  options: string[] = [],
): Promise<{ port: number; stop(): Promise<void> }> {
  const port = freePort();
  const child = new Deno.Command("redis-server", {
    args: [
      ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      ...options,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let attempt = 0;; attempt++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      break;
    } catch (error) {
      // Redis binds within milliseconds; this bounds the wait, it is not a pause to sync on.
      if (attempt > 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  return {
    port,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** Encodes a command as a RESP array of bulk strings. */
function encode(words: Uint8Array[]): Uint8Array {
  const parts: number[] = [...encoder.encode(`*${words.length}\r\n`)];
  for (const word of words) parts.push(...encoder.encode(`$${word.length}\r\n`), ...word, 13, 10);
  return Uint8Array.from(parts);
}

/** A connection that sends one command and reads its one whole reply. */
class RespConn {
  readonly #conn: Deno.TcpConn;
  #buffer = new Uint8Array(0);

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async open(port: number): Promise<RespConn> {
    return new RespConn(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async call(words: Uint8Array[]): Promise<Uint8Array> {
    await writeAll(this.#conn, encode(words));
    while (true) {
      const end = replyEnd(this.#buffer, 0);
      if (end !== -1) {
        const reply = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end);
        return reply;
      }
      const chunk = new Uint8Array(64 * 1024);
      const n = await this.#conn.read(chunk);
      if (n === null) throw new Error("connection closed");
      const joined = new Uint8Array(this.#buffer.length + n);
      joined.set(this.#buffer);
      joined.set(chunk.subarray(0, n), this.#buffer.length);
      this.#buffer = joined;
    }
  }

  close(): void {
    closeQuietly(this.#conn);
  }
}

/** Where the RESP2/RESP3 reply starting at `at` ends, or -1 if it is not all there. */
function replyEnd(bytes: Uint8Array, at: number): number {
  const crlf = bytes.indexOf(13, at);
  if (crlf === -1 || crlf + 1 >= bytes.length) return -1;
  const type = String.fromCharCode(bytes[at]!);
  const header = new TextDecoder().decode(bytes.subarray(at + 1, crlf));
  const next = crlf + 2;
  switch (type) {
    case "$":
    case "=":
    case "!": {
      const length = Number(header);
      if (length < 0) return next;
      return next + length + 2 <= bytes.length ? next + length + 2 : -1;
    }
    case "*":
    case "~":
    case ">":
    case "%": {
      let count = Number(header);
      if (count < 0) return next;
      if (type === "%") count *= 2;
      let end = next;
      for (let i = 0; i < count; i++) {
        end = replyEnd(bytes, end);
        if (end === -1) return -1;
      }
      return end;
    }
    default: // + - : _ , # (
      return next;
  }
}

/** The elements of a flat array reply of bulk strings, for order-free comparison. */
function sortedArray(reply: Uint8Array): string {
  const text = new TextDecoder("latin1").decode(reply);
  const [head, ...rest] = text.split("\r\n");
  const elements: string[] = [];
  for (let i = 0; i + 1 < rest.length; i += 2) elements.push(`${rest[i]}\r\n${rest[i + 1]}`);
  return [head, ...elements.toSorted()].join("\r\n");
}

/** Random commands over a small key space, with the words Redis's rules turn on. */
/** The next relative expiries of a run: EXPIRE's odd seconds from 1001, PEXPIRE's from 50,001 s (in ms). */
interface Ttls {
  seconds: number;
  milliseconds: number;
}

function randomCommand(next: () => number, ttls: Ttls): Uint8Array[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const int = (below: number) => Math.floor(next() * below);
  const key = () => pick(["k1", "k2", "k3", "n1", "n2", "bin", "a,b", "키", "", "x".repeat(100)]);
  const value = () =>
    pick([
      "v",
      "",
      "hello, world",
      String(int(1000) - 500),
      "9223372036854775807",
      "-9223372036854775808",
      "값 😀",
      "a\r\nb",
      "\x00\x01",
      "3.14",
      "007",
    ]);
  const number = () =>
    pick([
      String(int(100)),
      "-1",
      "0",
      "x",
      "1.5",
      "9223372036854775807",
      "-9223372036854775808",
      "01",
    ]);
  // Expiries are far in the future or already past, never due during the
  // run: a key expiring between the two servers' copies of a command would
  // be a race in the test, not a difference. The relative ones EXPIRE and
  // PEXPIRE set grow with every command, in whole seconds, and differ by a
  // second or more from every other relative expiry in the mix, so GT and
  // LT compare alike on both servers however many milliseconds pass
  // between two commands (an EXPIRE k 1000 GT after an EXPIRE k 1000 was 1
  // or 0 by whether the clock ticked between them).
  const ttl = () => {
    const picked = pick(["next", "next", "0", "-5", "x"]);
    if (picked !== "next") return picked;
    ttls.seconds += 2;
    return String(ttls.seconds - 2);
  };
  const pttl = () => {
    ttls.milliseconds += 2_000;
    return String(ttls.milliseconds - 2_000);
  };
  const expiry = (): string[] => {
    const unit = pick(["EX", "PX", "EXAT", "PXAT", "ex"]);
    const values: Record<string, string[]> = {
      EX: ["1000", "100000", "0", "-5", "x", "9223372036854775807"],
      ex: ["1000", "1"],
      PX: ["100000000", "0", "-5", "x"],
      EXAT: ["1", "4000000000", "0", "x"],
      PXAT: ["1000", "4000000000000", "0"],
    };
    return [unit, pick(values[unit]!)];
  };
  const option = () => pick(["NX", "XX", "GT", "LT", "nx", "BOGUS"]);
  const words: string[] = (() => {
    switch (int(27)) {
      case 0:
        return ["GET", key()];
      case 1:
        return ["SET", key(), value()];
      case 2:
        return [
          "SET",
          key(),
          value(),
          ...pick([["NX"], ["XX"], ["GET"], ["XX", "GET"], ["NX", "XX"], ["KEEPTTL"]]),
        ];
      case 3:
        return ["SET", key(), value(), ...expiry()];
      case 4:
        return ["SETNX", key(), value()];
      case 5:
        return ["GETDEL", key()];
      case 6:
        return ["MGET", key(), key(), key()];
      case 7:
        return int(4) === 0
          ? ["MSET", key(), value(), key()]
          : ["MSET", key(), value(), key(), value()];
      case 8:
        return [pick(["INCR", "DECR"]), key()];
      case 9:
        return [pick(["INCRBY", "DECRBY"]), key(), number()];
      case 10:
        return ["APPEND", key(), value()];
      case 11:
        return ["STRLEN", key()];
      case 12:
        return [pick(["DEL", "UNLINK", "EXISTS"]), key(), key()];
      case 13:
        return ["TYPE", key()];
      case 14:
        return ["EXPIRE", key(), ttl(), ...(int(2) === 0 ? [] : [option()])];
      case 15:
        return [
          "PEXPIRE",
          key(),
          pttl(),
          ...(int(2) === 0 ? [] : [option(), option()]),
        ];
      case 16:
        return ["TTL", key()];
      case 17:
        return ["PERSIST", key()];
      case 18:
        return ["KEYS", pick(["*", "k*", "n?", "[kn]1", "*,*", "nomatch"])];
      case 19:
        return ["EXISTS", key()];
      case 20:
        return ["PING", ...(int(2) === 0 ? [] : [value()])];
      case 21:
        return ["ECHO", value()];
      case 22:
        // Not DBSIZE: Redis counts an expired key until it reclaims it, kv a
        // key set with a time already past not at all (README: differences).
        return ["GETDEL", key()];
      case 23:
        // Transactions: queued commands, EXEC's array, EXECABORT after a bad one.
        return int(3) === 0
          ? [pick(["WATCH", "WATCH", "UNWATCH"]), key()]
          : [pick(["MULTI", "MULTI", "EXEC", "DISCARD", "EXEC x"])].flatMap((word) =>
            word.split(" ")
          );
      case 24: {
        // Not EXPIRETIME/PEXPIRETIME: a relative expiry's absolute time
        // differs by the milliseconds between the two servers' copies.
        const form = int(4);
        if (form === 0) return ["SETEX", key(), ttl(), value()];
        if (form === 1) return ["PSETEX", key(), pttl(), value()];
        if (form === 2) return ["GETSET", key(), value()];
        return ["GETEX", key(), ...pick([[], ["PERSIST"], expiry(), ["PERSIST", "EX", "10"]])];
      }
      case 25: {
        // Later additions: float increments, renames, ranges.
        const form = int(6);
        if (form === 0) {
          return ["INCRBYFLOAT", key(), pick(["0.1", "-1.5", "1e3", "3.0e-2", "0x10", "x", "inf"])];
        }
        if (form === 1) return ["MSETNX", key(), value(), key(), value()];
        if (form === 2) return [pick(["RENAME", "RENAMENX"]), key(), key()];
        if (form === 3) return [pick(["GETRANGE", "SUBSTR"]), key(), number(), number()];
        if (form === 4) return ["SETRANGE", key(), String(int(20)), value()];
        return ["TOUCH", key(), key()];
      }
      default:
        return [pick(["FOO", "get", "SET", "EXPIRE", "ttl"])]; // unknown, or wrong arity
    }
  })();
  // Byte strings: "\x00\x01" must stay two bytes, not be UTF-8 encoded.
  return words.map((word) => word === "\x00\x01" ? new Uint8Array([0, 1]) : encoder.encode(word));
}

/** Sends the same commands to kv and to Redis and returns every reply that differs. */
async function differences(kvPort: number, redisPort: number, resp: 2 | 3): Promise<string[]> {
  const kv = await RespConn.open(kvPort);
  const redis = await RespConn.open(redisPort);
  const found: string[] = [];
  try {
    for (const conn of [kv, redis]) {
      await conn.call([encoder.encode("FLUSHALL")]);
      if (resp === 3) await conn.call([encoder.encode("HELLO"), encoder.encode("3")]);
    }
    const next = random(SEED + resp);
    const ttls: Ttls = { seconds: 1001, milliseconds: 50_001_000 };
    let inMulti = false;
    for (let i = 0; i < COMMANDS_PER_PROTOCOL; i++) {
      const words = randomCommand(next, ttls);
      const name = new TextDecoder().decode(words[0]).toUpperCase();
      // KEYS lists in hash order, compared sorted; inside EXEC's array it could not be.
      if (inMulti && name === "KEYS") continue;
      if (name === "MULTI") inMulti = true;
      if (name === "EXEC" || name === "DISCARD") inMulti = false;
      let [ours, theirs] = [await kv.call(words), await redis.call(words)];
      const show = (bytes: Uint8Array) => JSON.stringify(new TextDecoder("latin1").decode(bytes));
      let a = show(ours);
      let b = show(theirs);
      if (name === "KEYS") {
        a = JSON.stringify(sortedArray(ours));
        b = JSON.stringify(sortedArray(theirs));
      }
      if (a !== b) {
        found.push(
          `#${i} ${
            words.map((w) => JSON.stringify(new TextDecoder().decode(w))).join(" ")
          }: kv ${a}, redis ${b}`,
        );
      }
      [ours, theirs] = [new Uint8Array(), new Uint8Array()];
    }
  } finally {
    kv.close();
    redis.close();
  }
  return found;
}

Deno.test("kv answers random commands as Redis 7 does, byte for byte, in RESP2 and RESP3", async (t) => {
  const redis = await startRedis();
  try {
    await using server = startTestServer();
    for (const resp of [2, 3] as const) {
      await t.step(`RESP${resp}: ${COMMANDS_PER_PROTOCOL} commands`, async () => {
        const found = await differences(server.port, redis.port, resp);
        assertEquals(found.slice(0, 20), [], `${found.length} replies differ`);
      });
    }
  } finally {
    await redis.stop();
  }
});

/** Commands at the edges of Redis's parsing (words split at `|`), on an empty database. */
const EDGE_COMMANDS = [
  ...["00", "+1", "-1", "-0", "", "18446744073709551615", "18446744073709551616", " 1", "1 ", "+"]
    .map((cursor) => `SCAN|${cursor}`),
  ...["CLIENT|ID|x", "client|Id|x", "CLIENT|SETNAME", "CLIENT|GETNAME|x", "CLIENT|INFO|x"],
  ...["CONFIG", "CONFIG|GET", "COMMAND|COUNT|x", "SELECT|2147483647", "SELECT|2147483648"],
  ...["SELECT|-2147483649", "SELECT|99999999999999999999", "CLIENT|NOPE", "SCAN|0x1"],
  ...["COMMAND|INFO|\u017fet", "COMMAND|DOCS|\u017fet", "HELLO|2|SETNAME|a b|FOO"],
].map((command) => command.split("|").map((word) => encoder.encode(word)));

/** Bytes from 0x80 in KEYS ranges: Redis compares them as signed chars (one match each, so order cannot differ). */
const bytes = (...words: (string | number[])[]) =>
  words.map((word) => typeof word === "string" ? encoder.encode(word) : Uint8Array.from(word));
const GLOB_COMMANDS = [
  bytes("SET", [0x80], "1"),
  bytes("SET", "a", "1"),
  bytes("KEYS", [0x5b, 0x7f, 0x2d, 0x81, 0x5d]), // [\x7f-\x81]: a, not \x80
  bytes("KEYS", [0x5b, 0x01, 0x2d, 0xff, 0x5d]), // [\x01-\xff]: neither
  bytes("KEYS", [0x5b, 0x80, 0x2d, 0x90, 0x5d]), // [\x80-\x90]: \x80
  bytes("DEL", [0x80], "a"),
];

/**
 * Raw exchanges, each on a new connection, read until the server closes:
 * broken lengths (the server closes), and with a password, requests before
 * AUTH (a QUIT ends those the server does not refuse).
 */
const QUIT = "*1\r\n$4\r\nQUIT\r\n";
const EDGE_FRAMES = ["*-0\r\n", "*1\r\n$-0\r\n", "*01\r\n", "*1\r\n$+4\r\n", "*-1\r\n" + QUIT];
const EDGE_FRAMES_BEFORE_AUTH = [
  "*11\r\n",
  "*1\r\n$16385\r\n",
  "*2147483648\r\n",
  `*10\r\n$4\r\nMGET\r\n${"$1\r\nk\r\n".repeat(9)}${QUIT}`,
  `*2\r\n$4\r\nECHO\r\n$16384\r\n${"x".repeat(16384)}\r\n${QUIT}`,
  // HELLO takes its options in order: a bad name before AUTH, and AUTH before a bad option.
  `*7\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$7\r\nSETNAME\r\n$3\r\na b\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n` +
  `$13\r\nedge-password\r\n*1\r\n$6\r\nDBSIZE\r\n${QUIT}`,
  `*6\r\n$5\r\nHELLO\r\n$1\r\n2\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$13\r\nedge-password\r\n` +
  `$3\r\nFOO\r\n*1\r\n$6\r\nDBSIZE\r\n${QUIT}`,
];

async function exchange(port: number, bytes: string): Promise<string> {
  await using conn = await RawConn.connect(port);
  await conn.send(bytes);
  return await conn.readToEnd();
}

Deno.test("kv answers edge cases of parsing as Redis 7 does, byte for byte", async (t) => {
  const password = "edge-password";
  const redis = await startRedis();
  const locked = await startRedis(["--requirepass", password]);
  try {
    await using server = startTestServer();
    await using guarded = startTestServer({ password });
    await t.step("commands", async () => {
      const kv = await RespConn.open(server.port);
      const theirs = await RespConn.open(redis.port);
      try {
        for (const words of [...EDGE_COMMANDS, ...GLOB_COMMANDS]) {
          const show = (reply: Uint8Array) => JSON.stringify(String.fromCharCode(...reply));
          const label = words.map(show).join(" ");
          assertEquals(show(await kv.call(words)), show(await theirs.call(words)), label);
        }
      } finally {
        kv.close();
        theirs.close();
      }
    });
    for (
      const [name, ours, theirs, frames] of [
        ["frames", server.port, redis.port, EDGE_FRAMES],
        ["frames before AUTH", guarded.port, locked.port, EDGE_FRAMES_BEFORE_AUTH],
      ] as const
    ) {
      await t.step(name, async () => {
        for (const frame of frames) {
          const label = JSON.stringify(frame.slice(0, 40));
          assertEquals(await exchange(ours, frame), await exchange(theirs, frame), label);
        }
      });
    }
  } finally {
    await redis.stop();
    await locked.stop();
  }
});

async function run(command: string, args: string[], stdin?: string) {
  const child = new Deno.Command(command, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

Deno.test("redis-cli and redis-benchmark work against kv without an error", async (t) => {
  await using server = startTestServer();
  const port = String(server.port);
  await t.step("redis-cli: commands, and what it asks on its own at connect time", async () => {
    const cli = await run(
      "redis-cli",
      ["-p", port],
      "PING\nSET greeting hello\nGET greeting\nTTL greeting\nDBSIZE\n",
    );
    assertEquals(cli.stderr, "");
    assertEquals(cli.stdout, "PONG\nOK\nhello\n-1\n1\n");
    const info = await run("redis-cli", ["-p", port, "INFO", "server"]);
    assertStringIncludes(info.stdout, "redis_version:");
    const resp3 = await run("redis-cli", ["-3", "-p", port, "GET", "nothing"]);
    assertEquals([resp3.code, resp3.stdout, resp3.stderr], [0, "\n", ""]);
  });
  await t.step("redis-benchmark: SET and GET, pipelined, every request answered", async () => {
    const bench = await run("redis-benchmark", [
      "-p",
      port,
      "-t",
      "set,get",
      "-n",
      "20000",
      "-P",
      "16",
      "-c",
      "10",
      "-q",
    ]);
    assertEquals(bench.code, 0, bench.stderr);
    assert(!/error/i.test(bench.stdout + bench.stderr), bench.stdout + bench.stderr);
    assertStringIncludes(bench.stdout, "SET: ");
    assertStringIncludes(bench.stdout, "GET: ");
  });
});
