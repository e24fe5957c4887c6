/**
 * Redis's glob-style pattern matching (`stringmatchlen`), for KEYS, SCAN
 * MATCH and CONFIG GET: `*`, `?`, `[abc]`, `[^a]`, `[a-z]`, and `\` to take
 * the next character as it is. Over bytes; pure.
 *
 * @module
 */

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;
const BACKSLASH = 0x5c;

/** Whether `text[textStart, textEnd)` matches `pattern` (Redis's rules, case-sensitive). */
export function globMatch(
  pattern: Uint8Array,
  text: Uint8Array,
  textStart = 0,
  textEnd = text.length,
): boolean {
  const skipLonger = { value: false };
  return match(pattern, 0, pattern.length, text, textStart, textEnd, skipLonger, 0);
}

function match(
  pattern: Uint8Array,
  p: number,
  pEnd: number,
  text: Uint8Array,
  s: number,
  sEnd: number,
  skipLonger: { value: boolean },
  nesting: number,
): boolean {
  // Protection against abusive patterns, as Redis has.
  if (nesting > 1000) return false;
  while (p < pEnd && s < sEnd) {
    const c = pattern[p]!;
    if (c === STAR) {
      while (p + 1 < pEnd && pattern[p + 1] === STAR) p++;
      if (p + 1 === pEnd) return true;
      for (; s < sEnd; s++) {
        if (match(pattern, p + 1, pEnd, text, s, sEnd, skipLonger, nesting + 1)) return true;
        if (skipLonger.value) return false;
      }
      // No match for the rest from anywhere later: a longer match for an
      // earlier `*` cannot help either.
      skipLonger.value = true;
      return false;
    } else if (c === QUESTION) {
      s++;
    } else if (c === OPEN) {
      p++;
      const not = pattern[p] === CARET;
      if (not) p++;
      let matched = false;
      while (true) {
        if (pattern[p] === BACKSLASH && pEnd - p >= 2) {
          p++;
          if (pattern[p] === text[s]) matched = true;
        } else if (pattern[p] === CLOSE) {
          break;
        } else if (p >= pEnd) {
          p--;
          break;
        } else if (pEnd - p >= 3 && pattern[p + 1] === DASH) {
          // Redis compares C chars, signed on the machines it runs on: a byte
          // from 0x80 up is below 0 there, so `[\x01-\xff]` is `[\xff-\x01]`.
          let low = signed(pattern[p]!);
          let high = signed(pattern[p + 2]!);
          if (low > high) [low, high] = [high, low];
          p += 2;
          const c = signed(text[s]!);
          if (c >= low && c <= high) matched = true;
        } else if (pattern[p] === text[s]) {
          matched = true;
        }
        p++;
      }
      if (not) matched = !matched;
      if (!matched) return false;
      s++;
    } else {
      if (c === BACKSLASH && pEnd - p >= 2) p++;
      if (pattern[p] !== text[s]) return false;
      s++;
    }
    p++;
    if (s === sEnd) {
      while (p < pEnd && pattern[p] === STAR) p++;
      break;
    }
  }
  return p === pEnd && s === sEnd;
}

/** A byte as C's signed char holds it. */
function signed(byte: number): number {
  return (byte << 24) >> 24;
}
