/**
 * Splits an inline Redis request (`SET k "hello world"`) into its words, as
 * Redis's `sdssplitargs` does: words are separated by spaces, and may be
 * quoted: `"..."` with the escapes `\n \r \t \b \a \\ \" \xHH`, or `'...'`
 * with `\'`. Pure.
 *
 * @module
 */

const BACKSLASH = 0x5c;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const ESCAPES: Record<number, number> = {
  0x6e: 0x0a,
  0x72: 0x0d,
  0x74: 0x09,
  0x62: 0x08,
  0x61: 0x07,
};

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0b || byte === 0x0c ||
    byte === 0x0d;
}

/**
 * What ends an unquoted word: fewer bytes than isSpace (sdssplitargs's
 * switch), so `\v` and `\f` are skipped between words but kept inside one.
 */
function endsWord(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09 || byte === 0;
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * The words of `bytes[start, end)`, each a new array; `null` if a quote is
 * not closed, or a closing quote is not followed by a space or the end.
 */
export function splitInline(bytes: Uint8Array, start: number, end: number): Uint8Array[] | null {
  const words: Uint8Array[] = [];
  let p = start;
  while (true) {
    while (p < end && isSpace(bytes[p])) p++;
    if (p >= end) return words;
    const word: number[] = [];
    let quote = 0;
    for (let done = false; !done; p++) {
      const byte = bytes[p];
      if (quote === DQUOTE) {
        if (p >= end) return null;
        if (byte === BACKSLASH && bytes[p + 1] === 0x78 && p + 3 < end) {
          const high = hexValue(bytes[p + 2]);
          const low = hexValue(bytes[p + 3]);
          if (high >= 0 && low >= 0) {
            word.push(high * 16 + low);
            p += 3;
            continue;
          }
        }
        if (byte === BACKSLASH && p + 1 < end) {
          p++;
          word.push(ESCAPES[bytes[p]!] ?? bytes[p]!);
        } else if (byte === DQUOTE) {
          if (p + 1 < end && !isSpace(bytes[p + 1])) return null;
          done = true;
        } else {
          word.push(byte!);
        }
      } else if (quote === SQUOTE) {
        if (p >= end) return null;
        if (byte === BACKSLASH && bytes[p + 1] === SQUOTE && p + 1 < end) {
          p++;
          word.push(SQUOTE);
        } else if (byte === SQUOTE) {
          if (p + 1 < end && !isSpace(bytes[p + 1])) return null;
          done = true;
        } else {
          word.push(byte!);
        }
      } else if (p >= end || endsWord(byte)) {
        done = true;
      } else if (byte === DQUOTE || byte === SQUOTE) {
        quote = byte;
      } else {
        word.push(byte!);
      }
    }
    words.push(Uint8Array.from(word));
  }
}
