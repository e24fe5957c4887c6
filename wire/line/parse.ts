/**
 * Parses one request line of the line protocol into a {@linkcode Request},
 * in place: fields are found as positions in the line's bytes, and the
 * command table says how many there are (PROTOCOL.md, Requests).
 *
 * @module
 */

import type { Field, LineCommand } from "../../command/command.ts";
import type { Failure } from "../../command/reply.ts";
import type { Request } from "../../command/request.ts";
import { type CommandTable, LINE_TABLE } from "../../command/table.ts";
import { MAX_ECHO_CHARS } from "./reply.ts";

const TAB = 0x09;
const COMMA = 0x2c;
const SPACE = 0x20;
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
// One usage failure per command, and one empty-field failure per field, made once.
const usageFailures = new Map<LineCommand, Failure>();
const emptyFailures = new Map<Field, Failure>();

/**
 * Parses the request line `line[start, end)` (valid UTF-8, without its `\n`
 * or `\r\n`) into `into`. Returns `false` for a blank line, which gets no
 * answer.
 *
 * Fields are split on commas and trimmed of spaces and tabs only. The command
 * word is folded by ASCII case only. A field the table marks `rest` (PUT's
 * value) takes everything after its comma, commas included. A wrong number
 * of fields is a usage error, and wins over an empty key (`GET, ,`).
 */
export function parseLine(
  line: Uint8Array,
  start: number,
  end: number,
  into: Request,
  table: CommandTable<LineCommand> = LINE_TABLE,
): boolean {
  into.rawStart = start;
  into.rawEnd = end;
  if (into.bytes !== line) into.bytes = line;
  const comma1 = indexOfComma(line, start, end);
  const wordEnd = comma1 === -1 ? end : comma1;
  const wordStart = skipBlanks(line, start, wordEnd);
  const wordStop = skipBlanksBack(line, wordStart, wordEnd);
  if (comma1 === -1 && wordStart === wordStop) return false;
  const command = table.lookup(line, wordStart, wordStop);
  if (command === undefined) {
    // Decode only what the echo can show: MAX_ECHO_CHARS characters take at
    // most 4 bytes each, and one more character tells the reply to add "...".
    const echoEnd = Math.min(wordStop, wordStart + 4 * (MAX_ECHO_CHARS + 1));
    into.fails({ kind: "unknownCommand", word: decoder.decode(line.subarray(wordStart, echoEnd)) });
    return true;
  }
  const fields = command.fields;
  if (fields.length === 0) {
    if (comma1 === -1) into.runs(command, line);
    else into.fails(usageFailure(command));
    return true;
  }
  if (comma1 === -1) {
    into.fails(usageFailure(command));
    return true;
  }
  into.runs(command, line);
  let from = comma1 + 1;
  let empty: Field | undefined;
  const last = fields.length - 1;
  for (let i = 0; i <= last; i++) {
    const field = fields[i]!;
    let fieldEnd = end;
    if (!field.rest) {
      const comma = indexOfComma(line, from, end);
      if (i === last ? comma !== -1 : comma === -1) {
        into.fails(usageFailure(command));
        return true;
      }
      if (i !== last) fieldEnd = comma;
    }
    const fieldStart = skipBlanks(line, from, fieldEnd);
    const fieldStop = skipBlanksBack(line, fieldStart, fieldEnd);
    if (fieldStart === fieldStop && field.nonEmpty) empty ??= field;
    into.addArg(fieldStart, fieldStop);
    from = fieldEnd + 1;
  }
  // Checked after the count of fields: a usage error wins over an empty key.
  if (empty !== undefined) into.fails(emptyFailure(empty));
  return true;
}

/** The failure of an empty `field` (`key must not be empty`), made once per field. */
function emptyFailure(field: Field): Failure {
  let failure = emptyFailures.get(field);
  if (failure === undefined) {
    failure = { kind: "emptyField", field: field.name };
    emptyFailures.set(field, failure);
  }
  return failure;
}

function usageFailure(command: LineCommand): Failure {
  let failure = usageFailures.get(command);
  if (failure === undefined) {
    failure = { kind: "usage", command };
    usageFailures.set(command, failure);
  }
  return failure;
}

// A bounded scan: `indexOf` would search past `end` into the lines after
// it, which makes a chunk of comma-less lines quadratic.
function indexOfComma(line: Uint8Array, from: number, end: number): number {
  for (let i = from; i < end; i++) if (line[i] === COMMA) return i;
  return -1;
}

function skipBlanks(line: Uint8Array, from: number, end: number): number {
  while (from < end && isBlank(line[from]!)) from++;
  return from;
}

function skipBlanksBack(line: Uint8Array, start: number, end: number): number {
  while (end > start && isBlank(line[end - 1]!)) end--;
  return end;
}

function isBlank(code: number): boolean {
  return code === SPACE || code === TAB;
}
