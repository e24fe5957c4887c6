/** Tests for trace.ts: the plain and aligned forms of a trace line, and the escaped preview. Pure. */

import { assertEquals } from "@std/assert";
import { formatTrace, preview, traceStyle } from "./trace.ts";

const encoder = new TextEncoder();
const event = { who: "#12", ms: 0.41249, event: "recv", detail: 'bytes=5 "PING\\n"' };

Deno.test({
  name: "formatTrace() writes a plain line for scripts, and aligned columns for a terminal",
  permissions: "none",
  fn: async (t) => {
    await t.step("plain: the word trace, then fields split by single spaces", () => {
      assertEquals(formatTrace(event), 'trace #12 +0.412ms recv bytes=5 "PING\\n"');
      assertEquals(
        formatTrace({ who: "client", ms: 3, event: "close", detail: "" }),
        "trace client +3.000ms close",
      );
    });
    await t.step("aligned: padded columns, no colour", () => {
      const aligned = { aligned: true };
      assertEquals(
        formatTrace(event, aligned),
        '#12        +0.412ms  recv       bytes=5 "PING\\n"',
      );
      assertEquals(
        formatTrace({ ...event, who: "server", ms: 1234.5, event: "shutdown" }, aligned),
        'server  +1234.500ms  shutdown   bytes=5 "PING\\n"',
      );
    });
    await t.step("coloured: the same text inside ANSI colours", () => {
      const line = formatTrace(event, { aligned: true, colour: true });
      assertEquals(
        line,
        '\x1b[2m#12        +0.412ms\x1b[0m  \x1b[36mrecv       \x1b[0mbytes=5 "PING\\n"',
      );
      // deno-lint-ignore no-control-regex
      assertEquals(line.replace(/\x1b\[\d+m/g, ""), formatTrace(event, { aligned: true }));
    });
    await t.step("traceStyle(): aligned on a terminal, coloured there unless NO_COLOR", () => {
      assertEquals(traceStyle(true, false), { aligned: true, colour: true });
      assertEquals(traceStyle(true, true), { aligned: true, colour: false });
      assertEquals(traceStyle(false, false), { aligned: false, colour: false });
    });
  },
});

Deno.test({
  name: "preview() quotes bytes on one line, escaped, cut with what was left out",
  permissions: "none",
  fn: async (t) => {
    const of = (bytes: Uint8Array, max?: number) => preview(bytes, 0, bytes.length, max);
    await t.step("text, Korean and the usual escapes", () => {
      assertEquals(
        of(encoder.encode('PUT, 과일, "사과"\r\n\t\\')),
        '"PUT, 과일, \\"사과\\"\\r\\n\\t\\\\"',
      );
    });
    await t.step("a control byte or a byte that is not UTF-8 as \\xNN", () => {
      assertEquals(
        of(Uint8Array.from([0x41, 0x00, 0x1b, 0x7f, 0xff, 0xc3, 0x41])),
        '"A\\x00\\x1b\\x7f\\xff\\xc3A"',
      );
    });
    await t.step("a character that would not show as itself as \\u{…}", () => {
      // A C1 CSI (a terminal escape sequence), a bidi override that reverses the line.
      assertEquals(of(encoder.encode("a\u009b31mb\u202ec")), '"a\\u{9b}31mb\\u{202e}c"');
    });
    await t.step("a character cut short by the end is bytes", () => {
      const han = encoder.encode("한");
      assertEquals(of(han.subarray(0, 2)), '"\\xed\\x95"');
    });
    await t.step("past the limit, cut, saying how many bytes were left out", () => {
      assertEquals(of(encoder.encode("abcdefgh"), 3), '"abc"...(+5 bytes)');
      assertEquals(of(encoder.encode("abc"), 3), '"abc"');
      assertEquals(preview(encoder.encode("xxabcxx"), 2, 5), '"abc"');
    });
  },
});
