/**
 * Redis's glob-style pattern matching (`stringmatchlen`), for KEYS, SCAN
 * MATCH, CONFIG GET and COMMAND LIST: `*`, `?`, `[abc]`, `[^a]`, `[a-z]`,
 * and `\` to take the next character as it is. Over bytes; pure.
 *
 * Redis's matcher recurses at each `*`, and once the rest of the pattern
 * has failed from every position after a `*`, it tries no longer match for
 * the `*`s before it (`skipLongerMatches`): only the last `*` reached is
 * ever gone back to. {@linkcode Glob} does that in a loop, with the same
 * answers, over the pattern read once into pieces (a class into a table of
 * its bytes, a run of `?` into one piece), and uses what the pattern says
 * to cut the work: the text after a `*` must hold at least as many bytes as
 * the pattern after it has characters, and after the last `*` exactly as
 * many, so that `*` is tried at one position instead of at each
 * (`*???...?x` against a long key took time in the product of their
 * lengths: hours for 1 MB each). What is left of that cost, a `*` before
 * pieces that match nearly everywhere and fail late (`*[a][a]...[a]b*`),
 * is counted in steps, one per piece looked at, and
 * {@linkcode Glob.match} stops when a budget runs out (KEYS and SCAN give
 * one: keys.ts).
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
// Redis's protection against abusive patterns: a `*` reached this deep matches nothing.
const MAX_NESTING = 1000;

// The pieces of a pattern.
const LITERAL = 0; // one byte, its value
const ANY = 1; // a run of `?`: its length
const CLASS = 2; // `[...]`: where its table of 256 bits starts
const STARS = 3; // one `*` or more

/** A budget of steps for {@linkcode Glob.match} (a step: one piece of the pattern looked at). */
export interface GlobBudget {
  /** The steps left; {@linkcode Glob.match} takes away the ones it used. */
  steps: number;
}

/** A pattern, read once, to match many texts against (KEYS and SCAN match it against every key). */
export class Glob {
  readonly #kinds: Uint8Array;
  readonly #values: Int32Array;
  readonly #count: number;
  // 8 words of 32 bits per class: bit b is set if byte b is in it.
  readonly #classes: Uint32Array;
  // At each `*`: how many bytes of text the pattern after it needs.
  readonly #needAfter: Int32Array;
  // Which piece is the last `*`, -1 if none: after it, the pattern has a fixed length.
  readonly #lastStar: number;

  /** Reads `pattern`; costs one pass over it. */
  constructor(pattern: Uint8Array) {
    const end = pattern.length;
    const kinds = new Uint8Array(end);
    const values = new Int32Array(end);
    const needAfter = new Int32Array(end);
    let classes = new Uint32Array(64);
    let classWords = 0;
    let count = 0;
    let characters = 0; // Bytes of text the pieces so far need.
    let lastStar = -1;
    for (let p = 0; p < end;) {
      const c = pattern[p]!;
      if (c === STAR) {
        if (count === 0 || kinds[count - 1] !== STARS) {
          lastStar = count;
          kinds[count] = STARS;
          needAfter[count++] = characters; // the bytes before it, for now
        }
        p++;
        continue;
      }
      characters++;
      if (c === QUESTION) {
        if (count > 0 && kinds[count - 1] === ANY) values[count - 1]!++;
        else {
          kinds[count] = ANY;
          values[count++] = 1;
        }
        p++;
      } else if (c === OPEN) {
        if (classWords + 8 > classes.length) {
          const grown = new Uint32Array(2 * classes.length);
          grown.set(classes);
          classes = grown;
        }
        kinds[count] = CLASS;
        values[count++] = classWords;
        p = readClass(pattern, p, end, classes, classWords);
        classWords += 8;
      } else {
        if (c === BACKSLASH && end - p >= 2) p++;
        kinds[count] = LITERAL;
        values[count++] = pattern[p]!;
        p++;
      }
    }
    for (let i = 0; i < count; i++) {
      if (kinds[i] === STARS) needAfter[i] = characters - needAfter[i]!;
    }
    this.#kinds = kinds;
    this.#values = values;
    this.#count = count;
    this.#classes = classes;
    this.#needAfter = needAfter;
    this.#lastStar = lastStar;
  }

