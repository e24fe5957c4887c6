/**
 * Tests for lines.ts: the framing rules of PROTOCOL.md ("Requests" and the
 * line limit), checked on bytes split every possible way (the feeding and
 * recording is testing/line_splitter.ts's). Pure: every test runs with
 * `permissions: "none"`.
 */

import { assert, assertEquals, assertFalse, assertThrows } from "@std/assert";
import { bytes } from "../../testing/mod.ts";
import {
  assertEverySplit,
  drain,
  type Event,
  feed,
  flush,
  INVALID,
  line,
  pushAll,
  Recorder,
  splits,
  TOO_LONG,
} from "../../testing/line_splitter.ts";
import { LineSplitter } from "./lines.ts";

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

Deno.test({
  name: "LineSplitter.next() gives the same lines however the bytes are split",
  permissions: "none",
  fn: async (t) => {
    const input = bytes(
      "PUT, 키, 값\r\n", // CRLF, and a Korean character to split inside
      "a\rb\n", // a lone \r is kept
      "\ufeffPING\n", // a BOM is kept
      "emoji 😀\r\n",
      "\n",
      "\r\n",
      [0xff, 0x0a], // not UTF-8
      "GET, 한\n",
      "x\r\r\n", // only the \r right before \n is dropped
      "last\n",
    );
    const expected = [
      line("PUT, 키, 값"),
      line("a\rb"),
      line("\ufeffPING"),
      line("emoji 😀"),
      line(""),
      line(""),
      INVALID,
      line("GET, 한"),
      line("x\r"),
      line("last"),
    ];
    await t.step("splits at every byte position, into two and into three chunks", () => {
      assertEverySplit(1024, input, expected);
    });
    await t.step("many lines in one chunk come out in order", () => {
      const lines = Array.from({ length: 5000 }, (_, i) => `PUT, k${i}, 값${i}`);
      assertEquals(
        feed(1024, [bytes(lines.join("\r\n") + "\n")]),
        lines.map(line),
      );
    });
  },
});

Deno.test({
  name: "LineSplitter.next() drops a \\r only right before \\n",
  permissions: "none",
  fn: async (t) => {
    const cases: [string, Event[]][] = [
      ["a\r\n", [line("a")]],
      ["a\n", [line("a")]],
      ["\r\n", [line("")]],
      ["a\rb\n", [line("a\rb")]],
      ["\ra\n", [line("\ra")]],
      ["a\r\r\n", [line("a\r")]],
      ["a\r \n", [line("a\r ")]],
      ["a\n\r\n", [line("a"), line("")]],
      ["a\r\nb\r\n", [line("a"), line("b")]],
    ];
    for (const [input, expected] of cases) {
      await t.step(JSON.stringify(input), () => {
        assertEverySplit(1024, bytes(input), expected);
      });
    }
  },
});

