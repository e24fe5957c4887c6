/**
 * Tests for line_reader.ts: the framing rules of PROTOCOL.md ("Requests" and
 * the line limit), checked on bytes split every possible way. Pure: every
 * test runs with `permissions: "none"`.
 */

import { assert, assertEquals, assertFalse, assertThrows } from "@std/assert";
import { type LineProblem, LineReader, type LineSink } from "./line_reader.ts";
import { bytes } from "./test_util.ts";

/** What a sink saw: a decoded line, or a problem. */
type Event = { line: string } | { bad: LineProblem };

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A sink that records every event; it asks to stop after `stopAfter` events. */
class Recorder implements LineSink {
  readonly events: Event[] = [];
  readonly #stopAfter: number;

  constructor(stopAfter = Infinity) {
    this.#stopAfter = stopAfter;
  }

  line(bytes: Uint8Array, start: number, end: number): boolean {
    assert(0 <= start && start <= end && end <= bytes.length, `bad bounds ${start}..${end}`);
    // The reader promises valid UTF-8: a strict decode must not throw.
    this.events.push({ line: strict.decode(bytes.subarray(start, end)) });
    return this.events.length < this.#stopAfter;
  }

  bad(problem: LineProblem): boolean {
    this.events.push({ bad: problem });
    return this.events.length < this.#stopAfter;
  }
}

/** Pushes `chunk` to a sink that never stops the reader: it must take all of it. */
function pushAll(reader: LineReader, chunk: Uint8Array, sink: LineSink): void {
  assertEquals(reader.push(chunk, sink), chunk.length, "push took less than the chunk");
}

/**
 * Feeds `chunks` in order and returns the events. Checks after every push that
 * the reader holds no more than its limit (PROTOCOL.md: "holding no more than
 * the limit in memory").
 */
function feed(maxLineBytes: number, chunks: Uint8Array[]): Event[] {
  const reader = new LineReader(maxLineBytes);
  const sink = new Recorder();
  for (const chunk of chunks) {
    pushAll(reader, chunk, sink);
    assert(
      reader.pendingBytes <= maxLineBytes,
      `holding ${reader.pendingBytes} bytes, over the limit ${maxLineBytes}`,
    );
  }
  return sink.events;
}

/**
 * Like {@linkcode feed}, with a sink that stops the reader after every line
 * (as the server does to write its answers) and pushes the rest again.
 */
function feedStopping(maxLineBytes: number, chunks: Uint8Array[]): Event[] {
  const reader = new LineReader(maxLineBytes);
  const sink = new Recorder(0);
  for (const chunk of chunks) {
    for (let taken = 0; taken < chunk.length;) {
      const took = reader.push(chunk.subarray(taken), sink);
      assert(took > 0, "push took nothing");
      taken += took;
    }
  }
  return sink.events;
}

const line = (text: string): Event => ({ line: text });
const INVALID: Event = { bad: "invalid-utf8" };
const TOO_LONG: Event = { bad: "too-long" };

/** Every way to cut `input` into two chunks, and into three. */
function* splits(input: Uint8Array): Generator<[string, Uint8Array[]]> {
  for (let i = 0; i <= input.length; i++) {
    yield [`at ${i}`, [input.subarray(0, i), input.subarray(i)]];
  }
  for (let i = 1; i < input.length; i++) {
    for (let j = i; j < input.length; j++) {
      yield [`at ${i} and ${j}`, [input.subarray(0, i), input.subarray(i, j), input.subarray(j)]];
    }
  }
}

/** Feeds `input` whole, byte by byte and split every way; each must give `expected`. */
function assertEverySplit(maxLineBytes: number, input: Uint8Array, expected: Event[]): void {
  assertEquals(feed(maxLineBytes, [input]), expected, "whole");
  assertEquals(feedStopping(maxLineBytes, [input]), expected, "whole, stopped after every line");
  const single = [...input].map((byte) => Uint8Array.of(byte));
  assertEquals(feed(maxLineBytes, single), expected, "byte by byte");
  for (const [name, chunks] of splits(input)) {
    assertEquals(feed(maxLineBytes, chunks), expected, `split ${name}`);
    assertEquals(feedStopping(maxLineBytes, chunks), expected, `split ${name}, stopped`);
  }
}

