/**
 * The kv wire protocol (PROTOCOL.md), as pure functions: parsing a request
 * line, the wording of every answer, and encoding a request on the client
 * side. Nothing here touches a socket, a timer or the store, so both ends of
 * the connection share one definition and cannot drift apart.
 *
 * @module
 */

import type { Store } from "./store.ts";

/** A parsed request line. `invalid` is a bad request: one `Error:` answer. */
export type Request =
  | { kind: "put"; key: string; value: string }
  | { kind: "get" | "delete"; key: string }
  | { kind: "list" | "ping" | "quit" }
  | { kind: "invalid"; message: string };

/** The kinds of valid request, in the order the error message lists them. */
export type Command = Exclude<Request["kind"], "invalid">;

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

/** The right form of each request, quoted in `Error: usage:` answers. */
export const USAGE: Readonly<Record<Command, string>> = {
  put: "PUT, key, value",
  get: "GET, key",
  delete: "DELETE, key",
  list: "LIST",
  ping: "PING",
  quit: "QUIT",
};

/** The error text (after `Error: `) of each bad request that is not a usage error. */
export const ERRORS = {
  emptyKey: "key must not be empty",
  invalidUtf8: "request is not valid UTF-8",
  tooManyConnections: "too many connections",
  lineTooLong: (limitBytes: number) => `line too long (limit ${limitBytes} bytes)`,
  unknownCommand: (word: string) =>
    `unknown command ${quote(word)} (expected PUT, GET, DELETE, LIST, PING or QUIT)`,
} as const;

// How much of an unknown command word is echoed back: a client may send a
// megabyte with no comma, and the answer must stay one short line.
const MAX_ECHO_CHARS = 40;

const TAB = 0x09;
const COMMA = 0x2c;
const SPACE = 0x20;

/**
 * Parses one request line (without its `\n`; a trailing `\r` is already
 * dropped by the line reader). Returns `null` for a blank line, which gets no
 * answer.
 *
 * Fields are split on commas and trimmed of spaces and tabs only. The command
 * word is folded by ASCII case only, so `lıst` stays unknown. PUT's value is
 * everything after the second comma, commas included.
 */
export function parseRequest(line: string): Request | null {
  return parseRequestAt(line, 0, line.length);
}

/**
 * {@linkcode parseRequest} of the line `text.slice(start, end)`, read in
 * place. The server decodes a whole chunk of lines into one string and parses
 * each where it lies, so the only strings made per request are its key and
 * value.
 */
export function parseRequestAt(text: string, start: number, end: number): Request | null {
  const comma1 = indexOfComma(text, start, end);
  const wordEnd = comma1 === -1 ? end : comma1;
  const wordStart = skipBlanks(text, start, wordEnd);
  const wordStop = skipBlanksBack(text, wordStart, wordEnd);
  if (comma1 === -1 && wordStart === wordStop) return null;
  const command = commandAt(text, wordStart, wordStop);
  if (command === undefined) {
    return invalid(ERRORS.unknownCommand(text.slice(wordStart, wordStop)));
  }
  if (command === "list" || command === "ping" || command === "quit") {
    return comma1 === -1 ? { kind: command } : invalid(usage(command));
  }
  if (comma1 === -1) return invalid(usage(command));
  const comma2 = indexOfComma(text, comma1 + 1, end);
  const keyEnd = comma2 === -1 ? end : comma2;
  const keyStart = skipBlanks(text, comma1 + 1, keyEnd);
  const keyStop = skipBlanksBack(text, keyStart, keyEnd);
  if (command === "put") {
    if (comma2 === -1) return invalid(usage(command));
    if (keyStart === keyStop) return invalid(ERRORS.emptyKey);
    const valueStart = skipBlanks(text, comma2 + 1, end);
    const valueStop = skipBlanksBack(text, valueStart, end);
    return {
      kind: "put",
      key: text.slice(keyStart, keyStop),
      value: text.slice(valueStart, valueStop),
    };
  }
  if (comma2 !== -1) return invalid(usage(command));
  if (keyStart === keyStop) return invalid(ERRORS.emptyKey);
  return { kind: command, key: text.slice(keyStart, keyStop) };
}

// A bounded scan: `indexOf` would search past `end` into the lines after
// it, which makes a chunk of comma-less lines quadratic.
function indexOfComma(text: string, from: number, end: number): number {
  for (let i = from; i < end; i++) if (text.charCodeAt(i) === COMMA) return i;
  return -1;
}

function skipBlanks(text: string, from: number, end: number): number {
  while (from < end && isBlank(text.charCodeAt(from))) from++;
  return from;
}

function skipBlanksBack(text: string, start: number, end: number): number {
  while (end > start && isBlank(text.charCodeAt(end - 1))) end--;
  return end;
}

/**
 * Recognises the command word `text.slice(start, end)` by ASCII case-folding,
 * without making a string of it. (`toUpperCase()` would also fold `ı` to `I`,
 * which the protocol forbids.)
 */
