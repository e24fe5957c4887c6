/**
 * Redis's protocol over a raw socket, for the tests that speak it to a
 * server on port 0: {@linkcode resp} encodes a command as RESP text,
 * {@linkcode respBytes} as bytes (its words may hold any byte), and
 * {@linkcode talk} sends commands and reads back the reply lines.
 *
 * @module
 */

import type { RawConn } from "./sockets.ts";

const encoder = new TextEncoder();

/** A command as a RESP array of bulk strings (lengths in UTF-8 bytes). */
export function resp(...words: string[]): string {
  return `*${words.length}\r\n${
    words.map((w) => `$${encoder.encode(w).length}\r\n${w}\r\n`).join("")
  }`;
}

/** A command as a RESP array of bulk strings, as bytes: a word may be any bytes. */
export function respBytes(...words: (string | Uint8Array)[]): Uint8Array {
  const parts: number[] = [...encoder.encode(`*${words.length}\r\n`)];
  for (const word of words) {
    const bytes = typeof word === "string" ? encoder.encode(word) : word;
    parts.push(...encoder.encode(`$${bytes.length}\r\n`), ...bytes, 13, 10);
  }
  return Uint8Array.from(parts);
}

/** Sends RESP commands on a raw connection and reads `lines` reply lines. */
export async function talk(conn: RawConn, words: string[][], lines: number): Promise<string[]> {
  await conn.send(words.map((w) => resp(...w)).join(""));
  return (await conn.readLines(lines)).map((line) => line.replace(/\r$/, ""));
}
