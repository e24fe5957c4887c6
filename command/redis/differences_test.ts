/**
 * Corners where kv answered otherwise than Redis 7.0, found by sending the
 * same bytes to both and comparing the replies: each case is a command and
 * the exact bytes Redis answers, sent to kv over a real socket on port 0.
 */

import { assertEquals } from "@std/assert";
import { ManualClock } from "../../store/clock.ts";
import { MemoryStore } from "../../store/memory.ts";
import { RawConn, respBytes, startTestServer } from "../../testing/mod.ts";

/** Sends each command on one connection and checks its reply, byte for byte. */
async function converse(port: number, cases: [string[], string][]): Promise<void> {
  await using conn = await RawConn.connect(port);
  for (const [words, expected] of cases) {
    await conn.send(respBytes(...words));
    // A reply is read as the lines it should have: fewer would time out, and
    // what comes instead shows in the comparison.
    const lines = await conn.readLines(expected.split("\n").length - 1);
    assertEquals(lines.map((line) => `${line}\n`).join(""), expected, JSON.stringify(words));
  }
}

Deno.test("an option echoed in an error stops at its first NUL byte, as Redis's %s prints it", async () => {
  await using server = startTestServer();
  await converse(server.port, [
    [["SET", "k", "v"], "+OK\r\n"],
    [["EXPIRE", "k", "100", "x\0y"], "-ERR Unsupported option x\r\n"],
    [["PEXPIREAT", "k", "1", "NX", "\0"], "-ERR Unsupported option \r\n"],
    [["HELLO", "2", "FO\0O"], "-ERR Syntax error in HELLO option 'FO'\r\n"],
    [["CLIENT", "NO\0PE"], "-ERR unknown subcommand 'NO'. Try CLIENT HELP.\r\n"],
    // Without a NUL the whole word shows, and a line break as a space.
    [["EXPIRE", "k", "100", "a\r\nb"], "-ERR Unsupported option a  b\r\n"],
  ]);
});

Deno.test("line breaks at the end of an option echoed in an error are dropped, as Redis trims a formatted error's ends", async () => {
  await using server = startTestServer();
  await converse(server.port, [
    [["SET", "k", "v"], "+OK\r\n"],
    [["EXPIRE", "k", "100", "x\r\n"], "-ERR Unsupported option x\r\n"],
    [["EXPIRE", "k", "100", "x\n\r\n\r"], "-ERR Unsupported option x\r\n"],
    [["PEXPIRE", "k", "100000", "NX", "a\r"], "-ERR Unsupported option a\r\n"],
    [["EXPIRE", "k", "100", "\r\n"], "-ERR Unsupported option \r\n"],
    // Within the word they are spaces; after a NUL they are not printed at all.
    [["EXPIRE", "k", "100", "x\r\ny\r\n"], "-ERR Unsupported option x  y\r\n"],
    [["EXPIRE", "k", "100", "x\r\n\0y"], "-ERR Unsupported option x\r\n"],
    // A space after them keeps them, as spaces.
    [["EXPIRE", "k", "100", "x\r\n "], "-ERR Unsupported option x   \r\n"],
  ]);
});

Deno.test("an unknown command's name and arguments echoed in its error stop at their first NUL byte, as Redis's %.*s prints them", async () => {
  await using server = startTestServer();
  const unknown = (name: string, args: string) =>
    `-ERR unknown command '${name}', with args beginning with: ${args}\r\n`;
  await converse(server.port, [
    [["FO\0O", "a\0b", "c"], unknown("FO", "'a' 'c' ")],
    [["FOO", "\0b", "c"], unknown("FOO", "'' 'c' ")],
    // The NUL ends an argument within the 128 bytes, and what it cut is not counted.
    [
      ["X".repeat(130) + "\0", "a".repeat(120) + "\0z", "b".repeat(20)],
      unknown("X".repeat(128), `'${"a".repeat(120)}' 'bbbbb' `),
    ],
  ]);
  // An inline command's quoted `\x00` is a NUL byte too.
  await using conn = await RawConn.connect(server.port);
  await conn.send(respBytes("PING"));
  assertEquals(await conn.readLine(), "+PONG\r");
  await conn.send(`"FO\\x00O" "a\\x00b" c\r\n`);
  assertEquals(await conn.readLine(), `${unknown("FO", "'a' 'c' ").slice(0, -2)}\r`);
});

