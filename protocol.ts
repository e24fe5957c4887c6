/**
 * The kv wire protocol (PROTOCOL.md), as pure functions: parsing a request
 * line, applying it to a store, the wording of every answer, and encoding a
 * request on the client side. Nothing here touches a socket or a timer, so
 * both ends of the connection share one definition and cannot drift apart.
 *
 * The server's path works on bytes and allocates nothing per request:
 * {@linkcode parseLine} finds a request's fields in place and fills a reused
 * {@linkcode RequestView}, {@linkcode execute} applies it to the store's
 * bytes and adds the answer to an {@linkcode AnswerBuffer}. The string forms
 * ({@linkcode parseRequest}, {@linkcode answer}) wrap that same path for the
 * client, tools and tests.
 *
 * @module
 */

import type { ByteSink, Store } from "./store.ts";

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
  storeFull: "store is full (delete some keys to make room)",
  lineTooLong: (limitBytes: number) => `line too long (limit ${limitBytes} bytes)`,
  unknownCommand: (word: string) =>
    `unknown command ${quote(word)} (expected PUT, GET, DELETE, LIST, PING or QUIT)`,
} as const;

// How much of an unknown command word is echoed back: a client may send a
// megabyte with no comma, and the answer must stay one short line.
const MAX_ECHO_CHARS = 40;

const encoder = new TextEncoder();
// ignoreBOM: a U+FEFF at the start of a key, value or line is data, not a byte-order mark.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const TAB = 0x09;
const COMMA = 0x2c;
const SPACE = 0x20;

/**
 * A parsed request, as positions in the bytes of its line. The server keeps
 * one per connection and refills it for every line, so parsing allocates
 * nothing; `message` is set only for `invalid`.
 */
export class RequestView {
  kind: Request["kind"] = "ping";
  keyStart = 0;
  keyEnd = 0;
  valueStart = 0;
  valueEnd = 0;
  /** For `invalid`: what was wrong, the text after `Error: `. */
  message = "";
}

/**
 * Parses the request line `line[start, end)` (valid UTF-8, without its `\n`;
 * the line reader drops a `\r` before it) into `into`. Returns `false` for a
 * blank line, which gets no answer.
 *
 * Fields are split on commas and trimmed of spaces and tabs only. The command
 * word is folded by ASCII case only, so `lıst` stays unknown. PUT's value is
 * everything after the second comma, commas included.
 */
export function parseLine(
  line: Uint8Array,
  start: number,
  end: number,
  into: RequestView,
): boolean {
  const comma1 = indexOfComma(line, start, end);
  const wordEnd = comma1 === -1 ? end : comma1;
  const wordStart = skipBlanks(line, start, wordEnd);
  const wordStop = skipBlanksBack(line, wordStart, wordEnd);
  if (comma1 === -1 && wordStart === wordStop) return false;
  const command = commandAt(line, wordStart, wordStop);
  if (command === undefined) {
    // Decode only what the echo can show: MAX_ECHO_CHARS characters take at
    // most 4 bytes each, and one more character tells quote() to add "...".
    const echoEnd = Math.min(wordStop, wordStart + 4 * (MAX_ECHO_CHARS + 1));
    return invalid(into, ERRORS.unknownCommand(decoder.decode(line.subarray(wordStart, echoEnd))));
  }
  if (command === "list" || command === "ping" || command === "quit") {
    into.kind = comma1 === -1 ? command : "invalid";
    if (comma1 !== -1) into.message = usage(command);
    return true;
  }
  if (comma1 === -1) return invalid(into, usage(command));
  const comma2 = indexOfComma(line, comma1 + 1, end);
  if (command === "put" ? comma2 === -1 : comma2 !== -1) return invalid(into, usage(command));
  const keyEnd = comma2 === -1 ? end : comma2;
  into.keyStart = skipBlanks(line, comma1 + 1, keyEnd);
  into.keyEnd = skipBlanksBack(line, into.keyStart, keyEnd);
  if (into.keyStart === into.keyEnd) return invalid(into, ERRORS.emptyKey);
  if (command === "put") {
    into.valueStart = skipBlanks(line, comma2 + 1, end);
    into.valueEnd = skipBlanksBack(line, into.valueStart, end);
  }
  into.kind = command;
  return true;
}

