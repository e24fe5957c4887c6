/**
 * {@linkcode RespReply}: Redis's protocol's answers, RESP2 by default and
 * RESP3 once the client says `HELLO 3`, written as bytes into the
 * connection's {@linkcode AnswerBuffer}. Errors use Redis 7's own words, so
 * redis-cli and Redis client libraries see what they expect.
 *
 * @module
 */

import type { Session } from "../../command/command.ts";
import type { Failure, RedisReply } from "../../command/reply.ts";
import type { AnswerBuffer } from "../answer_buffer.ts";
import { formatLimit } from "../pending_budget.ts";

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
const OK = encoder.encode("+OK\r\n");
const PONG = encoder.encode("+PONG\r\n");
const NIL2 = encoder.encode("$-1\r\n");
const NIL_ARRAY2 = encoder.encode("*-1\r\n");
const NULL3 = encoder.encode("_\r\n");
const EMPTY_BULK = encoder.encode("$0\r\n\r\n");
const COLON = 0x3a;
const DOLLAR = 0x24;
const STAR = 0x2a;
const PERCENT = 0x25;
const TILDE = 0x7e;
const COMMA = 0x2c;
const PLUS = 0x2b;
const MINUS = 0x2d;
const EQUALS = 0x3d;

/** The text of an error reply for each failure, code first, as Redis 7 words it. */
export function redisErrorText(failure: Failure): string {
  switch (failure.kind) {
    case "unknownCommand": {
      const args = (failure.args ?? []).map((arg) => `'${arg}' `).join("");
      return `ERR unknown command '${failure.word}', with args beginning with: ${args}`;
    }
    case "usage":
      return `ERR wrong number of arguments for '${failure.command.name.toLowerCase()}' command`;
    case "redis":
    case "protocol":
      return failure.text;
    case "storeFull":
      return "OOM command not allowed when used memory > 'maxmemory'.";
    case "emptyField":
      return `ERR ${failure.field} must not be empty`;
    case "invalidUtf8":
      return "ERR request is not valid UTF-8";
    case "lineTooLong":
      return `ERR Protocol error: request too large (limit ${failure.limitBytes} bytes)`;
    case "pendingFull":
      return `ERR kv: unfinished requests of all clients hold ${
        formatLimit(failure.limitBytes)
      } already (--max-pending-bytes); try again later`;
    case "answerTooLarge":
      return `ERR kv: answers being made hold ${
        formatLimit(failure.limitBytes)
      } already (--max-answer-bytes); ask for less at once`;
    case "tooManyConnections":
      return "ERR max number of clients reached";
    case "notText":
      return "ERR value cannot be shown";
    case "authRequired":
      return "NOAUTH Authentication required.";
    case "wrongPassword":
      return "WRONGPASS invalid username-password pair or user is disabled.";
    case "noPassword":
      return "ERR AUTH <password> called without any password configured for the default user. " +
        "Are you sure your configuration is correct?";
    case "notDurable":
      if (failure.closed) return "ERR not saved: the data file is closed (the change was not made)";
      // Redis's answer while it cannot write its AOF; clients know MISCONF.
      return "MISCONF Errors writing to the AOF file: disk full or I/O error (the change was not made)";
  }
}

/** Redis's protocol's {@linkcode RedisReply}. */
export class RespReply implements RedisReply {
  readonly #out: AnswerBuffer;
  readonly #session: Session;

  /** Writes answers into `out`, in the protocol version `session` speaks. */
  constructor(out: AnswerBuffer, session: Session) {
    this.#out = out;
    this.#session = session;
  }

  ok(): void {
    this.#out.addLine(OK);
  }

  mark(): number {
    return this.#out.length;
  }

  rewind(mark: number): void {
    this.#out.truncate(mark);
  }

  notFound(): void {
    this.nil();
  }

  /** A GET's value: a bulk string of the stored bytes. */
  addBytes(bytes: Uint8Array, start: number, end: number): void {
    this.bytes(bytes, start, end);
  }

  pong(): void {
    this.#out.addLine(PONG);
  }

