/**
 * kv against the real Redis (Debian's redis-server 7) at the edges of
 * Redis's parsing: commands whose arguments Redis reads in its own ways
 * (cursors, subcommands, integers, bytes from 0x80 in KEYS ranges) and
 * broken or oversized frames, with and without a password, each answered
 * byte for byte as Redis answers it.
 *
 * Needs more than --allow-net, so `deno test --allow-net` does not pick it
 * up; `.ci/run` runs it (installing redis-server and redis-tools if
 * missing) with:
 *
 *     deno test --allow-net --allow-run=redis-server,redis-cli,redis-benchmark e2e/redis_edges_e2e.ts
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { RawConn, startTestServer } from "../testing/mod.ts";
import { RespConn, startRedis } from "./redis.ts";

const encoder = new TextEncoder();

/** Commands at the edges of Redis's parsing (words split at `|`), on an empty database. */
const EDGE_COMMANDS = [
  ...["00", "+1", "-1", "-0", "", "18446744073709551615", "18446744073709551616", " 1", "1 ", "+"]
    .map((cursor) => `SCAN|${cursor}`),
  ...["CLIENT|ID|x", "client|Id|x", "CLIENT|SETNAME", "CLIENT|GETNAME|x", "CLIENT|INFO|x"],
  ...["CONFIG", "CONFIG|GET", "COMMAND|COUNT|x", "SELECT|2147483647", "SELECT|2147483648"],
  ...["SELECT|-2147483649", "SELECT|99999999999999999999", "CLIENT|NOPE", "SCAN|0x1"],
  ...["COMMAND|INFO|\u017fet", "COMMAND|DOCS|\u017fet", "HELLO|2|SETNAME|a b|FOO"],
  // An option of SETINFO kv does not take: Redis 7.0 has no SETINFO at all, and says so.
  ...["CLIENT|SETINFO|foo|bar", "CLIENT|SETINFO|lib\rname|x"],
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