Deno.test({
  name: "LineReader.push() gives the same lines however the bytes are split",
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
  name: "LineReader.push() drops a \\r only right before \\n",
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
  name: "LineReader.push() reports a line that is not UTF-8 and reads the lines around it",
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
  name: "LineReader.push() reports an over-limit line once, skips to \\n, then reads on",
  permissions: "none",
  fn: async (t) => {
    await t.step("reported as soon as the limit is passed, before its \\n", () => {
      const reader = new LineReader(8);
      const sink = new Recorder();
      pushAll(reader, bytes("12345678"), sink);
      assertEquals(sink.events, [], "exactly at the limit is not yet too long");
      pushAll(reader, bytes("9"), sink);
      assertEquals(sink.events, [TOO_LONG]);
      assertEquals(reader.pendingBytes, 0, "the skipped line is not held");
      pushAll(reader, bytes("more and more, PING"), sink);
      pushAll(reader, bytes([0xff, 0xfe], "\r"), sink);
      assertEquals(sink.events, [TOO_LONG], "reported once, skipped bytes ignored");
      assertEquals(reader.pendingBytes, 0);
      pushAll(reader, bytes("tail\nok\n"), sink);
      assertEquals(sink.events, [TOO_LONG, line("ok")]);
    });
    await t.step("reported at once when one chunk passes the limit", () => {
      const reader = new LineReader(8);
      const sink = new Recorder();
      pushAll(reader, bytes("ok\n123456789"), sink);
      assertEquals(sink.events, [line("ok"), TOO_LONG]);
      pushAll(reader, bytes("\nnext\n"), sink);
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
      const reader = new LineReader(1024);
      const sink = new Recorder();
      const block = new Uint8Array(700).fill(0x41);
      for (let i = 0; i < 100; i++) {
        pushAll(reader, block, sink);
        assert(reader.pendingBytes <= 1024);
      }
      pushAll(reader, bytes("\nPING\n"), sink);
      assertEquals(sink.events, [TOO_LONG, line("PING")]);
    });
    await t.step("a limit of 1 byte", () => {
      assertEverySplit(1, bytes("a\nab\n\nb\n"), [line("a"), TOO_LONG, line(""), line("b")]);
    });
  },
});

Deno.test({
  name: "LineReader.flush() ends a partial line",
  permissions: "none",
  fn: async (t) => {
    await t.step("the held bytes become a line", () => {
      const reader = new LineReader(64);
      const sink = new Recorder();
      pushAll(reader, bytes("PUT, k, "), sink);
      pushAll(reader, bytes("값"), sink);
      assertEquals(sink.events, []);
      assert(reader.flush(sink));
      assertEquals(sink.events, [line("PUT, k, 값")]);
      assertEquals(reader.pendingBytes, 0);
    });
    await t.step("nothing held: nothing happens", () => {
      const reader = new LineReader(64);
      const sink = new Recorder();
      assert(reader.flush(sink));
      pushAll(reader, bytes("a\n"), sink);
      assert(reader.flush(sink));
      assertEquals(sink.events, [line("a")]);
    });
    await t.step("bytes after a flush start a new line", () => {
      const reader = new LineReader(64);
      const sink = new Recorder();
      pushAll(reader, bytes("PING"), sink);
      assert(reader.flush(sink));
      pushAll(reader, bytes("GET, k\n"), sink);
      assertEquals(sink.events, [line("PING"), line("GET, k")]);
    });
    await t.step("a character cut off by the end of the stream is not UTF-8", () => {
      const reader = new LineReader(64);
      const sink = new Recorder();
      pushAll(reader, bytes("GET, ", [0xed, 0x82]), sink);
      assert(reader.flush(sink));
      assertEquals(sink.events, [INVALID]);
    });
    await t.step("while skipping an over-limit line, flush() emits nothing", () => {
      const reader = new LineReader(4);
      const sink = new Recorder();
      pushAll(reader, bytes("123456"), sink);
      assert(reader.flush(sink));
      assertEquals(sink.events, [TOO_LONG]);
    });
  },
});

