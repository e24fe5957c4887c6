/**
 * {@linkcode Request}: one request as a framer hands it over, a command and
 * its arguments as positions in the bytes they arrived in. A connection keeps
 * one and the framer refills it for every request, so framing allocates
 * nothing.
 *
 * @module
 */

import type { Command } from "./command.ts";
import type { Failure } from "./reply.ts";

const EMPTY = new Uint8Array(0);
// Room for this many arguments is kept once grown; more is let go of by release().
const KEEP_ARGS = 1024;
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** A framed request: a command to run with its arguments, or why there is none. */
export class Request {
  /** The command to run; `undefined` when the request failed to parse. */
  command: Command | undefined = undefined;
  /** Why the request cannot run, when `command` is `undefined`. */
  failure: Failure | undefined = undefined;
  /** The bytes the arguments (and the raw request) lie in. */
  bytes: Uint8Array = EMPTY;
  /** How many arguments there are (the command word not counted). */
  count = 0;
  /** Where argument `i` starts in `bytes`. */
  starts: Int32Array = new Int32Array(4);
  /** Where argument `i` ends in `bytes`. */
  ends: Int32Array = new Int32Array(4);
  /** The request as it arrived, `bytes[rawStart, rawEnd)`, for logs. */
  rawStart = 0;
  /** The end of the raw request in `bytes`. */
  rawEnd = 0;

  /** Sets this request to run `command`; arguments are then set one by one. */
  runs(command: Command, bytes: Uint8Array): void {
    // Pointer fields are written only when they change: each store of one
    // costs a garbage-collector write barrier, and this runs per request.
    if (this.command !== command) this.command = command;
    if (this.failure !== undefined) this.failure = undefined;
    if (this.bytes !== bytes) this.bytes = bytes;
    this.count = 0;
  }

  /** Sets this request to fail with `failure`. */
  fails(failure: Failure): void {
    this.command = undefined;
    this.failure = failure;
    this.count = 0;
  }

  /**
   * Sets this request to fail with `failure`, with no bytes to show (its
   * own were not kept): not even those of the request before, whose buffer
   * may be freed by now, and a view of a freed buffer throws on `subarray`.
   */
  failsUnshown(failure: Failure): void {
    this.bytes = EMPTY;
    this.rawStart = this.rawEnd = 0;
    this.fails(failure);
  }

  /** Appends the argument `bytes[start, end)`. */
  addArg(start: number, end: number): void {
    if (this.count === this.starts.length) this.#grow();
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.count++;
  }

  /**
   * The connection waits for bytes: lets go of the bytes of the last
   * request (a read buffer that may go back to a pool) and of the room a
   * request of many arguments grew (past 1,024, 8 KiB of positions).
   */
  release(): void {
    if (this.bytes !== EMPTY) this.bytes = EMPTY;
    if (this.starts.length > KEEP_ARGS) {
      this.starts = new Int32Array(4);
      this.ends = new Int32Array(4);
    }
  }

  #grow(): void {
    const starts = new Int32Array(2 * this.starts.length);
    const ends = new Int32Array(2 * this.ends.length);
    starts.set(this.starts);
    ends.set(this.ends);
    this.starts = starts;
    this.ends = ends;
  }

  /**
   * A copy that owns its bytes: the framer reuses this request and the read
   * buffer, and a queued command (MULTI) must outlive them.
   */
  copy(): Request {
    const out = new Request();
    if (this.command === undefined) out.fails(this.failure!);
    let from = this.count > 0 ? this.starts[0]! : 0;
    let to = from;
    for (let i = 0; i < this.count; i++) {
      from = Math.min(from, this.starts[i]!);
      to = Math.max(to, this.ends[i]!);
    }
    const bytes = this.bytes.slice(from, to);
    if (this.command !== undefined) out.runs(this.command, bytes);
    for (let i = 0; i < this.count; i++) out.addArg(this.starts[i]! - from, this.ends[i]! - from);
    out.rawEnd = bytes.length;
    return out;
  }

  /** Argument `i` decoded as text, for the rare handler that needs a string. */
  text(i: number): string {
    return decoder.decode(this.bytes.subarray(this.starts[i], this.ends[i]));
  }

  /**
   * Argument `i` as one character per byte, for an error reply that echoes
   * it: the reply writes each back as the byte it was, UTF-8 or not.
   */
  binary(i: number): string {
    return byteString(this.bytes, this.starts[i]!, this.ends[i]!);
  }

  /**
   * Argument `i` as Redis's `%s` prints it into an error: {@linkcode binary},
   * up to its first NUL byte (C's end of a string).
   */
  cString(i: number): string {
    const start = this.starts[i]!;
    const nul = this.bytes.subarray(start, this.ends[i]).indexOf(0);
    return byteString(this.bytes, start, nul === -1 ? this.ends[i]! : start + nul);
  }
}

