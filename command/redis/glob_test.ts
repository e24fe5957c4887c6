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