/**
 * Parses one request line given as text (without its `\n`). Returns `null`
 * for a blank line. The client uses it to know how the server will answer;
 * it runs the server's own {@linkcode parseLine}.
 */
export function parseRequest(line: string): Request | null {
  const bytes = encoder.encode(line);
  const view = new RequestView();
  return parseLine(bytes, 0, bytes.length, view) ? requestOf(view, bytes) : null;
}

/** The {@linkcode Request} a parsed `view` of `line` stands for, with its key and value decoded. */
export function requestOf(view: RequestView, line: Uint8Array): Request {
  const text = (from: number, to: number) => decoder.decode(line.subarray(from, to));
  switch (view.kind) {
    case "put":
      return {
        kind: "put",
        key: text(view.keyStart, view.keyEnd),
        value: text(view.valueStart, view.valueEnd),
      };
    case "get":
    case "delete":
      return { kind: view.kind, key: text(view.keyStart, view.keyEnd) };
    case "invalid":
      return { kind: "invalid", message: view.message };
    default:
      return { kind: view.kind };
  }
}

function invalid(into: RequestView, message: string): true {
  into.kind = "invalid";
  into.message = message;
  return true;
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

/**
 * Recognises the command word `line[start, end)` by ASCII case-folding,
 * without making a string of it. (`toUpperCase()` would also fold `ı` to `I`,
 * which the protocol forbids.)
 */
function commandAt(line: Uint8Array, start: number, end: number): Command | undefined {
  switch (end - start) {
    case 3:
      if (equalsFolded(line, start, "put")) return "put";
      if (equalsFolded(line, start, "get")) return "get";
      return undefined;
    case 4:
      if (equalsFolded(line, start, "list")) return "list";
      if (equalsFolded(line, start, "ping")) return "ping";
      if (equalsFolded(line, start, "quit")) return "quit";
      return undefined;
    case 6:
      return equalsFolded(line, start, "delete") ? "delete" : undefined;
    default:
      return undefined;
  }
}

/** Compares bytes at `start` with a lowercase ASCII word, folding only A-Z to a-z. */
function equalsFolded(line: Uint8Array, start: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    // `| 0x20` maps A-Z onto a-z; for any other byte the result can equal a
    // lowercase letter only if the byte already was that letter.
    if ((line[start + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Trims spaces and tabs, and nothing else, from both ends. */
function trim(text: string): string {
  return text.replace(TRIM_REGEXP, "");
}

const TRIM_REGEXP = /^[ \t]+|[ \t]+$/g;

function isBlank(code: number): boolean {
  return code === SPACE || code === TAB;
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

const SUCCESS_LINE = encoder.encode(`${SUCCESS}\n`);
const NOT_EXIST_LINE = encoder.encode(`${NOT_EXIST}\n`);
const PONG_LINE = encoder.encode(`${PONG}\n`);
const BYE_LINE = encoder.encode(`${BYE}\n`);
const LIST_SEPARATOR = encoder.encode(", ");
const LF = 0x0a;

/**
 * Applies the request `view` (parsed from `line`) to the store and adds its
 * whole answer, `\n` included, to `out`. This is the server's one step
 * between a parsed line and the bytes it writes back: keys and values go
 * from the request's bytes into the store's, and from the store's into the
 * answer, without becoming strings.
 */
export function execute(
  view: RequestView,
  line: Uint8Array,
  store: Store,
  out: AnswerBuffer,
): void {
  switch (view.kind) {
    case "put":
      try {
        store.putBytes(line, view.keyStart, view.keyEnd, line, view.valueStart, view.valueEnd);
      } catch (error) {
        // The store is full (or memory ran out): the request fails, not the connection.
        if (!(error instanceof RangeError)) throw error;
        return out.addText(formatError(ERRORS.storeFull));
      }
      return out.addLine(SUCCESS_LINE);
    case "get":
      if (store.getBytes(line, view.keyStart, view.keyEnd, out)) return out.addByte(LF);
      return out.addLine(NOT_EXIST_LINE);
    case "delete":
      return out.addLine(
        store.deleteBytes(line, view.keyStart, view.keyEnd) ? SUCCESS_LINE : NOT_EXIST_LINE,
      );
    case "list":
      return addList(store, out);
    case "ping":
      return out.addLine(PONG_LINE);
    case "quit":
      return out.addLine(BYE_LINE);
    case "invalid":
      return out.addText(formatError(view.message));
  }
}

/**
 * LIST's answer: a `key, value` line per pair (or `Not exist!` for an empty
 * store), then the empty line that ends it.
 */
function addList(store: Store, out: AnswerBuffer): void {
  if (store.size === 0) out.addLine(NOT_EXIST_LINE);
  store.forEachPair((bytes, keyStart, keyEnd, valueStart, valueEnd) => {
    out.addBytes(bytes, keyStart, keyEnd);
    out.addLine(LIST_SEPARATOR);
    out.addBytes(bytes, valueStart, valueEnd);
    out.addByte(LF);
  });
  out.addByte(LF);
}

/**
 * The whole answer to one request line given as text, `\n` included (`""`
 * for a blank line): the server's path, for tools and tests.
 */
export function answer(line: string, store: Store): string {
  const bytes = encoder.encode(line);
  const view = new RequestView();
  if (!parseLine(bytes, 0, bytes.length, view)) return "";
  const out = new AnswerBuffer();
  execute(view, bytes, store, out);
  return decoder.decode(out.bytes());
}

/**
 * Answers gathered for one write, as UTF-8 bytes. The server keeps one per
 * connection and reuses it for every batch, so answering allocates nothing
 * but an occasional larger buffer.
 */
export class AnswerBuffer implements ByteSink {
  #bytes: Uint8Array;
  #length = 0;
  readonly #keepBytes: number;

  /** `keepBytes`: a buffer grown past this is dropped by {@linkcode AnswerBuffer.clear}. */
  constructor(keepBytes = 64 * 1024) {
    this.#keepBytes = keepBytes;
    this.#bytes = new Uint8Array(Math.min(4096, keepBytes));
  }

  /** Bytes gathered so far. */
  get length(): number {
    return this.#length;
  }

  /** The bytes gathered, as a view valid until the next add or clear. */
  bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /** Empties the buffer, and gives back the memory a large answer took. */
  clear(): void {
    this.#length = 0;
    if (this.#bytes.length > this.#keepBytes) this.#bytes = new Uint8Array(this.#keepBytes);
  }

  addByte(byte: number): void {
    if (this.#length === this.#bytes.length) this.#grow(1);
    this.#bytes[this.#length++] = byte;
  }

  addBytes(bytes: Uint8Array, start: number, end: number): void {
    const length = end - start;
    if (this.#length + length > this.#bytes.length) this.#grow(length);
    if (length <= 32) {
      // Short copies (most values) by hand: `set` + `subarray` cost more.
      const out = this.#bytes;
      for (let i = start, at = this.#length; i < end; i++, at++) out[at] = bytes[i]!;
    } else {
      this.#bytes.set(bytes.subarray(start, end), this.#length);
    }
    this.#length += length;
  }

  /** Adds a whole constant line, such as `Success!\n`. */
  addLine(bytes: Uint8Array): void {
    this.addBytes(bytes, 0, bytes.length);
  }

  addText(text: string): void {
    // A UTF-16 unit never takes more than 3 bytes in UTF-8.
    if (this.#length + text.length * 3 > this.#bytes.length) this.#grow(text.length * 3);
    this.#length += encoder.encodeInto(text, this.#bytes.subarray(this.#length)).written;
  }

  #grow(more: number): void {
    const grown = new Uint8Array(Math.max(2 * this.#bytes.length, this.#length + more));
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }
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