  /**
   * Whether `text[start, end)` matches (Redis's rules, case-sensitive).
   * With a `budget`, the steps taken are taken from it, and once it would go
   * below zero the match stops: `undefined`, no answer.
   */
  match(
    text: Uint8Array,
    start = 0,
    end = text.length,
    budget?: GlobBudget,
  ): boolean | undefined {
    const kinds = this.#kinds;
    const values = this.#values;
    const count = this.#count;
    const classes = this.#classes;
    let steps = budget === undefined ? Infinity : budget.steps;
    let i = 0; // The piece.
    let s = start;
    // The `*` the match goes back to: the piece after it, the next text
    // position to try it from, and how many bytes the rest needs.
    let starNext = -1;
    let starS = 0;
    let starNeed = 0;
    let nesting = 0;
    let result: boolean | undefined;
    outer: while (true) {
      let failed = false;
      while (i < count && s < end) {
        if (--steps < 0) break outer;
        const kind = kinds[i]!;
        if (kind === STARS) {
          if (i + 1 === count) {
            result = true;
            break outer;
          }
          if (nesting >= MAX_NESTING) {
            result = false;
            break outer;
          }
          nesting++;
          starNext = i + 1;
          starNeed = this.#needAfter[i]!;
          // After the last `*` the pattern has a fixed length: only the
          // position that leaves exactly that much text can match.
          starS = i === this.#lastStar ? Math.max(s, end - starNeed) : s;
          if (end - starS < starNeed) {
            result = false;
            break outer;
          }
          i = starNext;
          s = starS;
          continue;
        }
        if (kind === ANY) {
          // A text that ends inside the run cannot match from here.
          if (end - s < values[i]!) {
            failed = true;
            break;
          }
          s += values[i]!;
        } else {
          const byte = text[s]!;
          const matched = kind === LITERAL
            ? byte === values[i]
            : (classes[values[i]! + (byte >>> 5)]! & (1 << (byte & 31))) !== 0;
          if (!matched) {
            failed = true;
            break;
          }
          s++;
        }
        i++;
        if (s === end) {
          if (i < count && kinds[i] === STARS) i++;
          break;
        }
      }
      if (!failed && i === count && s === end) {
        result = true;
        break;
      }
      // No match from here: the last `*` tries one position further on, if
      // the rest still fits (after the last `*` its one try is over).
      starS++;
      if (starNext === -1 || starNext - 1 === this.#lastStar || end - starS < starNeed) {
        result = false;
        break;
      }
      i = starNext;
      s = starS;
    }
    if (budget !== undefined) budget.steps = steps;
    return result;
  }
}

/**
 * Reads the class that opens at `pattern[p]` (`[`) as Redis's matcher
 * reads it, into the 8 words at `words[at]`; returns the position after it
 * (after its `]`, or the pattern's end for a class never closed).
 */
function readClass(
  pattern: Uint8Array,
  p: number,
  end: number,
  words: Uint32Array,
  at: number,
): number {
  p++;
  const not = pattern[p] === CARET;
  if (not) p++;
  while (true) {
    if (pattern[p] === BACKSLASH && end - p >= 2) {
      p++;
      addRange(words, at, pattern[p]!, pattern[p]!);
    } else if (pattern[p] === CLOSE) {
      break;
    } else if (p >= end) {
      p--;
      break;
    } else if (end - p >= 3 && pattern[p + 1] === DASH) {
      // Redis compares C chars, signed on the machines it runs on: a byte
      // from 0x80 up is below 0 there, so `[\x01-\xff]` is `[\xff-\x01]`.
      let low = signed(pattern[p]!);
      let high = signed(pattern[p + 2]!);
      if (low > high) [low, high] = [high, low];
      p += 2;
      // As bytes: 0 up to `high`, and from `low` (0x80 and up) on.
      if (high >= 0) addRange(words, at, Math.max(low, 0), high);
      if (low < 0) addRange(words, at, low & 0xff, Math.min(high, -1) & 0xff);
    } else {
      addRange(words, at, pattern[p]!, pattern[p]!);
    }
    p++;
  }
  if (not) {
    for (let k = at; k < at + 8; k++) words[k] = ~words[k]!;
  }
  return p + 1;
}

/** Adds the bytes `from` to `to` (0 to 255, `from` <= `to`) to the class at `words[at]`. */
function addRange(words: Uint32Array, at: number, from: number, to: number): void {
  for (let word = from >>> 5; word <= to >>> 5; word++) {
    const first = Math.max(from, word << 5) & 31;
    const last = Math.min(to, (word << 5) + 31) & 31;
    // Bits first to last: all bits up to last, less those below first.
    const upTo = last === 31 ? 0xffffffff : (1 << (last + 1)) - 1;
    words[at + word]! |= upTo & ~((1 << first) - 1);
  }
}

/**
 * Whether `text[textStart, textEnd)` matches `pattern` (Redis's rules,
 * case-sensitive). To match one pattern against many texts, read it once
 * into a {@linkcode Glob}.
 */
export function globMatch(
  pattern: Uint8Array,
  text: Uint8Array,
  textStart = 0,
  textEnd = text.length,
): boolean {
  return new Glob(pattern).match(text, textStart, textEnd)!;
}

/** A byte as C's signed char holds it. */
function signed(byte: number): number {
  return (byte << 24) >> 24;
}
