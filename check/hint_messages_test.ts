/**
 * Tests of the hints said after a run's summary (`hint_messages.ts`).
 *
 * @module
 */

import { assertEquals, assertStringIncludes } from "@std/assert";
import {
  closedUnansweredHint,
  encodingHint,
  unansweredHint,
  waitsForNewlineHint,
} from "./hint_messages.ts";

Deno.test({
  name:
    "encodingHint() shows answers that are not UTF-8 as bytes, and as cp949 where they read as Korean",
  permissions: "none",
  fn: () => {
    const cp949 = new Uint8Array([0xbb, 0xe7, 0xb0, 0xfa, 0x0a]); // "사과\n"
    assertEquals(
      encodingHint("en", 2, cp949),
      'Hint: in 2 rules your server answered bytes that are not UTF-8 ("\\xbb\\xe7\\xb0\\xfa\\n" reads ' +
        'as cp949: "사과\\n"). PROTOCOL.md\'s text is UTF-8: encode answers with .encode() or ' +
        '.encode("utf-8"), not "cp949", and decode requests with .decode("utf-8").\n',
    );
    assertStringIncludes(encodingHint("ko", 1, cp949), 'cp949로 읽으면 "사과\\n"');
    const latin1 = new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]);
    assertEquals(
      encodingHint("en", 1, latin1),
      'Hint: in 1 rule your server answered bytes that are not UTF-8 ("caf\\xe9\\n"). ' +
        'PROTOCOL.md\'s text is UTF-8: encode answers with .encode() or .encode("utf-8"), and ' +
        'decode requests with .decode("utf-8").\n',
    );
  },
});

Deno.test({
  name:
    "the hints for a request a client's code stopped at name the ValueError of unpacking too many or too few fields",
  permissions: "none",
  fn: () => {
    // `_, key, value = words` on "PUT, k, Back End" split on spaces: the commonest one.
    for (const hint of [closedUnansweredHint, unansweredHint]) {
      assertStringIncludes(
        hint("en", ["a.list"]),
        "a ValueError of cmd, key, value = fields with more or fewer fields, KeyError",
      );
      assertStringIncludes(
        hint("ko", ["a.list"]),
        "필드 수가 다를 때 cmd, key, value = fields가 일으키는 ValueError, KeyError",
      );
    }
  },
});

Deno.test({
  name:
    "waitsForNewlineHint() says how a Python server takes a paused line, and that readline() waits for the \\n",
  permissions: "none",
  fn: () => {
    assertStringIncludes(
      waitsForNewlineHint("en", 13),
      "in Python, conn.settimeout(0.1) while a line has no \\n yet, and take what came as the " +
        "request when recv() raises socket.timeout",
    );
    assertStringIncludes(
      waitsForNewlineHint("en", 13),
      "readline() on the file makefile() returns is what waits for the \\n",
    );
    assertStringIncludes(
      waitsForNewlineHint("ko", 13),
      "recv()가 socket.timeout을 일으키면 그때까지 온 것을 요청으로 받으면 됩니다",
    );
  },
});