Deno.test({
  name: "LineReader.sawNewline and pendingBytes track the partial line",
  permissions: "none",
  fn: () => {
    const reader = new LineReader(64);
    const sink = new Recorder();
    assertFalse(reader.sawNewline);
    assertEquals(reader.pendingBytes, 0);
    reader.push(bytes("PUT, k, "), sink);
    assertFalse(reader.sawNewline);
    assertEquals(reader.pendingBytes, 8);
    reader.push(bytes("값"), sink);
    assertFalse(reader.sawNewline);
    assertEquals(reader.pendingBytes, 11);
    reader.flush(sink);
    assertFalse(reader.sawNewline, "a flush is not a newline");
    assertEquals(reader.pendingBytes, 0);
    reader.push(bytes("\r"), sink);
    assertEquals(reader.pendingBytes, 1);
    reader.push(bytes("\nGET"), sink);
    assert(reader.sawNewline);
    assertEquals(reader.pendingBytes, 3);
    reader.push(bytes(", k\nPING\n"), sink);
    assert(reader.sawNewline);
    assertEquals(reader.pendingBytes, 0);
    assertEquals(sink.events, [line("PUT, k, 값"), line(""), line("GET, k"), line("PING")]);
  },
});

Deno.test({
  name: "LineReader.sawNewline counts the \\n that ends a skipped line",
  permissions: "none",
  fn: () => {
    const reader = new LineReader(4);
    const sink = new Recorder();
    reader.push(bytes("123456"), sink);
    assertFalse(reader.sawNewline);
    reader.push(bytes("78\n"), sink);
    assert(reader.sawNewline);
    assertEquals(sink.events, [TOO_LONG]);
  },
});

Deno.test({
  name: "LineReader.push() stops right after the line the sink returns false for, and says where",
  permissions: "none",
  fn: async (t) => {
    // [name, chunks, stop after this many events, bytes taken of each chunk, events]
    const cases: [string, Uint8Array[], number, number[], Event[]][] = [
      ["a line, among lines of one chunk", [bytes("a\nQUIT\nb\nc\n")], 2, [7], [
        line("a"),
        line("QUIT"),
      ]],
      ["a line completed across chunks", [bytes("a\nQU"), bytes("IT\nb\n")], 2, [4, 3], [
        line("a"),
        line("QUIT"),
      ]],
      ["a bad line", [bytes([0xff], "\nb\n")], 1, [2], [INVALID]],
      ["a bad line among good ones", [bytes("a\n", [0xff], "\nb\n")], 2, [4], [
        line("a"),
        INVALID,
      ]],
      [
        "an over-limit line completed across chunks",
        [bytes("12345678"), bytes("901234567\nb\n")],
        1,
        [8, 10],
        [TOO_LONG],
      ],
      // The rest of the chunk belongs to the over-limit line: all is taken.
      ["an over-limit line still streaming in", [bytes("a\n12345678901234567")], 2, [19], [
        line("a"),
        TOO_LONG,
      ]],
      ["an over-limit line in one chunk", [bytes("1234567890123456789\nb\n")], 1, [20], [
        TOO_LONG,
      ]],
    ];
    for (const [name, chunks, stopAfter, taken, expected] of cases) {
      await t.step(name, () => {
        const reader = new LineReader(16);
        const sink = new Recorder(stopAfter);
        // The caller feeds chunks until its sink stops the reader.
        assertEquals(chunks.map((chunk) => reader.push(chunk, sink)), taken);
        assertEquals(sink.events, expected);
      });
    }
    await t.step("pushing the rest goes on from there", () => {
      const reader = new LineReader(16);
      const sink = new Recorder(1);
      const chunk = bytes("a\nb\r\nc");
      assertEquals(reader.push(chunk, sink), 2);
      assertEquals(reader.push(chunk.subarray(2), sink), 3);
      assertEquals(reader.push(chunk.subarray(5), sink), 1);
      assertEquals(reader.pendingBytes, 1);
      assertEquals(sink.events, [line("a"), line("b")]);
    });
    await t.step("flush() passes the sink's false on", () => {
      const reader = new LineReader(16);
      const sink = new Recorder(1);
      pushAll(reader, bytes("QUIT"), sink);
      assertFalse(reader.flush(sink));
      assertEquals(sink.events, [line("QUIT")]);
    });
  },
});

Deno.test({
  name: "LineReader.push() keeps a U+FEFF BOM at the start of a line",
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
  name: "new LineReader() rejects a limit that is not a positive integer",
  permissions: "none",
  fn: () => {
    for (const limit of [0, -1, 1.5, NaN, Infinity, 2 ** 53]) {
      assertThrows(() => new LineReader(limit), RangeError, undefined, String(limit));
    }
    assertEquals(new LineReader(1).maxLineBytes, 1);
  },
});
