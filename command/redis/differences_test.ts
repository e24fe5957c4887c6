/**
 * Corners where kv answered otherwise than Redis 7.0, found by sending the
 * same bytes to both and comparing the replies: each case is a command and
 * the exact bytes Redis answers, sent to kv over a real socket on port 0.
 */

import { assertEquals } from "@std/assert";
import { RawConn, startTestServer } from "../../testing/mod.ts";

const encoder = new TextEncoder();

/** A command as a RESP array of bulk strings. */
function resp(words: string[]): Uint8Array {
  const parts: number[] = [...encoder.encode(`*${words.length}\r\n`)];
  for (const word of words) {
    const bytes = encoder.encode(word);
    parts.push(...encoder.encode(`$${bytes.length}\r\n`), ...bytes, 13, 10);
  }
  return Uint8Array.from(parts);
}

/** Sends each command on one connection and checks its reply, byte for byte. */
async function converse(port: number, cases: [string[], string][]): Promise<void> {
  await using conn = await RawConn.connect(port);
  for (const [words, expected] of cases) {
    await conn.send(resp(words));
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
