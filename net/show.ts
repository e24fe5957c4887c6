/**
 * How untrusted bytes are shown on a terminal (a report, a trace, a log
 * line): {@linkcode show} escapes and shortens them, so that what a peer
 * sent (control bytes, invalid UTF-8, a megabyte line) is readable in one
 * line; {@linkcode escapeInvisible} writes each character that would not
 * show as itself as its code point, so that a peer's bytes cannot move the
 * cursor, recolour the screen or reverse a line (ANSI escapes, C1 controls
 * such as U+009B, bidi overrides such as U+202E).
 *
 * @module
 */

/** Controls, format characters (bidi overrides among them) and every space but U+0020. */
export const INVISIBLE_REGEXP: RegExp = /[\p{C}\p{Z}]/u;
const INVISIBLE_GLOBAL = /[\p{C}\p{Z}]/gu;

/** `char` as `\xNN` (below U+0080) or `\u{…}`. */
export function codePointEscape(char: string): string {
  const code = char.codePointAt(0)!;
  return code < 0x80 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
}

/** `text` with each invisible character (see {@linkcode INVISIBLE_REGEXP}) but `" "` escaped. */
export function escapeInvisible(text: string): string {
  return text.replace(INVISIBLE_GLOBAL, (char) => char === " " ? char : codePointEscape(char));
}

// What could take a terminal over: C0 controls but tab and line feed, DEL,
// C1 controls, the bidi controls, and the line and paragraph separators.
// deno-lint-ignore no-control-regex -- matching control characters is the point.
const TERMINAL_CONTROL = new RegExp(
  "[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069]",
  "g",
);

/**
 * `text` for a terminal: each character that could move the cursor, change
 * the screen or reorder a line (C0 and C1 controls but tab and line feed,
 * DEL, bidi controls, line separators) as its code point. Everything else,
 * spaces of every kind and joiners (an emoji family, Persian) included, as
 * it is.
 */
export function escapeForTerminal(text: string): string {
  return text.replace(TERMINAL_CONTROL, codePointEscape);
}

/** Options of {@linkcode show}. */
export interface ShowOptions {
  /** The longest result, in characters, before the middle is cut. @default {120} */
  maxChars?: number;
  /**
   * How many bytes there were, when `bytes` keeps only their ends (see
   * {@linkcode keepEnds}): the cut says so. @default {bytes.length}
   */
  totalBytes?: number;
}

/** Bytes {@linkcode show} shows from each end of a long input, at most (for `maxChars` up to 4,096). */
export const SHOWN_END_BYTES = 16 * 1024;

/**
 * `bytes`, or, past twice {@linkcode SHOWN_END_BYTES}, only their two ends:
 * all that {@linkcode show} needs of them, with `totalBytes`. What a report
 * keeps of a server's 64 MiB answer.
 */