Deno.test("MSETNX sets every pair or none, as one change", async () => {
  await using server = startTestServer();
  await converse(server.port, [
    [["MSETNX", "a", "1", "b", "2"], ":1\r\n"],
    [["MSETNX", "b", "3", "c", "4"], ":0\r\n"],
    [["MGET", "a", "b", "c"], "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n"],
    [["MSETNX", "c", "1", "c", "2"], ":1\r\n"],
    [["GET", "c"], "$1\r\n2\r\n"],
    [["MSETNX", "d", "1", "e"], "-ERR wrong number of arguments for 'msetnx' command\r\n"],
  ]);
});

Deno.test("RENAME and RENAMENX move a value with its TTL, and WATCH sees both keys change", async () => {
  const clock = new ManualClock(1_700_000_000_000);
  await using server = startTestServer({ store: new MemoryStore({ clock }), clock });
  await converse(server.port, [
    [["RENAME", "a", "b"], "-ERR no such key\r\n"],
    [["RENAMENX", "a", "b"], "-ERR no such key\r\n"],
    [["SET", "a", "1", "PX", "5000"], "+OK\r\n"],
    [["SET", "b", "old", "EX", "100"], "+OK\r\n"],
  ]);
  // One client watches the source, one the destination: the rename changes both.
  await using source = await RawConn.connect(server.port);
  await using destination = await RawConn.connect(server.port);
  for (const [conn, key] of [[source, "a"], [destination, "b"]] as const) {
    await conn.send(respBytes(...["WATCH", key]));
    assertEquals(await conn.readLine(), "+OK\r");
  }
  await converse(server.port, [
    [["RENAME", "a", "b"], "+OK\r\n"],
    [["PTTL", "b"], ":5000\r\n"],
    [["EXISTS", "a"], ":0\r\n"],
    [["RENAME", "b", "b"], "+OK\r\n"],
    [["RENAMENX", "b", "b"], ":0\r\n"],
    [["SET", "c", "2"], "+OK\r\n"],
    [["RENAMENX", "b", "c"], ":0\r\n"],
    [["RENAMENX", "b", "d"], ":1\r\n"],
    [["MGET", "b", "c", "d"], "*3\r\n$-1\r\n$1\r\n2\r\n$1\r\n1\r\n"],
    [["PTTL", "d"], ":5000\r\n"],
  ]);
  for (const conn of [source, destination]) {
    await conn.send(
      Uint8Array.from([
        ...respBytes(...["MULTI"]),
        ...respBytes(...["PING"]),
        ...respBytes(...["EXEC"]),
      ]),
    );
    assertEquals(await conn.readLines(3), ["+OK\r", "+QUEUED\r", "*-1\r"]);
  }
});

Deno.test("GETRANGE, SUBSTR and SETRANGE count as Redis does, negative ends and padding included", async () => {
  await using server = startTestServer({ maxLineBytes: 1024 });
  await converse(server.port, [
    [["GETRANGE", "none", "0", "-1"], "$0\r\n\r\n"],
    [["SET", "s", "Hello World", "EX", "100"], "+OK\r\n"],
    [["GETRANGE", "s", "0", "4"], "$5\r\nHello\r\n"],
    [["GETRANGE", "s", "-5", "-1"], "$5\r\nWorld\r\n"],
    [["GETRANGE", "s", "-1", "-5"], "$0\r\n\r\n"],
    [["GETRANGE", "s", "5", "2"], "$0\r\n\r\n"],
    [["SUBSTR", "s", "-100", "100"], "$11\r\nHello World\r\n"],
    [["GETRANGE", "s", "x", "1"], "-ERR value is not an integer or out of range\r\n"],
    [["SETRANGE", "s", "6", "Redis"], ":11\r\n"],
    [["GET", "s"], "$11\r\nHello Redis\r\n"],
    [["TTL", "s"], ":100\r\n"],
    [["SETRANGE", "p", "3", "x"], ":4\r\n"],
    [["GET", "p"], "$4\r\n\0\0\0x\r\n"],
    [["SETRANGE", "q", "5", ""], ":0\r\n"],
    [["EXISTS", "q"], ":0\r\n"],
    [["SETRANGE", "p", "-1", "x"], "-ERR offset is out of range\r\n"],
    // The longest string is proto-max-bulk-len, which kv's --max-line-bytes sets.
    [["CONFIG", "GET", "proto-max-bulk-len"], "*2\r\n$18\r\nproto-max-bulk-len\r\n$4\r\n1024\r\n"],
    [["SETRANGE", "p", "1023", "x"], ":1024\r\n"],
    [
      ["SETRANGE", "p", "1024", "x"],
      "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
    ],
    // APPEND has the same limit, as in Redis.
    [["APPEND", "p", "y"], "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"],
    [["STRLEN", "p"], ":1024\r\n"],
  ]);
});

