/**
 * Tests for the RESP framer: requests found in place however the bytes are
 * split, inline commands, and Redis's protocol errors. Pure.
 */

import { assert, assertEquals } from "@std/assert";
import { Request } from "../../command/request.ts";
import { RespFramer } from "./framer.ts";
import { splitInline } from "./inline.ts";
import { resp } from "../../testing/resp.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Seen = string[] | { error: string };

/** Feeds `chunks` (copied, then scribbled over, as a read buffer is reused) and collects the requests. */
function frame(
  chunks: Uint8Array[],
  maxRequestBytes = 1024,
  auth?: { authenticated: boolean },
): Seen[] {
  const framer = new RespFramer(maxRequestBytes, auth);
  const request = new Request();
  const seen: Seen[] = [];
  for (const chunk of chunks) {
    const copy = chunk.slice();
    framer.feed(copy);
    while (framer.next(request)) {
      if (request.command === undefined) {
        const failure = request.failure!;
        seen.push({
          error: failure.kind === "protocol" || failure.kind === "redis"
            ? failure.text
            : failure.kind,
        });
        continue;
      }
      const words = [request.command.name];
      for (let i = 0; i < request.count; i++) words.push(request.text(i));
      seen.push(words);
    }
    copy.fill(0x2a);
  }
  return seen;
}

Deno.test({
  name: "RespFramer.next() finds the same requests however the bytes are split",
  permissions: "none",
  fn: () => {
    const input = encoder.encode(
      resp("SET", "키", "값 with\r\nCRLF") + resp("get", "키") + "PING\r\n" + resp("ECHO", "") +
        "*0\r\n*-1\r\n*-9223372036854775808\r\n" + resp("DEL", "a", "b"),
    );
    const expected: Seen[] = [
      ["SET", "키", "값 with\r\nCRLF"],
      ["GET", "키"],
      ["PING"],
      ["ECHO", ""],
      ["DEL", "a", "b"],
    ];
    assertEquals(frame([input]), expected);
    for (let i = 0; i <= input.length; i++) {
      for (const j of [i, Math.min(input.length, i + 1), Math.min(input.length, i + 7)]) {
        const chunks = [input.subarray(0, i), input.subarray(i, j), input.subarray(j)];
        assertEquals(frame(chunks), expected, `split at ${i} and ${j}`);
      }
    }
  },
});

Deno.test({
  name:
    "RespFramer.next() resumes a request split over many reads: 1-byte and 100-byte reads give the same requests",
  permissions: "none",
  fn: () => {
    const keys = Array.from({ length: 500 }, (_, i) => "k".repeat(i % 13));
    const input = encoder.encode(
      resp("SET", "k", "v".repeat(300)) + resp("MGET", ...keys) + "PING\r\n" + resp("GET", "x"),
    );
    const expected: Seen[] = [["SET", "k", "v".repeat(300)], ["MGET", ...keys], ["PING"], [
      "GET",
      "x",
    ]];
    for (const size of [1, 2, 7, 100, 4096]) {
      const chunks = [];
      for (let at = 0; at < input.length; at += size) chunks.push(input.subarray(at, at + size));
      assertEquals(frame(chunks, 8192), expected, `reads of ${size} bytes`);
    }
  },
});

Deno.test({
  name: "RespFramer.next() refuses a request past the limit, headers and all, in one read or many",
  permissions: "none",
  fn: () => {
    const fits = resp("SET", "k", "v".repeat(73)); // 100 bytes, headers and all
    assertEquals(encoder.encode(fits).length, 100);
    assertEquals(frame([encoder.encode(fits)], 100), [["SET", "k", "v".repeat(73)]]);
    assertEquals(frame([encoder.encode(resp("SET", "k", "v".repeat(74)))], 100), [
      {
        error:
          "ERR Protocol error: request too large (limit 100 bytes a request: --max-line-bytes)",
      },
    ]);
    // Twenty short strings: each far below the limit, the whole past it.
    const mset = encoder.encode(resp("MSET", ...Array.from({ length: 20 }, (_, i) => `k${i}`)));
    const tooLarge = [{
      error: "ERR Protocol error: request too large (limit 100 bytes a request: --max-line-bytes)",
    }];
    assertEquals(frame([mset], 100), tooLarge);
    const bytes = [...mset].map((byte) => new Uint8Array([byte]));
    assertEquals(frame(bytes, 100), tooLarge);
    // An inline command too, whole or cut.
    const inline = encoder.encode(`SET k ${"v".repeat(500)}\r\n`);
    assertEquals(
      frame([resp("PING"), inline].map((x) => typeof x === "string" ? encoder.encode(x) : x), 100),
      [
        ["PING"],
        ...tooLarge,
      ],
    );
    assertEquals(frame([encoder.encode(resp("PING")), inline.subarray(0, 300)], 100), [
      ["PING"],
      ...tooLarge,
    ]);
  },
});