export function keepEnds(bytes: Uint8Array): Uint8Array {
  if (bytes.length <= 2 * SHOWN_END_BYTES) return bytes;
  const kept = new Uint8Array(2 * SHOWN_END_BYTES);
  kept.set(bytes.subarray(0, SHOWN_END_BYTES));
  kept.set(bytes.subarray(bytes.length - SHOWN_END_BYTES), SHOWN_END_BYTES);
  return kept;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * `bytes` (or text) in double quotes, JSON-style: `\n`, `\r`, `\t`, `\"`
 * and `\\` escaped, other invisible characters as `\u{…}`, bytes that are
 * not UTF-8 as `\xNN`. Korean and emoji are shown as they are. Past
 * `maxChars`, the middle is replaced by `…(N bytes)…`.
 */
export function show(bytes: Uint8Array | string, options: ShowOptions = {}): string {
  const data = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
  const maxChars = options.maxChars ?? 120;
  // A character shows as at least one char and takes at most 4 bytes: only
  // the ends of a long answer (a server may send 64 MiB) are escaped.
  const ends = 4 * maxChars;
  let tokens: string[];
  let tailTokens: string[];
  if (data.length > 2 * ends) {
    tokens = escapeTokens(data.subarray(0, ends));
    // The tail shows at most 24 characters: where these bytes start, inside
    // a character or not, is never shown.
    tailTokens = escapeTokens(data.subarray(data.length - ends));
  } else {
    tokens = tailTokens = escapeTokens(data);
    let length = 0;
    for (const token of tokens) length += token.length;
    if (length + 2 <= maxChars) return `"${tokens.join("")}"`;
  }
  const marker = `…(${options.totalBytes ?? data.length} bytes)…`;
  const tailChars = Math.min(24, Math.floor(maxChars / 4));
  const head = takeChars(tokens, Math.max(8, maxChars - tailChars - marker.length - 2), false);
  const tail = takeChars(tailTokens, tailChars, true);
  return `"${head}${marker}${tail}"`;
}

/** The escaped pieces of `bytes`, one per character or bad byte. */
function escapeTokens(bytes: Uint8Array): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < bytes.length) {
    const byte = bytes[i]!;
    const size = sequenceLength(byte);
    const char = utf8CharAt(bytes, i, bytes.length);
    if (char === undefined) {
      tokens.push(`\\x${byte.toString(16).padStart(2, "0")}`);
      i++;
      continue;
    }
    tokens.push(escapeChar(char));
    i += size;
  }
  return tokens;
}

/** How many bytes a UTF-8 character starting with `byte` takes; 0 if none can. */
export function sequenceLength(byte: number): number {
  if (byte < 0x80) return 1;
  if (byte < 0xc2) return 0;
  if (byte < 0xe0) return 2;
  if (byte < 0xf0) return 3;
  return byte < 0xf5 ? 4 : 0;
}

/**
 * The UTF-8 character that starts at `bytes[i]` and ends by `end`, or
 * `undefined` if none does there (a byte no character starts with, a
 * sequence cut short or invalid). Its length is {@linkcode sequenceLength}.
 */
export function utf8CharAt(bytes: Uint8Array, i: number, end: number): string | undefined {
  const size = sequenceLength(bytes[i]!);
  if (size === 0 || i + size > end) return undefined;
  try {
    return strictDecoder.decode(bytes.subarray(i, i + size));
  } catch {
    return undefined;
  }
}

function escapeChar(char: string): string {
  switch (char) {
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\t":
      return "\\t";
    case '"':
      return '\\"';
    case "\\":
      return "\\\\";
    case " ":
      return " ";
  }
  // Invisible or misleading characters, shown by their code point.
  return INVISIBLE_REGEXP.test(char) ? codePointEscape(char) : char;
}

/** The first (or, `fromEnd`, last) tokens that fit in `chars` characters. */
function takeChars(tokens: string[], chars: number, fromEnd: boolean): string {
  const taken: string[] = [];
  let used = 0;
  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[fromEnd ? tokens.length - 1 - k : k]!;
    if (used + token.length > chars) break;
    taken.push(token);
    used += token.length;
  }
  return (fromEnd ? taken.reverse() : taken).join("");
}

const BYTE_ESCAPES: Record<number, string> = {
  0x09: "\\t",
  0x0a: "\\n",
  0x0d: "\\r",
  0x22: '\\"',
  0x5c: "\\\\",
};

/**
 * Bytes that are not UTF-8 as a message shows them: printable ASCII as it
 * is (`\n`, `\r`, `\t`, `\"` and `\\` escaped as {@linkcode show} does),
 * every other byte as `\xNN` (decoding the bytes that happen to be UTF-8
 * would show cp949's Korean as unrelated characters); at most 48.
 */
export function showAsBytes(line: Uint8Array): string {
  const head = line.subarray(0, 48);
  let text = "";
  for (const byte of head) {
    text += BYTE_ESCAPES[byte] ??
      (byte >= 0x20 && byte < 0x7f
        ? String.fromCharCode(byte)
        : `\\x${byte.toString(16).padStart(2, "0")}`);
  }
  return `"${text}${line.length > head.length ? `…(${line.length} bytes)` : ""}"`;
}
