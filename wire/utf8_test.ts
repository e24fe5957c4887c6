/**
 * Unit tests of {@linkcode isUtf8From}: every verdict the same as the
 * strict TextDecoder's, for sequences built to hit each boundary.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { isUtf8From, readAsCp949 } from "./utf8.ts";

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
function decoderSays(bytes: Uint8Array): boolean {
  try {
    strict.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "isUtf8From() agrees with the strict decoder at every boundary of every length",
  permissions: "none",
  fn() {
    const interesting = [
      0x00,
      0x41,
      0x7f,
      0x80,
      0x8f,
      0x90,
      0x9f,
      0xa0,
      0xbf,
      0xc0,
      0xc1,
      0xc2,
      0xdf,
      0xe0,
      0xe1,
      0xec,
      0xed,
      0xee,
      0xef,
      0xf0,
      0xf1,
      0xf3,
      0xf4,
      0xf5,
      0xff,
    ];
    let checked = 0;
    // Every sequence of 1 to 3 such bytes, and every 4-byte one from a lead.
    const check = (bytes: number[]) => {
      const array = new Uint8Array([0x78, ...bytes, 0x78]); // Framed: start and end are honoured.
      assertEquals(
        isUtf8From(array, 1, array.length - 1),
        decoderSays(array.subarray(1, -1)),
        `${bytes}`,
      );
      checked++;
    };
    for (const a of interesting) {
      check([a]);
      for (const b of interesting) {
        check([a, b]);
        for (const c of interesting) {
          check([a, b, c]);
          if (a >= 0xf0) { for (const d of interesting) check([a, b, c, d]); }
        }
      }
    }
    assertEquals(checked > 20_000, true);
  },
});

Deno.test({
  name: "isUtf8From() takes Korean text, emoji and a BOM, and refuses a cut one, long or short",
  permissions: "none",
  fn() {
    const encoder = new TextEncoder();
    for (const text of ["사과", "ok 😀", "bom\uFEFF", "é".repeat(600), "키".repeat(400)]) {
      const bytes = encoder.encode(text);
      assertEquals(isUtf8From(bytes, 0, bytes.length), true, text.slice(0, 10));
      assertEquals(isUtf8From(bytes, 0, bytes.length - 1), false, `${text.slice(0, 10)} cut`);
    }
  },
});

Deno.test({
  name: "readAsCp949() reads Korean in cp949, and nothing else: not UTF-8, not Latin-1",
  permissions: "none",
  fn: () => {
    assertEquals(readAsCp949(new Uint8Array([0xbb, 0xe7, 0xb0, 0xfa, 0x0a])), "사과\n");
    assertEquals(readAsCp949(new TextEncoder().encode("사과")), undefined, "UTF-8");
    // "Ángel" in Latin-1: cp949's extension would read c1 6e as "햚".
    assertEquals(readAsCp949(new Uint8Array([0xc1, 0x6e, 0x67, 0x65, 0x6c])), undefined);
    assertEquals(readAsCp949(new TextEncoder().encode("plain")), undefined, "no Korean in it");
    assertEquals(readAsCp949(new Uint8Array([0xbb])), undefined, "half a pair");
  },
});
