/** Tests for glob.ts against the cases Redis's own tests use. Pure. */

import { assertEquals } from "@std/assert";
import { globMatch } from "./glob.ts";

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
