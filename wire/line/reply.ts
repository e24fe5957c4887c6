/**
 * {@linkcode LineReply}: the line protocol's answers (PROTOCOL.md, Responses),
 * written as bytes into the connection's {@linkcode AnswerBuffer}. It
 * allocates nothing per request: every fixed answer is encoded once.
 *
 * @module
 */

import { type LineCommand, usage } from "../../command/command.ts";
import type { Failure, Reply } from "../../command/reply.ts";
import { LINE_COMMANDS } from "../../command/table.ts";
import { LINE_TEXT } from "../../store/store.ts";
import type { AnswerBuffer } from "../answer_buffer.ts";
import { formatLimit } from "../pending_budget.ts";
import { isUtf8From } from "../utf8.ts";

/** Answer to a successful PUT or DELETE. */
export const SUCCESS = "Success!";
/** Answer to GET or DELETE of a missing key, and to LIST of an empty store. */
export const NOT_EXIST = "Not exist!";
/** Answer to PING. */
export const PONG = "PONG";
/** Answer to QUIT, after which the server closes the connection. */
export const BYE = "Bye!";
/** What every bad request's answer starts with. */
export const ERROR_PREFIX = "Error: ";

/**
 * How many characters of an unknown command word (or other text) an error
 * echoes: a client may send a megabyte with no comma, and the answer must
 * stay one short line.
 */
export const MAX_ECHO_CHARS = 40;
const encoder = new TextEncoder();
const SUCCESS_LINE = encoder.encode(`${SUCCESS}\n`);
const NOT_EXIST_LINE = encoder.encode(`${NOT_EXIST}\n`);
const EMPTY_LIST = encoder.encode(`${NOT_EXIST}\n\n`);
const PONG_LINE = encoder.encode(`${PONG}\n`);
const BYE_LINE = encoder.encode(`${BYE}\n`);
const LIST_SEPARATOR = encoder.encode(", ");
const LF = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;
const NOT_TEXT: Failure = { kind: "notText" };

/**
 * `PUT, GET, DELETE, LIST, PING or QUIT`: the hint of an unknown command,
 * version 1's commands as PROTOCOL.md words it (AUTH is for servers with a
 * password, whose users know it).
 */
const EXPECTED = ((names: string[]) => `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`)(
  LINE_COMMANDS.map((command) => command.name),
);

/** The text after `Error: ` for each failure (PROTOCOL.md, Responses). */
export function failureText(failure: Failure): string {
  switch (failure.kind) {
    case "unknownCommand":
      return `unknown command ${quote(failure.word)} (expected ${EXPECTED})`;
    case "usage":
      // Only a line command's usage reaches the line protocol.
      return `usage: ${usage(failure.command as LineCommand)}`;
    case "emptyField":
      return `${failure.field} must not be empty`;
    case "invalidUtf8":
      return "request is not valid UTF-8";
    case "lineTooLong":
      return `line too long (limit ${failure.limitBytes} bytes)`;
    case "pendingFull":
      return `line not read: unfinished requests of all clients hold ${
        formatLimit(failure.limitBytes)
      } already (--max-pending-bytes); send it again later`;
    case "answerTooLarge":
      return `answer not made: answers being made hold ${
        formatLimit(failure.limitBytes)
      } already (--max-answer-bytes); ask for less at once`;
    case "tooManyConnections":
      return "too many connections";
    case "storeFull":
      return "store is full (delete some keys to make room)";
    case "redis":
    case "protocol":
      return failure.text;
    case "authRequired":
      return "authentication required (send AUTH, password first)";
    case "wrongPassword":
      return "wrong password";
    case "noPassword":
      return "AUTH is not needed: this server has no password";
    case "notText":
      return "value is not one line of UTF-8 text (binary, or it holds \\n or \\r); read it with a Redis client";
    case "notDurable":
      if (failure.closed) {
        return "not saved: the data file is closed (it was closed before the server), so nothing changed";
      }
      return "not saved: the data file could not be written (disk full or I/O error), so nothing changed; try again";
  }
}

