/**
 * Redis's protocol over a raw socket, for the tests that speak it to a
 * server on port 0: {@linkcode resp} encodes a command as RESP, and
 * {@linkcode talk} sends commands and reads back the reply lines.
 *
 * @module
 */

import type { RawConn } from "./sockets.ts";

const encoder = new TextEncoder();

/** A command as a RESP array of bulk strings. */
export function resp(...words: string[]): string {
  return `*${words.length}\r\n${
    words.map((w) => `$${encoder.encode(w).length}\r\n${w}\r\n`).join("")
  }`;
}

/** Sends RESP commands on a raw connection and reads `lines` reply lines. */
export async function talk(conn: RawConn, words: string[][], lines: number): Promise<string[]> {
  await conn.send(words.map((w) => resp(...w)).join(""));
  return (await conn.readLines(lines)).map((line) => line.replace(/\r$/, ""));
}
