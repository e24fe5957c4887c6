/** Tests for glob.ts against the cases Redis's own tests use. Pure. */

import { assertEquals } from "@std/assert";
import { Glob, globMatch } from "./glob.ts";

const encoder = new TextEncoder();

Deno.test({
  name: "globMatch() matches as Redis's stringmatchlen does",
  permissions: "none",
  fn: async (t) => {
    const cases: [string, string, boolean][] = [
      ["*", "", false], // as in Redis: KEYS and SCAN take a lone "*" as "all keys" themselves
      ["*", "anything", true],
      ["a*", "abc", true],
      ["a*", "bac", false],
      ["*c", "abc", true],
      ["a*c", "ac", true],
      ["a*c", "abbbc", true],
      ["a*c", "abbbd", false],
      ["h?llo", "hello", true],
      ["h?llo", "hllo", false],
      ["h[ae]llo", "hallo", true],
      ["h[ae]llo", "hillo", false],
      ["h[^e]llo", "hallo", true],
      ["h[^e]llo", "hello", false],
      ["h[a-b]llo", "hbllo", true],
      ["h[a-b]llo", "hcllo", false],
      ["h[b-a]llo", "hallo", true],
      ["h\\*llo", "h*llo", true],
      ["h\\*llo", "hello", false],
      ["key:*", "key:1", true],
      ["key:*", "key", false],
      ["", "", true],
      ["", "a", false],
      ["a", "", false],
      ["**", "abc", true],
      ["a**b", "ab", true],
      ["[abc", "a", true],
      ["*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false],
    ];
    for (const [pattern, text, expected] of cases) {
      await t.step(`${JSON.stringify(pattern)} ~ ${JSON.stringify(text)}`, () => {
        assertEquals(globMatch(encoder.encode(pattern), encoder.encode(text)), expected);
      });
    }
  },
});

Deno.test({
  name: "globMatch() compares a range's bytes as Redis's signed chars: 0x80 and up are below 0x00",
  permissions: "none",
  fn() {
    const bytes = (...values: number[]) => Uint8Array.from(values);
    const match = (pattern: Uint8Array, text: Uint8Array) => globMatch(pattern, text);
    // [\x01-\xff] is [-1..1] as signed chars: \x00 is in it, a and \x80 are not (Redis 7.0.15).
    const wide = bytes(0x5b, 0x01, 0x2d, 0xff, 0x5d);
    assertEquals(match(wide, bytes(0x00)), true);
    assertEquals(match(wide, bytes(0x61)), false);
    assertEquals(match(wide, bytes(0x80)), false);
    // [\x7f-\x81] is [-127..127]: everything but \x80 (-128).
    const around = bytes(0x5b, 0x7f, 0x2d, 0x81, 0x5d);
    assertEquals(match(around, bytes(0x00)), true);
    assertEquals(match(around, bytes(0x61)), true);
    assertEquals(match(around, bytes(0x80)), false);
    assertEquals(match(around, bytes(0xff)), true);
  },
});

/**
 * Redis's stringmatchlen() as Redis writes it, a recursion at each `*`
 * (this was kv's matcher until {@linkcode Glob}): the reference Glob must
 * agree with. Slow on purpose-made patterns, fine on short ones.
 */
function reference(pattern: Uint8Array, text: Uint8Array): boolean {
  const skipLonger = { value: false };
  const signed = (byte: number) => (byte << 24) >> 24;
  const match = (p: number, s: number, nesting: number): boolean => {
    if (nesting > 1000) return false;
    const pEnd = pattern.length;
    const sEnd = text.length;
    while (p < pEnd && s < sEnd) {
      const c = pattern[p]!;
      if (c === 0x2a) {
        while (p + 1 < pEnd && pattern[p + 1] === 0x2a) p++;
        if (p + 1 === pEnd) return true;
        for (; s < sEnd; s++) {
          if (match(p + 1, s, nesting + 1)) return true;
          if (skipLonger.value) return false;
        }
        skipLonger.value = true;
        return false;
      } else if (c === 0x3f) {
        s++;
      } else if (c === 0x5b) {
        p++;
        const not = pattern[p] === 0x5e;
        if (not) p++;
        let matched = false;
        while (true) {
          if (pattern[p] === 0x5c && pEnd - p >= 2) {
            p++;
            if (pattern[p] === text[s]) matched = true;
          } else if (pattern[p] === 0x5d) {
            break;
          } else if (p >= pEnd) {
            p--;
            break;
          } else if (pEnd - p >= 3 && pattern[p + 1] === 0x2d) {
            let low = signed(pattern[p]!);
            let high = signed(pattern[p + 2]!);
            if (low > high) [low, high] = [high, low];
            p += 2;
            const byte = signed(text[s]!);
            if (byte >= low && byte <= high) matched = true;
          } else if (pattern[p] === text[s]) {
            matched = true;
          }
          p++;
        }
        if (not) matched = !matched;
        if (!matched) return false;
        s++;
      } else {
        if (c === 0x5c && pEnd - p >= 2) p++;
        if (pattern[p] !== text[s]) return false;
        s++;
      }
      p++;
      if (s === sEnd) {
        while (p < pEnd && pattern[p] === 0x2a) p++;
        break;
      }
    }
    return p === pEnd && s === sEnd;
  };
  return match(0, 0, 0);
}

Deno.test({
  name: "Glob answers as Redis's recursive matcher, on 60,000 seeded random patterns and texts",
  permissions: "none",
  fn() {
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor((seed / 2147483648) * n);
    };
    // Every character that means something to a pattern, and bytes signed chars see as negative.
    const patternBytes = [
      0x61,
      0x62,
      0x2a,
      0x2a,
      0x3f,
      0x5b,
      0x5d,
      0x5e,
      0x2d,
      0x5c,
      0x80,
      0xff,
      0,
    ];
    const textBytes = [0x61, 0x62, 0x61, 0x2a, 0x5b, 0x5d, 0x2d, 0x5c, 0x80, 0];
    const some = (bytes: number[], most: number) =>
      Uint8Array.from({ length: random(most + 1) }, () => bytes[random(bytes.length)]!);
    for (let i = 0; i < 60_000; i++) {
      const pattern = some(patternBytes, 14);
      const text = some(textBytes, 14);
      // The text inside a larger buffer, as a key in the store's arena.
      const arena = new Uint8Array(text.length + 6);
      arena.set(text, 3);
      const got = new Glob(pattern).match(arena, 3, 3 + text.length, { steps: 1e9 });
      if (got !== reference(pattern, text)) {
        const show = (bytes: Uint8Array) => JSON.stringify(String.fromCharCode(...bytes));
        throw new Error(`${show(pattern)} ~ ${show(text)}: ${got}, Redis ${!got}`);
      }
    }
  },
});

