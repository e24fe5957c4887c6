/**
 * INCRBYFLOAT over a real socket: answers from its double path and its
 * BigInt path in turn, each as Redis 7 gave them, through the one buffer
 * the answers share.
 */

import { assertEquals } from "@std/assert";
import { RawConn, respBytes, startTestServer } from "../../testing/mod.ts";

/** A bulk string reply. */
function bulk(text: string): string {
  return `$${text.length}\r\n${text}\r\n`;
}

Deno.test("INCRBYFLOAT answers as Redis from either path, a long answer between short ones", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  const digitsOf1e400 = "10000000000000000000281880683947586514586453433629";
  const cases: [(string | Uint8Array)[], string][] = [
    [["INCRBYFLOAT", "f", "1.5"], bulk("1.5")], // a missing key, in doubles
    [["INCRBYFLOAT", "f", "1.5"], bulk("3")],
    [["INCRBYFLOAT", "f", "0.1"], bulk("3.1")], // 0.1 is no double: BigInt
    [["SET", "g", "1e400"], "+OK\r\n"],
    [["INCRBYFLOAT", "g", "0"], `$401\r\n${digitsOf1e400}`], // its first line, then the rest
    [["INCRBYFLOAT", "f", "1"], bulk("4.1")],
    [["GET", "f"], bulk("4.1")],
    [["SET", "h", "2"], "+OK\r\n"],
    [["INCRBYFLOAT", "h", "0.000003814697265625"], bulk("2.00000381469726562")], // 2^-18: rounded
    [["INCRBYFLOAT", "h", "-2"], bulk("0.00000381469726562")],
    [["SET", "n", "-0"], "+OK\r\n"],
    [["INCRBYFLOAT", "n", "-0"], bulk("0")],
    [["INCRBYFLOAT", "n", "9007199254740993"], bulk("9007199254740993")], // 2^53 + 1: no double
    [["INCRBYFLOAT", "n", "0.5"], bulk("9007199254740993.5")],
    [["SET", "x", Uint8Array.of(0x31, 0x2e, 0x35, 0xff)], "+OK\r\n"], // 1.5 and a byte no float has
    [["INCRBYFLOAT", "x", "1"], "-ERR value is not a valid float\r\n"],
    [["INCRBYFLOAT", "f", "1e99999"], "-ERR value is not a valid float\r\n"],
    [["INCRBYFLOAT", "f", "inf"], "-ERR increment would produce NaN or Infinity\r\n"],
  ];
  for (const [words, expected] of cases) {
    await conn.send(respBytes(...words));
    if (words[0] === "INCRBYFLOAT" && words[1] === "g") {
      const [header, digits] = await conn.readLines(2);
      assertEquals(`${header}\n${digits!.slice(0, digitsOf1e400.length)}`, expected);
      assertEquals(digits!.length, 402); // 401 digits and the \r
      continue;
    }
    const lines = await conn.readLines(expected.split("\n").length - 1);
    assertEquals(lines.map((line) => `${line}\n`).join(""), expected, JSON.stringify(words));
  }
});