  bye(): void {
    this.#out.addLine(OK);
  }

  error(failure: Failure): void {
    const out = this.#out;
    out.addByte(MINUS);
    // Error texts may quote a client's bytes (one character per byte):
    // write them back byte for byte, as Redis's addReplyErrorFormat() does:
    // line breaks at the end dropped (`EXPIRE k 1 "x\r\n"` says `option
    // x`), those within made spaces.
    const text = redisErrorText(failure);
    let end = text.length;
    while (end > 0 && (text.charCodeAt(end - 1) === 0x0a || text.charCodeAt(end - 1) === 0x0d)) {
      end--;
    }
    for (let i = 0; i < end; i++) {
      const code = text.charCodeAt(i);
      out.addByte(code === 0x0a || code === 0x0d ? 0x20 : code & 0xff);
    }
    out.addLine(CRLF);
  }

  /** RESP has no listing of pairs (LIST is the line protocol's). */
  pair(): boolean {
    return false;
  }

  /** RESP has no listing of pairs (LIST is the line protocol's). */
  endList(): void {}

  integer(n: number | bigint): void {
    this.#out.addByte(COLON);
    this.#out.addInteger(n);
    this.#out.addLine(CRLF);
  }

  simple(text: string): void {
    this.#out.addByte(PLUS);
    this.#out.addText(text);
    this.#out.addLine(CRLF);
  }

  bulk(text: string): void {
    // ASCII (a SCAN cursor, INFO's figures) needs no encoded copy: its length is its byte count.
    let ascii = true;
    for (let i = 0; i < text.length && ascii; i++) ascii = text.charCodeAt(i) < 0x80;
    if (!ascii) {
      const bytes = encoder.encode(text);
      return this.bytes(bytes, 0, bytes.length);
    }
    const out = this.#out;
    if (text.length === 0) return out.addLine(EMPTY_BULK);
    out.addByte(DOLLAR);
    out.addDecimal(text.length);
    out.addLine(CRLF);
    out.addText(text);
    out.addLine(CRLF);
  }

  bytes(bytes: Uint8Array, start: number, end: number): void {
    const out = this.#out;
    if (start === end) return out.addLine(EMPTY_BULK);
    out.addByte(DOLLAR);
    out.addDecimal(end - start);
    out.addLine(CRLF);
    out.addBytes(bytes, start, end);
    out.addLine(CRLF);
  }

  nil(): void {
    this.#out.addLine(this.#session.resp === 3 ? NULL3 : NIL2);
  }

  nilArray(): void {
    this.#out.addLine(this.#session.resp === 3 ? NULL3 : NIL_ARRAY2);
  }

  array(length: number): void {
    this.#header(STAR, length);
  }

  map(pairs: number): void {
    if (this.#session.resp === 3) this.#header(PERCENT, pairs);
    else this.#header(STAR, 2 * pairs);
  }

  set(length: number): void {
    this.#header(this.#session.resp === 3 ? TILDE : STAR, length);
  }

  double(n: number): void {
    const text = formatDouble(n);
    if (this.#session.resp !== 3) return this.bulk(text);
    this.#out.addByte(COMMA);
    this.#out.addText(text);
    this.#out.addLine(CRLF);
  }

  verbatim(text: string): void {
    if (this.#session.resp !== 3) return this.bulk(text);
    const bytes = encoder.encode(text);
    this.#out.addByte(EQUALS);
    this.#out.addDecimal(bytes.length + 4);
    this.#out.addLine(CRLF);
    this.#out.addText("txt:");
    this.#out.addBytes(bytes, 0, bytes.length);
    this.#out.addLine(CRLF);
  }

  #header(type: number, length: number): void {
    this.#out.addByte(type);
    this.#out.addDecimal(length);
    this.#out.addLine(CRLF);
  }
}

/** A double as Redis writes one: `inf`, `-inf`, `nan`, or the shortest form. */
function formatDouble(n: number): string {
  if (n === Infinity) return "inf";
  if (n === -Infinity) return "-inf";
  if (Number.isNaN(n)) return "nan";
  return String(n);
}