/** A request that counts the arguments the framer adds to it. */
class CountingRequest extends Request {
  added = 0;
  override addArg(start: number, end: number): void {
    this.added++;
    super.addArg(start, end);
  }
}

Deno.test({
  name: "RespFramer.next() parses each element of a request split over many reads once",
  permissions: "none",
  fn: () => {
    const keys = Array.from({ length: 2_000 }, () => "a");
    const input = encoder.encode(resp("MGET", ...keys));
    const framer = new RespFramer(1024 * 1024);
    const request = new CountingRequest();
    let requests = 0;
    for (let at = 0; at < input.length; at++) {
      framer.feed(input.slice(at, at + 1));
      while (framer.next(request)) requests++;
    }
    assertEquals([requests, request.count], [1, 2_000]);
    // Parsed again from its start on every read, it would be 13,995,000.
    assertEquals(request.added, 2_000);
  },
});

Deno.test({
  name: "RespFramer.next() parses a split request again from its start for another Request",
  permissions: "none",
  fn: () => {
    const framer = new RespFramer(1024);
    framer.feed(encoder.encode("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv"));
    assertEquals(framer.next(new Request()), false);
    framer.feed(encoder.encode("v\r\n"));
    const other = new Request();
    assert(framer.next(other));
    assertEquals([other.command?.name, other.text(0), other.text(1)], ["SET", "k", "vv"]);
  },
});

Deno.test({
  name: "RespFramer.next() answers a broken frame with Redis's protocol error, and then nothing",
  permissions: "none",
  fn: async (t) => {
    const cases: [string, string][] = [
      ["*1\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'"],
      ["*x\r\n", "ERR Protocol error: invalid multibulk length"],
      ["*-0\r\n", "ERR Protocol error: invalid multibulk length"], // Redis's string2ll
      ["*01\r\n", "ERR Protocol error: invalid multibulk length"],
      // Past a 64-bit integer: not a number to Redis either, however negative.
      ["*-9223372036854775809\r\n", "ERR Protocol error: invalid multibulk length"],
      ["*-99999999999999999999\r\n", "ERR Protocol error: invalid multibulk length"],
      ["*1\r\n$-99999999999999999999\r\n", "ERR Protocol error: invalid bulk length"],
      ["*1\r\n$-0\r\n", "ERR Protocol error: invalid bulk length"],
      [`*${1024 * 1024 + 1}\r\n`, "ERR Protocol error: invalid multibulk length"],
      ["*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length"],
      ["*1\r\n$abc\r\n", "ERR Protocol error: invalid bulk length"],
      // Over kv's 1024-byte limit (and within Redis's): which limit it is.
      [
        "*1\r\n$2000\r\n",
        "ERR Protocol error: invalid bulk length (limit 1024 bytes a request: --max-line-bytes)",
      ],
      // Over Redis's own 512 MiB too: Redis's words.
      ["*1\r\n$536870913\r\n", "ERR Protocol error: invalid bulk length"],
      ['SET k "unclosed\r\n', "ERR Protocol error: unbalanced quotes in request"],
    ];
    for (const [input, error] of cases) {
      await t.step(JSON.stringify(input), () => {
        assertEquals(frame([encoder.encode(input + resp("PING"))]), [{ error }]);
      });
    }
    await t.step("a string past Redis's 512 MiB, whatever kv's own limit", () => {
      assertEquals(frame([encoder.encode(`*1\r\n$${512 * 1024 * 1024 + 1}\r\n`)], 2 ** 30), [
        { error: "ERR Protocol error: invalid bulk length" },
      ]);
    });
    await t.step("a header line with no end in 64 KiB", () => {
      const long = `*${"1".repeat(70 * 1024)}`;
      assertEquals(frame([encoder.encode(long)]), [
        { error: "ERR Protocol error: too big mbulk count string" },
      ]);
    });
    await t.step("an inline request with no end in 64 KiB", () => {
      assertEquals(frame([encoder.encode("x".repeat(70 * 1024))], 1024 * 1024), [
        { error: "ERR Protocol error: too big inline request" },
      ]);
    });
  },
});

