/**
 * The client's side of the line protocol: encoding a request from the
 * command table, knowing how the server will answer a line, and reading a
 * LIST line back into its pair. It runs the server's own parser, so the two
 * ends cannot drift apart.
 *
 * @module
 */

import type { Field, LineCommand } from "../../command/command.ts";
import type { Failure } from "../../command/reply.ts";
import { Request } from "../../command/request.ts";
import { LINE_TABLE } from "../../command/table.ts";
import { parseLine } from "./parse.ts";
import { quote } from "./reply.ts";

const encoder = new TextEncoder();

/** A request line parsed into strings: a command with its arguments, or a failure. */
export type ParsedRequest =
  | { readonly command: LineCommand; readonly args: readonly string[] }
  | { readonly failure: Failure };

/**
 * Parses one request line given as text (without its `\n`), as the server
 * would. Returns `null` for a blank line, which gets no answer.
 */
export function parseRequest(line: string): ParsedRequest | null {
  const bytes = encoder.encode(line);
  const request = scratch;
  if (!parseLine(bytes, 0, bytes.length, request)) return null;
  if (request.command === undefined) return { failure: request.failure! };
  const args: string[] = [];
  for (let i = 0; i < request.count; i++) args.push(request.text(i));
  return { command: request.command as LineCommand, args }; // parseLine() finds line commands
}

// parseRequest() is synchronous, so one request object serves every call.
const scratch = new Request();

/** What a client must read after sending a line. */
export type AnswerShape = "none" | "line" | "list";

/**
 * How the server will answer `line`: nothing for a blank line, lines up to an
 * empty one for LIST, one line for everything else (errors included).
 */
export function answerShape(line: string): AnswerShape {
  const request = parseRequest(line);
  if (request === null) return "none";
  return "command" in request ? request.command.answer : "line";
}

/**
 * Encodes a request to the command named `name` (any case), `\n` included.
 * Throws `RangeError` for an unknown command, a wrong number of arguments,
 * or an argument the protocol cannot carry as given: a comma in a field
 * that is not the last, a newline anywhere, an empty key, or spaces or tabs
 * at either end (which the server would trim away).
 */
export function encodeRequest(name: string, ...args: string[]): string {
  const command = LINE_TABLE.byName(name);
  if (command === undefined) throw new RangeError(`Cannot send unknown command ${quote(name)}`);
  if (args.length !== command.fields.length) {
    throw new RangeError(
      `Cannot send ${command.name} with ${args.length} argument(s): expected ${command.fields.length}`,
    );
  }
  command.fields.forEach((field, i) => checkField(field, args[i]!));
  return [command.name, ...args].join(", ") + "\n";
}

function checkField(field: Field, text: string): void {
  if (field.nonEmpty && text === "") throw new RangeError(`Cannot send an empty ${field.name}`);
  if (field.rest ? /[\r\n]/.test(text) : /[,\r\n]/.test(text)) {
    throw new RangeError(
      `Cannot send ${field.name} ${quote(text)}: it may not hold ${
        field.rest ? "a line break (\\n or \\r)" : "a comma or a line break (\\n or \\r)"
      }`,
    );
  }
  if (!text.isWellFormed()) {
    // A lone surrogate would go out as U+FFFD: stored, but not what was given.
    throw new RangeError(
      `Cannot send ${field.name} ${
        quote(text)
      }: it holds a lone UTF-16 surrogate, which UTF-8 cannot carry`,
    );
  }
  if (TRIM_REGEXP.test(text)) {
    throw new RangeError(
      `Cannot send ${field.name} ${quote(text)}: the server trims spaces and tabs at either end`,
    );
  }
}

const TRIM_REGEXP = /^[ \t]|[ \t]$/;

/**
 * Parses one line of a LIST answer back into its pair. The key holds no comma,
 * so the first `, ` splits it from the value (which may hold commas).
 */
export function parseListLine(line: string): [string, string] {
  const at = line.indexOf(", ");
  if (at === -1) throw new SyntaxError(`Cannot parse LIST line ${quote(line)}`);
  return [line.slice(0, at), line.slice(at + 2)];
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A request line as text, or `undefined` if its bytes are not UTF-8. */
export function lineText(line: string | Uint8Array): string | undefined {
  if (typeof line === "string") return line;
  try {
    return strictDecoder.decode(line);
  } catch {
    return undefined;
  }
}

/** A request line's bytes, with its `\n`. */
export function lineBytes(line: string | Uint8Array): Uint8Array {
  if (typeof line === "string") return encoder.encode(`${line}\n`);
  const out = new Uint8Array(line.length + 1);
  out.set(line);
  out[line.length] = 0x0a;
  return out;
}