/** One `Error: ` line, `\n` included. */
export function errorLine(failure: Failure): string {
  return `${ERROR_PREFIX}${failureText(failure)}\n`;
}

/**
 * The error line that replaces a UDP answer datagram of `bytes` bytes, too
 * large for one datagram (PROTOCOL.md, Datagrams), `\n` included.
 */
export function tooLargeForDatagram(bytes: number): string {
  return `${ERROR_PREFIX}answer too large for a datagram (${bytes} bytes; use TCP)\n`;
}

/** Quotes text for an error line: JSON escapes keep it on one line; long text is cut. */
export function quote(text: string): string {
  const chars = [...text];
  return chars.length <= MAX_ECHO_CHARS
    ? JSON.stringify(text)
    : `${JSON.stringify(chars.slice(0, MAX_ECHO_CHARS).join(""))}...`;
}

/** The line protocol's {@linkcode Reply}: every answer a line ending in `\n`. */
export class LineReply implements Reply {
  readonly #out: AnswerBuffer;

  /** Writes answers into `out`. */
  constructor(out: AnswerBuffer) {
    this.#out = out;
  }

  /** Bytes of answers gathered and not yet written. */
  get bufferedBytes(): number {
    return this.#out.length;
  }

  ok(): void {
    this.#out.addLine(SUCCESS_LINE);
  }

  notFound(): void {
    this.#out.addLine(NOT_EXIST_LINE);
  }

  /** A GET's value, as one line; one the line cannot carry is an error (PROTOCOL.md, Redis clients). */
  addBytes(bytes: Uint8Array, start: number, end: number, flags = 0): void {
    if ((flags & LINE_TEXT) === 0 && !isLineText(bytes, start, end)) return this.error(NOT_TEXT);
    this.#out.addBytes(bytes, start, end);
    this.#out.addByte(LF);
  }

  pong(): void {
    this.#out.addLine(PONG_LINE);
  }

  bye(): void {
    this.#out.addLine(BYE_LINE);
  }

  error(failure: Failure): void {
    this.#out.addText(errorLine(failure));
  }

  pair(
    bytes: Uint8Array,
    keyStart: number,
    keyEnd: number,
    valueStart: number,
    valueEnd: number,
    flags: number,
  ): boolean {
    // A pair a Redis client wrote is listed only if it reads back as one
    // `key, value` line: its key holds no comma, neither holds a newline.
    if (
      (flags & LINE_TEXT) === 0 &&
      !(isListKey(bytes, keyStart, keyEnd) && isLineText(bytes, valueStart, valueEnd))
    ) {
      return false;
    }
    const out = this.#out;
    out.addBytes(bytes, keyStart, keyEnd);
    out.addLine(LIST_SEPARATOR);
    out.addBytes(bytes, valueStart, valueEnd);
    out.addByte(LF);
    return true;
  }

  endList(shown: number): void {
    // PROTOCOL.md: `Not exist!` for no pairs; either way the empty line ends it.
    if (shown === 0) this.#out.addLine(EMPTY_LIST);
    else this.#out.addByte(LF);
  }
}

/** Whether the line protocol can carry `bytes[start, end)` as it is: UTF-8, no `\n` or `\r`. */
export function isLineText(bytes: Uint8Array, start: number, end: number): boolean {
  let ascii = true;
  for (let i = start; i < end; i++) {
    const byte = bytes[i]!;
    if (byte === LF || byte === CR) return false;
    if (byte >= 0x80) ascii = false;
  }
  return ascii || isUtf8From(bytes, start, end);
}

/** Whether a key can head a LIST line: line text, not empty, no comma. */
function isListKey(bytes: Uint8Array, start: number, end: number): boolean {
  if (start === end) return false;
  for (let i = start; i < end; i++) if (bytes[i] === COMMA) return false;
  return isLineText(bytes, start, end);
}