Deno.test({
  name:
    "RespFramer.next() holds a client that has not authenticated to 10 strings of 16 KiB, as Redis 7",
  permissions: "none",
  fn: async (t) => {
    const locked = { authenticated: false };
    const unauthenticated = (what: string) => `ERR Protocol error: unauthenticated ${what} length`;
    const cases: [string, string][] = [
      ["*11\r\n", unauthenticated("multibulk")],
      // Redis checks its own limits first: past them the length is invalid.
      [`*${1024 * 1024 + 1}\r\n`, unauthenticated("multibulk")],
      ["*2147483648\r\n", "ERR Protocol error: invalid multibulk length"],
      ["*1\r\n$16385\r\n", unauthenticated("bulk")],
      ["*1\r\n$536870913\r\n", "ERR Protocol error: invalid bulk length"],
      ["*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length"],
    ];
    for (const [input, error] of cases) {
      await t.step(JSON.stringify(input), () => {
        assertEquals(frame([encoder.encode(input + resp("PING"))], 1024 * 1024, locked), [{
          error,
        }]);
      });
    }
    await t.step("up to the limits, and past them once authenticated", () => {
      const ten = Array(9).fill("x".repeat(16 * 1024));
      const eleven = [...ten, "y"];
      const auth = { authenticated: false };
      const framer = new RespFramer(1024 * 1024, auth);
      const request = new Request();
      framer.feed(encoder.encode(resp("MGET", ...ten) + resp("MGET", ...eleven)));
      assert(framer.next(request));
      assertEquals(request.count, 9);
      auth.authenticated = true; // As AUTH, run between the two, would.
      assert(framer.next(request));
      assertEquals(request.count, 10);
    });
  },
});

Deno.test({
  name: "RespFramer.next() checks arity and names unknown commands as Redis does",
  permissions: "none",
  fn: () => {
    assertEquals(frame([encoder.encode(resp("GET") + resp("FOO", "a", "b"))]), [
      { error: "usage" },
      { error: "unknownCommand" },
    ]);
  },
});

Deno.test({
  name: "RespFramer holds no more than one request while it waits for the rest",
  permissions: "none",
  fn: () => {
    const framer = new RespFramer(1024);
    const request = new Request();
    framer.feed(encoder.encode(resp("PING") + "*2\r\n$3\r\nGET"));
    assert(framer.next(request));
    assertEquals(framer.next(request), false);
    assertEquals(framer.pendingBytes, 11, "only the partial request is kept");
    framer.feed(encoder.encode("\r\n$1\r\nk\r\n"));
    assert(framer.next(request));
    assertEquals([request.command?.name, request.text(0)], ["GET", "k"]);
    assertEquals(framer.pendingBytes, 0);
  },
});

Deno.test({
  name: "splitInline() splits words, quotes and escapes as Redis's sdssplitargs",
  permissions: "none",
  fn: () => {
    const split = (text: string) => {
      const bytes = encoder.encode(text);
      return splitInline(bytes, 0, bytes.length)?.map((word) => decoder.decode(word)) ?? null;
    };
    assertEquals(split("SET  k\tv"), ["SET", "k", "v"]);
    // \v and \f: skipped between words, kept inside one (Redis: ECHO\ta\vb echoes "a\vb").
    assertEquals(split("\vECHO\ta\vb\f c"), ["ECHO", "a\vb\f", "c"]);
    assertEquals(split(`SET k "a b\\n\\x41"`), ["SET", "k", "a b\nA"]);
    assertEquals(split(`SET k 'it\\'s'`), ["SET", "k", "it's"]);
    assertEquals(split(`SET k ab"cd"`), ["SET", "k", "abcd"]);
    assertEquals(split(`SET k "open`), null);
    assertEquals(split(`SET k "a"b`), null, "a closing quote must end the word");
    assertEquals(split("   "), []);
  },
});