Deno.test({
  name: "LineSplitter.next() reports a line that is not UTF-8 and reads the lines around it",
  permissions: "none",
  fn: async (t) => {
    const bad: [string, number[]][] = [
      ["invalid byte 0xFF", [0xff]],
      ["lone continuation byte", [0x80]],
      ["overlong '/'", [0xc0, 0xaf]],
      ["overlong NUL", [0xc0, 0x80]],
      ["UTF-16 surrogate", [0xed, 0xa0, 0x80]],
      ["above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
      ["truncated Korean character", [0xec, 0x95]],
      ["truncated character before \\r", [0xec, 0x95, 0x0d]],
      ["valid text around a bad byte", [0x50, 0x55, 0x54, 0x2c, 0xfe, 0x20, 0x76]],
    ];
    for (const [name, badBytes] of bad) {
      await t.step(`${name}, among good lines in one chunk`, () => {
        assertEquals(
          feed(64, [bytes("good, 가\n", badBytes, "\nfine\r\n", badBytes, "\r\nend\n")]),
          [line("good, 가"), INVALID, line("fine"), INVALID, line("end")],
        );
      });
      await t.step(`${name}, split every way`, () => {
        assertEverySplit(
          64,
          bytes("a\n", badBytes, "\nb\n"),
          [line("a"), INVALID, line("b")],
        );
      });
    }
  },
});

Deno.test({
  name: "LineSplitter.next() reports an over-limit line once, skips to \\n, then reads on",
  permissions: "none",
  fn: async (t) => {
    await t.step("reported as soon as the limit is passed, before its \\n", () => {
      const splitter = new LineSplitter(8);
      const sink = new Recorder();
      pushAll(splitter, bytes("12345678"), sink);
      assertEquals(sink.events, [], "exactly at the limit is not yet too long");
      pushAll(splitter, bytes("9"), sink);
      assertEquals(sink.events, [TOO_LONG]);
      assertEquals(splitter.pendingBytes, 0, "the skipped line is not held");
      pushAll(splitter, bytes("more and more, PING"), sink);
      pushAll(splitter, bytes([0xff, 0xfe], "\r"), sink);
      assertEquals(sink.events, [TOO_LONG], "reported once, skipped bytes ignored");
      assertEquals(splitter.pendingBytes, 0);
      pushAll(splitter, bytes("tail\nok\n"), sink);
      assertEquals(sink.events, [TOO_LONG, line("ok")]);
    });
    await t.step("reported at once when one chunk passes the limit", () => {
      const splitter = new LineSplitter(8);
      const sink = new Recorder();
      pushAll(splitter, bytes("ok\n123456789"), sink);
      assertEquals(sink.events, [line("ok"), TOO_LONG]);
      pushAll(splitter, bytes("\nnext\n"), sink);
      assertEquals(sink.events, [line("ok"), TOO_LONG, line("next")]);
    });
    await t.step("an over-limit line with its \\n in the same chunk", () => {
      assertEquals(
        feed(8, [bytes("a\n123456789abc\nb\n")]),
        [line("a"), TOO_LONG, line("b")],
      );
    });
    await t.step("a line exactly at the limit is accepted", () => {
      assertEverySplit(8, bytes("12345678\n"), [line("12345678")]);
    });
    await t.step("the \\r counts toward the limit", () => {
      assertEverySplit(8, bytes("1234567\r\n"), [line("1234567")]);
      assertEverySplit(8, bytes("12345678\r\n"), [TOO_LONG]);
    });
    await t.step("the limit counts bytes, not characters", () => {
      assertEverySplit(9, bytes("가나다\n"), [line("가나다")]);
      assertEverySplit(8, bytes("가나다\n"), [TOO_LONG]);
      assertEverySplit(8, bytes("😀😀\n"), [line("😀😀")]);
      assertEverySplit(8, bytes("😀😀a\n"), [TOO_LONG]);
    });
    await t.step("a mix of lines split every way", () => {
      assertEverySplit(
        8,
        bytes("ok\n123456789abc\nfine\n12345678\n1234567\r\n가나다\n\n\nend\n"),
        [
          line("ok"),
          TOO_LONG,
          line("fine"),
          line("12345678"),
          line("1234567"),
          TOO_LONG,
          line(""),
          line(""),
          line("end"),
        ],
      );
    });
    await t.step("a huge line is held to the limit while it streams in", () => {
      const splitter = new LineSplitter(1024);
      const sink = new Recorder();
      const block = new Uint8Array(700).fill(0x41);
      for (let i = 0; i < 100; i++) {
        pushAll(splitter, block, sink);
        assert(splitter.pendingBytes <= 1024);
      }
      pushAll(splitter, bytes("\nPING\n"), sink);
      assertEquals(sink.events, [TOO_LONG, line("PING")]);
    });
    await t.step("a limit of 1 byte", () => {
      assertEverySplit(1, bytes("a\nab\n\nb\n"), [line("a"), TOO_LONG, line(""), line("b")]);
    });
  },
});

Deno.test({
  name: "LineSplitter.endLine() ends a partial line",
  permissions: "none",
  fn: async (t) => {
    await t.step("the held bytes become a line", () => {
      const splitter = new LineSplitter(64);
      const sink = new Recorder();
      pushAll(splitter, bytes("PUT, k, "), sink);
      pushAll(splitter, bytes("값"), sink);
      assertEquals(sink.events, []);
      assert(flush(splitter, sink));
      assertEquals(sink.events, [line("PUT, k, 값")]);
      assertEquals(splitter.pendingBytes, 0);
    });
    await t.step("nothing held: nothing happens", () => {
      const splitter = new LineSplitter(64);
      const sink = new Recorder();
      assert(flush(splitter, sink));
      pushAll(splitter, bytes("a\n"), sink);
      assert(flush(splitter, sink));
      assertEquals(sink.events, [line("a")]);
    });
    await t.step("bytes after a flush start a new line", () => {
      const splitter = new LineSplitter(64);
      const sink = new Recorder();
      pushAll(splitter, bytes("PING"), sink);
      assert(flush(splitter, sink));
      pushAll(splitter, bytes("GET, k\n"), sink);
      assertEquals(sink.events, [line("PING"), line("GET, k")]);
    });
    await t.step("a character cut off by the end of the stream is not UTF-8", () => {
      const splitter = new LineSplitter(64);
      const sink = new Recorder();
      pushAll(splitter, bytes("GET, ", [0xed, 0x82]), sink);
      assert(flush(splitter, sink));
      assertEquals(sink.events, [INVALID]);
    });
    await t.step("while skipping an over-limit line, endLine() emits nothing", () => {
      const splitter = new LineSplitter(4);
      const sink = new Recorder();
      pushAll(splitter, bytes("123456"), sink);
      assert(flush(splitter, sink));
      assertEquals(sink.events, [TOO_LONG]);
    });
  },
});

Deno.test({
  name: "LineSplitter.sawNewline and pendingBytes track the partial line",
  permissions: "none",
  fn: () => {
    const splitter = new LineSplitter(64);
    const sink = new Recorder();
    assertFalse(splitter.sawNewline);
    assertEquals(splitter.pendingBytes, 0);
    pushAll(splitter, bytes("PUT, k, "), sink);
    assertFalse(splitter.sawNewline);
    assertEquals(splitter.pendingBytes, 8);
    pushAll(splitter, bytes("값"), sink);
    assertFalse(splitter.sawNewline);
    assertEquals(splitter.pendingBytes, 11);
    flush(splitter, sink);
    assertFalse(splitter.sawNewline, "a flush is not a newline");
    assertEquals(splitter.pendingBytes, 0);
    pushAll(splitter, bytes("\r"), sink);
    assertEquals(splitter.pendingBytes, 1);
    pushAll(splitter, bytes("\nGET"), sink);
    assert(splitter.sawNewline);
    assertEquals(splitter.pendingBytes, 3);
    pushAll(splitter, bytes(", k\nPING\n"), sink);
    assert(splitter.sawNewline);
    assertEquals(splitter.pendingBytes, 0);
    assertEquals(sink.events, [line("PUT, k, 값"), line(""), line("GET, k"), line("PING")]);
  },
});

Deno.test({
  name: "LineSplitter.sawNewline counts the \\n that ends a skipped line",
  permissions: "none",
  fn: () => {
    const splitter = new LineSplitter(4);
    const sink = new Recorder();
    pushAll(splitter, bytes("123456"), sink);
    assertFalse(splitter.sawNewline);
    pushAll(splitter, bytes("78\n"), sink);
    assert(splitter.sawNewline);
    assertEquals(sink.events, [TOO_LONG]);
  },
});

Deno.test({
  name: "LineSplitter.next() hands out one line per call, in place, and copies only a partial line",
  permissions: "none",
  fn: () => {
    const splitter = new LineSplitter(64);
    const chunk = bytes("a\nQUIT\nb\nc");
    splitter.feed(chunk);
    assertEquals(splitter.next(), "line");
    assertEquals(splitter.bytes, chunk, "a whole line is handed out in the chunk itself");
    assertEquals([splitter.start, splitter.end], [0, 1]);
    assertEquals(splitter.next(), "line");
    assertEquals([splitter.start, splitter.end], [2, 6]);
    assertEquals(splitter.pendingBytes, 0, "nothing is copied before it is needed");
    assertEquals(splitter.next(), "line");
    assertEquals(splitter.next(), null);
    assertEquals(splitter.pendingBytes, 1, "the partial line is copied once the chunk is done");
    chunk.fill(0x0a);
    splitter.feed(bytes("d\n"));
    assertEquals(splitter.next(), "line");
    assertEquals(strict.decode(splitter.bytes.subarray(splitter.start, splitter.end)), "cd");
    assertEquals(splitter.next(), null);
  },
});

Deno.test({
  name: "LineSplitter.next() keeps a U+FEFF BOM at the start of a line",
  permissions: "none",
  fn: async (t) => {
    await t.step("first line, split every way", () => {
      assertEverySplit(64, bytes("\ufeffPING\n"), [line("\ufeffPING")]);
    });
    await t.step("later lines, and two BOMs", () => {
      assertEquals(
        feed(64, [bytes("a\n\ufeffb\n\ufeff\ufeffc\n")]),
        [line("a"), line("\ufeffb"), line("\ufeff\ufeffc")],
      );
    });
    await t.step("in a line completed across chunks", () => {
      assertEquals(
        feed(64, [bytes("\ufeffPU"), bytes("T, k, v\n")]),
        [line("\ufeffPUT, k, v")],
      );
    });
  },
});

Deno.test({
  name: "new LineSplitter() rejects a limit that is not a positive integer",
  permissions: "none",
  fn: () => {
    for (const limit of [0, -1, 1.5, NaN, Infinity, 2 ** 53]) {
      assertThrows(() => new LineSplitter(limit), RangeError, undefined, String(limit));
    }
    assertEquals(new LineSplitter(1).maxLineBytes, 1);
  },
});

Deno.test({
  name: "LineSplitter.next() finds a bad byte anywhere in a long run, at any alignment",
  permissions: "none",
  fn: () => {
    // Runs of 64 bytes and more are checked four bytes at a time: a bad
    // byte must be found wherever it falls, and however the chunk is placed
    // in its buffer.
    const good = "PUT, k, 가나다 abcdefghijklmnopqrstuvwxyz 0123456789\n".repeat(4);
    for (let offset = 0; offset < 4; offset++) {
      for (let at = 0; at < good.length; at += 7) {
        const bytes = new TextEncoder().encode(good);
        if (bytes[at] === 0x0a) continue;
        bytes[at] = 0xff;
        const placed = new Uint8Array(bytes.length + offset);
        placed.set(bytes, offset);
        const splitter = new LineSplitter(1024);
        const sink = new Recorder();
        splitter.feed(placed.subarray(offset)); // in place: the alignment is the test's
        drain(splitter, sink);
        const bad = sink.events.filter((event) => "bad" in event);
        assertEquals(bad, [INVALID], `at ${at}, +${offset}`);
        assertEquals(sink.events.length, 4);
      }
    }
  },
});

Deno.test({
  name: "LineSplitter.next() hands out a line that is not UTF-8 too (without its \\r), to show it",
  permissions: "none",
  fn: () => {
    const input = bytes("ok\n", [0x63, 0x61, 0x66, 0xe9], "\r\n", "x\n", [0xff]);
    const expected = ["line ok", "invalid-utf8 63,61,66,e9", "line x", "invalid-utf8 ff"];
    const hex = (line: Uint8Array) => [...line].map((byte) => byte.toString(16)).join(",");
    const ways: [string, Uint8Array[]][] = [["whole", [input]], ...splits(input)];
    for (const [name, chunks] of ways) {
      const splitter = new LineSplitter(64);
      const seen: string[] = [];
      const take = () => {
        for (let kind = splitter.next(); kind !== null; kind = splitter.next()) {
          const line = splitter.bytes.subarray(splitter.start, splitter.end);
          seen.push(kind === "line" ? `line ${strict.decode(line)}` : `${kind} ${hex(line)}`);
        }
      };
      for (const chunk of chunks) {
        splitter.feed(chunk);
        take();
      }
      splitter.endLine(); // The last line has no \n: the end of the stream ends it.
      take();
      assertEquals(seen, expected, name);
    }
  },
});