/** `bytes[start, end)` as one character per byte: an error reply writes them back unchanged. */
export function byteString(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  if (end - start <= 64) {
    for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]!);
    return text;
  }
  // A long one in slices of 1 KiB: a 900 KB key (WATCH keeps keys so) in
  // 3.4 ms instead of 8.6 a character at a time; all at once would
  // overflow the stack.
  for (let at = start; at < end; at += 1024) {
    const slice = bytes.subarray(at, Math.min(at + 1024, end));
    text += String.fromCharCode.apply(null, slice as unknown as number[]);
  }
  return text;
}

/**
 * The name of the request's command if its arguments may hold a password
 * (a {@linkcode Command} marked `secret`, run or misused): logs and traces
 * then show only the name.
 */
export function secretName(request: Request): string | undefined {
  const failure = request.failure;
  const command = request.command ?? (failure?.kind === "usage" ? failure.command : undefined);
  if (command?.secret === true) return command.name;
  // `AUTH s3cret` (Redis's form, sent as a line): an unknown command word, password and all.
  if (failure?.kind === "unknownCommand") {
    const first = failure.word.trimStart().split(/[\s,]/, 1)[0]!.toUpperCase();
    if (SECRET_WORDS.includes(first)) return first;
  }
  return undefined;
}

/**
 * An answer to a request {@linkcode secretName} names, as a log or trace may
 * show it: an error can quote the request (`unknown command "AUTH pw"`), so
 * it is cut at its first quote.
 */
export function hideEcho(answer: string): string {
  const quote = answer.search(/["'`]/);
  return quote === -1
    ? answer
    : `${answer.slice(0, quote)}(the rest hidden: it may echo a password)`;
}

/**
 * The commands whose arguments may hold a password: those marked `secret`
 * in the tables (request_test.ts holds this list to them).
 */
export const SECRET_WORDS: readonly string[] = ["AUTH", "HELLO"];

/**
 * Whether `bytes[start, end)` (bytes sent or received, a trace would show)
 * has a line that begins with AUTH or HELLO, in any case, after blanks: a
 * line request, an inline or RESP one (a bulk string starts a line). Such
 * bytes may hold a password, so a trace shows only their count.
 */
export function mayHoldSecret(bytes: Uint8Array, start: number, end: number): boolean {
  for (let at = start; at < end; at++) {
    if (at !== start && bytes[at - 1] !== 0x0a) continue; // Not the start of a line.
    let i = at;
    while (i < end && (bytes[i] === 0x20 || bytes[i] === 0x09)) i++;
    for (const word of SECRET_WORDS) {
      if (startsWithWord(bytes, i, end, word)) return true;
    }
  }
  return false;
}

/** Whether `bytes[at, end)` starts with `word` (ASCII, any case) and then a non-letter or the end. */
function startsWithWord(bytes: Uint8Array, at: number, end: number, word: string): boolean {
  if (at + word.length > end) return false;
  for (let k = 0; k < word.length; k++) {
    if ((bytes[at + k]! | 0x20) !== (word.charCodeAt(k) | 0x20)) return false;
  }
  const next = at + word.length < end ? bytes[at + word.length]! | 0x20 : 0;
  return next < 0x61 || next > 0x7a;
}
