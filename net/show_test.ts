/** Tests of show.ts: how a peer's bytes are shown on a terminal. Pure. */

import { assert, assertEquals, assertMatch } from "@std/assert";
import {
  escapeForTerminal,
  escapeInvisible,
  keepEnds,
  show,
  showAsBytes,
  SHOWN_END_BYTES,
} from "./show.ts";

Deno.test({
  name:
    "show() escapes control bytes, invalid UTF-8 and invisible spaces, keeps Korean, and shortens",
  permissions: "none",
  fn: () => {
    assertEquals(show("Success!\r\n"), '"Success!\\r\\n"');
    assertEquals(show('a"b\\c\t'), '"a\\"b\\\\c\\t"');
    assertEquals(show(new Uint8Array([0x41, 0xff, 0xc3, 0x00, 0x1b])), '"A\\xff\\xc3\\x00\\x1b"');
    assertEquals(show("\u00a0사과 🍎\u3000"), '"\\u{a0}사과 🍎\\u{3000}"');
    const long = show("x".repeat(1_000_000) + "END", { maxChars: 60 });
    assert(long.length <= 60, long);
    assertMatch(long, /^"x+…\(1000003 bytes\)…x+END"$/);
    // A long Korean tail is shown as characters, not cut bytes.
    const korean = show("x".repeat(10_000) + "사과".repeat(100), { maxChars: 60 });
    assertMatch(korean, /^"x+…\(10600 bytes\)…[사과]+"$/);
  },
});

Deno.test({
  name: "show() and escapeInvisible() write C1 controls and bidi overrides as code points",
  permissions: "none",
  fn: () => {
    // U+009B is a C1 CSI (a terminal's escape sequence), U+202E reverses a line.
    assertEquals(show("a\u009b31mb\u202ec"), '"a\\u{9b}31mb\\u{202e}c"');
    assertEquals(
      escapeInvisible('"a\u009b31m b\u202ec\u2066"'),
      '"a\\u{9b}31m b\\u{202e}c\\u{2066}"',
    );
    assertEquals(escapeInvisible("사과 🍎"), "사과 🍎");
  },
});

Deno.test({
  name: "escapeForTerminal() keeps lines and tabs, and escapes what would take over a terminal",
  permissions: "none",
  fn: () => {
    // A title, a clear screen, an OSC 52 clipboard write: a value anyone could have stored.
    assertEquals(
      escapeForTerminal("v\u001b]0;owned\u0007\u001b[2J\tok\n사과\r\n"),
      "v\\x1b]0;owned\\x07\\x1b[2J\tok\n사과\\x0d\n",
    );
    assertEquals(escapeForTerminal("a\u009b2Jb\u202ec\u2028d"), "a\\u{9b}2Jb\\u{202e}c\\u{2028}d");
    // Text that only looks invisible is kept: joiners, a no-break and a full-width space.
    const text = "👨\u200d👩\u200d👧 می\u200cخواهم a\u00a0b 사과\u3000배";
    assertEquals(escapeForTerminal(text), text);
  },
});

Deno.test({
  name: "keepEnds() keeps what show() shows of a long answer, which says its whole size",
  permissions: "none",
  fn: () => {
    const long = new Uint8Array(1_000_000).fill(0x61);
    long.set(new TextEncoder().encode("START"), 0);
    long.set(new TextEncoder().encode("END"), long.length - 3);
    const kept = keepEnds(long);
    assertEquals(kept.length, 2 * SHOWN_END_BYTES);
    for (const maxChars of [60, 120, 4_000]) {
      assertEquals(show(kept, { maxChars, totalBytes: long.length }), show(long, { maxChars }));
    }
    const short = new Uint8Array(100);
    assertEquals(keepEnds(short), short);
  },
});

Deno.test({
  name:
    "showAsBytes() shows every byte past ASCII as \\xNN, never as the characters it might decode to",
  permissions: "none",
  fn: () => {
    // "홍길동" in cp949: c8 ab is also U+022B in UTF-8, and would show as "ȫ".
    assertEquals(
      showAsBytes(new Uint8Array([0xc8, 0xab, 0xb1, 0xe6, 0x20, 0x22, 0x5c, 0x0d, 0x0a])),
      '"\\xc8\\xab\\xb1\\xe6 \\"\\\\\\r\\n"',
    );
    assertEquals(showAsBytes(new Uint8Array(50).fill(0x61)), `"${"a".repeat(48)}…(50 bytes)"`);
  },
});
