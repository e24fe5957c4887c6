/**
 * The line protocol's requests as plain objects (`{ kind: "put", key,
 * value }`), so that the parsing and protocol tests' tables read like
 * PROTOCOL.md: adapters from the client's parseRequest() and the server's
 * parseLine().
 *
 * @module
 */

import type { LineCommand } from "../command/command.ts";
import { Request as Frame } from "../command/request.ts";
import { parseRequest as parseStrings } from "../wire/line/encode.ts";
import { parseLine } from "../wire/line/parse.ts";
import { failureText } from "../wire/line/reply.ts";

/** A request as the tables state it. */
export type PlainRequest =
  | { kind: "put"; key: string; value: string }
  | { kind: "get" | "delete"; key: string }
  | { kind: "list" | "ping" | "quit" }
  | { kind: "invalid"; message: string };

/** The client's parse (a command and its arguments as strings, or a failure) as a plain request. */
export function fromStrings(parsed: ReturnType<typeof parseStrings>): PlainRequest | null {
  if (parsed === null) return null;
  if ("failure" in parsed) return { kind: "invalid", message: failureText(parsed.failure) };
  const kind = parsed.command.name.toLowerCase();
  const request: Record<string, string> = { kind };
  parsed.command.fields.forEach((field, i) => request[field.name] = parsed.args[i]!);
  return request as PlainRequest;
}

/** Parses a line given as text, as the client does. */
export function parseRequest(line: string): PlainRequest | null {
  return fromStrings(parseStrings(line));
}

/** parseLine() of `bytes[start, end)`, in place, as the server does. */
export function parseAt(bytes: Uint8Array, start: number, end: number): PlainRequest | null {
  const frame = new Frame();
  if (!parseLine(bytes, start, end, frame)) return null;
  if (frame.command === undefined) {
    return { kind: "invalid", message: failureText(frame.failure!) };
  }
  const args = Array.from({ length: frame.count }, (_, i) => frame.text(i));
  return fromStrings({ command: frame.command as LineCommand, args });
}