Deno.test({
  name: "Glob answers as Redis does past 1000 nested *, where Redis stops looking",
  permissions: "none",
  fn() {
    for (const stars of [999, 1000, 1001]) {
      for (const text of ["a".repeat(stars + 2), "a".repeat(stars + 2) + "b"]) {
        for (
          const pattern of ["*a".repeat(stars), "*a".repeat(stars) + "*", "*a".repeat(stars) + "b"]
        ) {
          const [p, t] = [encoder.encode(pattern), encoder.encode(text)];
          assertEquals(
            globMatch(p, t),
            reference(p, t),
            `${stars} ${pattern.length} ${text.length}`,
          );
        }
      }
    }
  },
});

Deno.test({
  name: "Glob tries the pattern after the last * at the one position it can match from",
  permissions: "none",
  fn() {
    // Redis tries `?...?b` at every position of the key: 5 * 10^9 steps here.
    const n = 100_000;
    const key = encoder.encode("a".repeat(n));
    const budget = { steps: 1000 };
    assertEquals(
      new Glob(encoder.encode(`*${"?".repeat(n - 1)}b`)).match(key, 0, n, budget),
      false,
    );
    assertEquals(new Glob(encoder.encode(`a*${"?".repeat(n - 2)}`)).match(key, 0, n, budget), true);
    // And a rest longer than the text is not tried at all.
    assertEquals(new Glob(encoder.encode(`*a*${"?".repeat(n)}*`)).match(key, 0, n, budget), false);
    assertEquals(budget.steps > 900, true, `${budget.steps} steps left`);
  },
});

Deno.test({
  name:
    "Glob stops when its budget runs out: a * before pieces that fail late costs their length each time",
  permissions: "none",
  fn() {
    const n = 8_000;
    const key = encoder.encode("a".repeat(n));
    const glob = new Glob(encoder.encode(`*${"[a]".repeat(n / 2)}b*`));
    const budget = { steps: 100_000 };
    assertEquals(glob.match(key, 0, n, budget), undefined);
    assertEquals(budget.steps < 0, true);
    // Given all it needs (n / 2 tries of n / 2 pieces), it answers as Redis would.
    assertEquals(glob.match(key, 0, n, { steps: n * n }), false);
    // A run of ? is one step: the same pattern with ? in place of [a] costs little.
    assertEquals(
      new Glob(encoder.encode(`*${"?".repeat(n / 2)}b*`)).match(key, 0, n, { steps: 3 * n }),
      false,
    );
  },
});
