/**
 * Tracing, the part both ends share: what one traced socket event is
 * ({@linkcode TraceEvent}), where events go ({@linkcode Tracer}), and how a
 * line of `--trace` looks ({@linkcode formatTrace}): aligned and coloured on
 * a terminal, plain and parseable otherwise (README, "Watch it work").
 *
 * @module
 */

import { codePointEscape, INVISIBLE_REGEXP, sequenceLength, utf8CharAt } from "./show.ts";

/**
 * One event in the life of a socket, as the application sees it. The server
 * makes them in `server/trace.ts`, the client in `client/trace.ts` and
 * `client/udp.ts`.
 */
export interface TraceEvent {
  /**
   * Whose event: `#3` (the server's TCP connection 3), `d7` (the server's
   * UDP datagram 7), `server` (the server as a whole), `client`.
   */
  readonly who: string;
  /**
   * Milliseconds since the start of `who`: the accept of a connection, the
   * arrival of a datagram, the start of the server, the client's connect.
   */
  readonly ms: number;
  /** What happened, one word: `accept`, `recv`, `request`, `send`, `close`, ... */
  readonly event: string;
  /** The rest: `key=value` fields, an escaped preview in quotes, a note in parentheses. */
  readonly detail: string;
}

/** Receives trace events. Only called when tracing is on: nothing is built otherwise. */
export type Tracer = (event: TraceEvent) => void;

/** How {@linkcode formatTrace} draws a line. */
export interface TraceStyle {
  /** Padded columns, for a person at a terminal. @default {false} */
  readonly aligned?: boolean;
  /** ANSI colours (only ever with `aligned`). @default {false} */
  readonly colour?: boolean;
}

/**
 * The style for a stream: aligned on a terminal, coloured there too unless
 * `NO_COLOR` is set (no-color.org); plain otherwise, for scripts.
 */
export function traceStyle(isTerminal: boolean, noColor: boolean): TraceStyle {
  return { aligned: isTerminal, colour: isTerminal && !noColor };
}

// Column widths of an aligned line: who, time, event.
const WHO_WIDTH = 6;
const MS_WIDTH = 12;
const EVENT_WIDTH = 11;
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";
// Colours by kind of event: the connection's life (green), bytes in (cyan),
// bytes out (magenta), meanings (bold), ends (yellow), trouble (red).
const COLOURS: Record<string, string> = {
  listen: "\x1b[32m",
  bind: "\x1b[32m",
  accept: "\x1b[32m",
  connect: "\x1b[32m",
  recv: "\x1b[36m",
  recvfrom: "\x1b[36m",
  send: "\x1b[35m",
  sendto: "\x1b[35m",
  request: "\x1b[1m",
  answer: "\x1b[1m",
  pause: "\x1b[33m",
  eof: "\x1b[33m",
  "half-close": "\x1b[33m",
  close: "\x1b[33m",
  shutdown: "\x1b[33m",
  reset: "\x1b[31m",
  refused: "\x1b[31m",
  error: "\x1b[31m",
  timeout: "\x1b[31m",
  "too-large": "\x1b[31m",
  "give-up": "\x1b[31m",
};

/**
 * One trace line, without its `\n`. Plain (the default), for scripts:
 * `trace WHO +MSms EVENT DETAIL`, fields split by single spaces, the detail
 * last. Aligned: the same fields without the word `trace`, padded into
 * columns, and coloured if asked.
 */
export function formatTrace(event: TraceEvent, style: TraceStyle = {}): string {
  const ms = `+${event.ms.toFixed(3)}ms`;
  if (!style.aligned) return `trace ${event.who} ${ms} ${event.event} ${event.detail}`.trimEnd();
  const who = event.who.padEnd(WHO_WIDTH);
  const time = ms.padStart(MS_WIDTH);
  const name = event.event.padEnd(EVENT_WIDTH);
  if (!style.colour) return `${who} ${time}  ${name}${event.detail}`.trimEnd();
  const colour = COLOURS[event.event] ?? "";
  return `${DIM}${who} ${time}${RESET}  ${colour}${name}${RESET}${event.detail}`.trimEnd();
}

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const ESCAPES: Record<number, string> = { 0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t" };

/**
 * `bytes[start, end)` as a quoted, escaped preview on one line: printable
 * text as it is (Korean included), `\n`, `\r`, `\t`, `\\` and `\"` escaped,
 * any other byte (a control byte, a byte that is not UTF-8) as `\xNN`, a
 * character that would not show as itself (a C1 control, a bidi override)
 * as `\u{…}` (net/show.ts). Past
 * `maxBytes` it is cut, and the line says how much was left out:
 * `"PUT, k, vvvv"...(+1000 bytes)`.
 */
export function preview(bytes: Uint8Array, start: number, end: number, maxBytes = 80): string {
  const stop = Math.min(end, start + maxBytes);
  let text = "";
  let i = start;
  while (i < stop) {
    const byte = bytes[i]!;
    if (byte < 0x80) {
      if (byte === BACKSLASH || byte === QUOTE) text += `\\${String.fromCharCode(byte)}`;
      else if (ESCAPES[byte] !== undefined) text += ESCAPES[byte];
      else if (byte < 0x20 || byte === 0x7f) text += hexByte(byte);
      else text += String.fromCharCode(byte);
      i++;
      continue;
    }
    const char = utf8CharAt(bytes, i, end);
    if (char === undefined) {
      text += hexByte(byte);
      i++;
    } else {
      text += INVISIBLE_REGEXP.test(char) ? codePointEscape(char) : char;
      i += sequenceLength(byte);
    }
  }
  const left = end - i;
  return left > 0 ? `"${text}"...(+${left} bytes)` : `"${text}"`;
}

function hexByte(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, "0")}`;
}