function commandAt(text: string, start: number, end: number): Command | undefined {
  switch (end - start) {
    case 3:
      if (equalsFolded(text, start, "put")) return "put";
      if (equalsFolded(text, start, "get")) return "get";
      return undefined;
    case 4:
      if (equalsFolded(text, start, "list")) return "list";
      if (equalsFolded(text, start, "ping")) return "ping";
      if (equalsFolded(text, start, "quit")) return "quit";
      return undefined;
    case 6:
      return equalsFolded(text, start, "delete") ? "delete" : undefined;
    default:
      return undefined;
  }
}

/** Compares text at `start` with a lowercase ASCII word, folding only A-Z to a-z. */
function equalsFolded(text: string, start: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    // `| 0x20` maps A-Z onto a-z; for any other character the result can
    // equal a lowercase letter only if the character already was that letter.
    if ((text.charCodeAt(start + i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Trims spaces and tabs, and nothing else, from both ends. */
export function trim(text: string): string {
  const start = skipBlanks(text, 0, text.length);
  const end = skipBlanksBack(text, start, text.length);
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function isBlank(code: number): boolean {
  return code === SPACE || code === TAB;
}

function invalid(message: string): Request {
  return { kind: "invalid", message };
}

function usage(command: Command): string {
  return `usage: ${USAGE[command]}`;
}

/** Quotes text for an error line: JSON escapes keep it on one line. */
function quote(text: string): string {
  const chars = [...text];
  return chars.length <= MAX_ECHO_CHARS
    ? JSON.stringify(text)
    : `${JSON.stringify(chars.slice(0, MAX_ECHO_CHARS).join(""))}...`;
}

/** Formats one `Error: ` answer line, `\n` included. */
export function formatError(message: string): string {
  return `${ERROR_PREFIX}${message}\n`;
}

const SUCCESS_LINE = `${SUCCESS}\n`;
const NOT_EXIST_LINE = `${NOT_EXIST}\n`;
const PONG_LINE = `${PONG}\n`;
const BYE_LINE = `${BYE}\n`;

/**
 * Applies a request to the store and returns the whole answer, `\n`
 * included. This is the server's one step between a parsed line and the
 * bytes it writes back.
 */
export function execute(request: Request, store: Store): string {
  switch (request.kind) {
    case "put":
      store.put(request.key, request.value);
      return SUCCESS_LINE;
    case "get": {
      const value = store.get(request.key);
      return value === undefined ? NOT_EXIST_LINE : `${value}\n`;
    }
    case "delete":
      return store.delete(request.key) ? SUCCESS_LINE : NOT_EXIST_LINE;
    case "list":
      return formatList(store.entries());
    case "ping":
      return PONG_LINE;
    case "quit":
      return BYE_LINE;
    case "invalid":
      return formatError(request.message);
  }
}

/**
 * Formats LIST's answer, `\n` included: a `key, value` line per pair (or
 * `Not exist!` for an empty store), then the empty line that ends it.
 */
export function formatList(entries: Iterable<[string, string]>): string {
  let out = "";
  for (const [key, value] of entries) out += `${key}, ${value}\n`;
  return (out === "" ? `${NOT_EXIST}\n` : out) + "\n";
}

/**
 * Parses one line of a LIST answer back into its pair. The key holds no comma,
 * so the first `, ` splits it from the value (which may hold commas).
 */
export function parseListLine(line: string): [string, string] {
  const at = line.indexOf(", ");
  if (at === -1) throw new SyntaxError(`Cannot parse LIST line ${quote(line)}`);
  return [line.slice(0, at), line.slice(at + 2)];
}

/** What a client must read after sending a request. */
export type AnswerShape = "none" | "line" | "list";

/**
 * How the server will answer `line`: nothing for a blank line, lines up to an
 * empty one for LIST, one line for everything else (errors included).
 */
export function answerShape(line: string): AnswerShape {
  const request = parseRequest(line);
  if (request === null) return "none";
  return request.kind === "list" ? "list" : "line";
}

/**
 * Encodes a request for the wire, `\n` included. Throws `RangeError` for a
 * key or value the protocol cannot carry (a comma or newline in the key, a
 * newline in the value, an empty key, or spaces or tabs at either end, which
 * the server would trim away).
 */
export function encodeRequest(
  request: Exclude<Request, { kind: "invalid" }>,
): string {
  switch (request.kind) {
    case "put":
      checkKey(request.key);
      checkValue(request.value);
      return `PUT, ${request.key}, ${request.value}\n`;
    case "get":
    case "delete":
      checkKey(request.key);
      return `${request.kind.toUpperCase()}, ${request.key}\n`;
    default:
      return `${request.kind.toUpperCase()}\n`;
  }
}

function checkKey(key: string): void {
  if (key === "") throw new RangeError("Cannot send an empty key");
  if (/[,\r\n]/.test(key)) {
    throw new RangeError(
      `Cannot send key ${quote(key)}: a key holds no comma or newline`,
    );
  }
  checkTrimmed("key", key);
}

function checkValue(value: string): void {
  if (/[\r\n]/.test(value)) {
    throw new RangeError(
      `Cannot send value ${quote(value)}: a value holds no newline`,
    );
  }
  checkTrimmed("value", value);
}

function checkTrimmed(what: string, text: string): void {
  if (trim(text) !== text) {
    throw new RangeError(
      `Cannot send ${what} ${quote(text)}: the server trims spaces and tabs at either end`,
    );
  }
}