Deno.test("TOUCH counts the keys there; TIME tells the server's clock", async () => {
  const clock = new ManualClock(1_700_000_000_123);
  await using server = startTestServer({ store: new MemoryStore({ clock }), clock });
  await converse(server.port, [
    [["SET", "a", "1"], "+OK\r\n"],
    [["TOUCH", "a", "a", "b"], ":2\r\n"],
    [["TIME"], "*2\r\n$10\r\n1700000000\r\n$6\r\n123000\r\n"],
  ]);
});

Deno.test("INCRBYFLOAT answers as Redis, digit for digit, and keeps the TTL", async () => {
  await using server = startTestServer();
  await converse(server.port, [
    [["SET", "f", "0.1", "EX", "100"], "+OK\r\n"],
    [["INCRBYFLOAT", "f", "0.2"], "$3\r\n0.3\r\n"],
    [["INCRBYFLOAT", "f", "-5.0e3"], "$23\r\n-4999.70000000000000018\r\n"],
    [["TTL", "f"], ":100\r\n"],
    [["INCRBYFLOAT", "new", "1e3"], "$4\r\n1000\r\n"],
    [["INCRBYFLOAT", "new", "x"], "-ERR value is not a valid float\r\n"],
    [["INCRBYFLOAT", "new", "inf"], "-ERR increment would produce NaN or Infinity\r\n"],
    [["SET", "s", "abc"], "+OK\r\n"],
    [["INCRBYFLOAT", "s", "1"], "-ERR value is not a valid float\r\n"],
  ]);
});

Deno.test("COMMAND DOCS gives each command's arguments, which redis-cli builds its help and hints from, as Redis 7.0 does", async () => {
  // Without them redis-cli's `help GET` showed `GET` and no `key`, and typing
  // a command showed no hint.
  await using server = startTestServer();
  const field = (name: string, value: string) =>
    `$${name.length}\r\n${name}\r\n$${value.length}\r\n${value}\r\n`;
  const key = `*6\r\n${field("name", "key")}${field("type", "key")}$14\r\nkey_spec_index\r\n:0\r\n`;
  await converse(server.port, [
    [
      ["COMMAND", "DOCS", "get"],
      "*2\r\n$3\r\nget\r\n*10\r\n" + field("summary", "Get the value of a key") +
      field("since", "1.0.0") + field("group", "string") + field("complexity", "O(1)") +
      "$9\r\narguments\r\n*1\r\n" + key,
    ],
    [
      ["COMMAND", "DOCS", "getset"],
      "*2\r\n$6\r\ngetset\r\n*16\r\n" +
      field("summary", "Set the string value of a key and return its old value") +
      field("since", "1.0.0") + field("group", "string") + field("complexity", "O(1)") +
      "$9\r\ndoc_flags\r\n*1\r\n+deprecated\r\n" + field("deprecated_since", "6.2.0") +
      field("replaced_by", "`SET` with the `!GET` argument") + "$9\r\narguments\r\n*2\r\n" + key +
      `*4\r\n${field("name", "value")}${field("type", "string")}`,
    ],
  ]);
});
