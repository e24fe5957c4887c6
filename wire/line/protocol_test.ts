/**
 * Contract tests for the line protocol, table-driven from PROTOCOL.md:
 * answering (the command table through reply.ts), LIST, and the client's
 * side (encode.ts): what it must read, and how it encodes requests.
 * Parsing has its own tests (parse_test.ts). Pure: every test runs with
 * `permissions: "none"`, which proves the protocol does no I/O.
 */

import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { Request as Frame } from "../../command/request.ts";
import { execute } from "../../command/execute.ts";
import { testContext, textStore } from "../../testing/mod.ts";
import type { TextStore } from "../../store/text.ts";
import { AnswerBuffer } from "../answer_buffer.ts";
import { answerShape, encodeRequest as encodeLine, parseListLine } from "./encode.ts";
import { parseLine } from "./parse.ts";
import { errorLine, LineReply } from "./reply.ts";
import { parseRequest, type PlainRequest } from "../../testing/line_requests.ts";

/** The whole answer to one line (`""` for a blank line): parse, execute, reply, as the server does. */
function answer(line: string, store: TextStore): string {
  const bytes = new TextEncoder().encode(line);
  const frame = new Frame();
  if (!parseLine(bytes, 0, bytes.length, frame)) return "";
  const out = new AnswerBuffer();
  const reply = new LineReply(out);
  const context = testContext(store.store);
  const more = execute(frame, context, reply);
  while (more !== undefined && !more.step(reply));
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(out.bytes());
}

/** Encodes a request object with the table-driven encoder. */
function encodeRequest(request: Sendable): string {
  const args = "value" in request
    ? [request.key, request.value]
    : "key" in request
    ? [request.key]
    : [];
  return encodeLine(request.kind, ...args);
}

// The error texts of PROTOCOL.md, spelled out here (not imported) so that the
// tests hold the code to the document rather than to itself.
const HINT = "(expected PUT, GET, DELETE, LIST, PING or QUIT)";
const unknown = (quoted: string) => `unknown command ${quoted} ${HINT}`;

/** Runs `lines` against `store` one by one (through parseLine() and execute()) and returns every answer. */
function run(store: TextStore, lines: string[]): string[] {
  return lines.map((line) => {
    const text = answer(line, store);
    if (text === "") throw new Error(`blank: ${JSON.stringify(line)}`);
    return text;
  });
}

Deno.test({
  name: "answer() (parseLine() and execute()) answers every request with the contract's exact text",
  permissions: "none",
  fn: async (t) => {
    const store = textStore();
    const cases: [string, string][] = [
      ["PING", "PONG\n"],
      ["GET, myname", "Not exist!\n"],
      ["DELETE, myname", "Not exist!\n"],
      ["PUT, myname, yyjun", "Success!\n"],
      ["GET, myname", "yyjun\n"],
      ["PUT, myname, jun", "Success!\n"],
      ["GET, myname", "jun\n"],
      ["PUT, greeting, hello, world", "Success!\n"],
      ["GET, greeting", "hello, world\n"],
      ["PUT, empty,", "Success!\n"],
      ["GET, empty", "\n"],
      ["PUT, 키\0, 값 😀", "Success!\n"],
      ["GET, 키\0", "값 😀\n"],
      ["GET, 키", "Not exist!\n"],
      ["DELETE, myname", "Success!\n"],
      ["DELETE, myname", "Not exist!\n"],
      ["GET, myname", "Not exist!\n"],
      ["QUIT", "Bye!\n"],
      ["FOO", `Error: ${unknown('"FOO"')}\n`],
      [", a", `Error: ${unknown('""')}\n`],
      ["PUT, k", "Error: usage: PUT, key, value\n"],
      ["GET, a,", "Error: usage: GET, key\n"],
      ["DELETE", "Error: usage: DELETE, key\n"],
      ["LIST, x", "Error: usage: LIST\n"],
      ["PING, x", "Error: usage: PING\n"],
      ["QUIT, x", "Error: usage: QUIT\n"],
      ["PUT, , v", "Error: key must not be empty\n"],
    ];
    for (const [line, answer] of cases) {
      await t.step(JSON.stringify(line), () => {
        assertEquals(run(store, [line]), [answer]);
      });
    }
    await t.step("an invalid request changes nothing", () => {
      const before = store.entries();
      run(store, ["PUT, , v", "GET, empty,", "DELETE, greeting, x", "FOO, greeting"]);
      assertEquals(store.entries(), before);
    });
    await t.step("errorLine() makes one Error: line of a failure", () => {
      assertEquals(errorLine({ kind: "invalidUtf8" }), "Error: request is not valid UTF-8\n");
    });
    await t.step("a blank line gets no answer", () => {
      assertEquals(answer(" \t ", store), "");
    });
  },
});

Deno.test({
  name: "answer() answers a PUT the store has no room for with one Error line",
  permissions: "none",
  fn: () => {
    const store = textStore({ maxArenaBytes: 1024 });
    const big = "x".repeat(600);
    assertEquals(run(store, [`PUT, a, ${big}`]), ["Success!\n"]);
    const full = run(store, [`PUT, b, ${big}`])[0]!;
    assert(full.startsWith("Error: ") && full.endsWith("\n"), full);
    assertEquals(full.split("\n").length, 2, "one line");
    assertEquals(run(store, ["GET, b", "GET, a"]), ["Not exist!\n", `${big}\n`]);
  },
});

/** Splits a LIST answer into its pair lines, checking the ending empty line. */
function listLines(answer: string): string[] {
  assert(answer.endsWith("\n\n"), `LIST answer must end with an empty line: ${answer}`);
  return answer.slice(0, -2).split("\n");
}

Deno.test({
  name: "answer() answers LIST with key, value lines then an empty line",
  permissions: "none",
  fn: async (t) => {
    const store = textStore();
    await t.step("empty store: Not exist! then an empty line", () => {
      assertEquals(run(store, ["LIST"]), ["Not exist!\n\n"]);
    });
    await t.step("one pair", () => {
      run(store, ["PUT, a, 1"]);
      assertEquals(run(store, ["LIST"]), ["a, 1\n\n"]);
    });
    await t.step("many pairs, in any order, each line non-empty", () => {
      run(store, [
        "PUT, b, hello, world",
        "PUT, empty,",
        "PUT, 키, 값",
        "PUT, e\0, 😀",
        "PUT, a, 2",
      ]);
      const lines = listLines(run(store, ["LIST"])[0]!);
      assertEquals(lines.toSorted(), [
        "a, 2",
        "b, hello, world",
        "e\0, 😀",
        "empty, ",
        "키, 값",
      ]);
    });
    await t.step("after deleting everything: Not exist! again", () => {
      run(store, ["DELETE, a", "DELETE, b", "DELETE, empty", "DELETE, 키", "DELETE, e\0"]);
      assertEquals(run(store, ["LIST"]), ["Not exist!\n\n"]);
    });
  },
});

Deno.test({
  name: "LIST answers and parseListLine() round-trip every pair",
  permissions: "none",
  fn: async (t) => {
    const pairs: [string, string][] = [
      ["a", "1"],
      ["greeting", "hello, world"],
      ["empty", ""],
      ["sep", ", , ,"],
      ["키", "값 😀"],
      ["n\0l", "\0"],
      ["spa ce", "in side"],
      ["\vk", "v\f"],
    ];
    const store = textStore();
    for (const [key, value] of pairs) store.set(key, value);
    await t.step("one line per pair then an empty line", () => {
      assertEquals(
        listLines(answer("LIST", store)).toSorted(),
        pairs.map(([k, v]) => `${k}, ${v}`).toSorted(),
      );
    });
    await t.step("parseListLine() reads each line back", () => {
      const lines = listLines(answer("LIST", store));
      assertEquals(new Map(lines.map(parseListLine)), new Map(pairs));
    });
    await t.step("parseListLine() throws SyntaxError on a line without ', '", () => {
      for (const line of ["Not exist!", "", "a,b", "ab "]) {
        assertThrows(() => parseListLine(line), SyntaxError);
      }
    });
  },
});

Deno.test({
  name: "answerShape() says what a client must read",
  permissions: "none",
  fn: async (t) => {
    const cases: [string, ReturnType<typeof answerShape>][] = [
      ["", "none"],
      ["   ", "none"],
      [" \t ", "none"],
      ["LIST", "list"],
      [" list\t", "list"],
      ["LIST, x", "line"], // an error: one line
      ["PUT, k, v", "line"],
      ["GET, k", "line"],
      ["DELETE, k", "line"],
      ["PING", "line"],
      ["QUIT", "line"],
      ["FOO", "line"],
      [", a", "line"],
      ["\v", "line"],
      ["GET, a,", "line"],
    ];
    for (const [line, shape] of cases) {
      await t.step(JSON.stringify(line), () => {
        assertEquals(answerShape(line), shape);
      });
    }
  },
});

type Sendable = Exclude<PlainRequest, { kind: "invalid" }>;

Deno.test({
  name: "encodeRequest() encodes every request as one line the server parses back",
  permissions: "none",
  fn: async (t) => {
    const cases: [Sendable, string][] = [
      [{ kind: "put", key: "myname", value: "yyjun" }, "PUT, myname, yyjun\n"],
      [{ kind: "put", key: "k", value: "" }, "PUT, k, \n"],
      [{ kind: "put", key: "greeting", value: "hello, world" }, "PUT, greeting, hello, world\n"],
      [{ kind: "put", key: "키\0", value: "값 😀" }, "PUT, 키\0, 값 😀\n"],
      [{ kind: "put", key: "\vk", value: "\u00a0v\f" }, "PUT, \vk, \u00a0v\f\n"],
      [{ kind: "put", key: "a b", value: "c\td" }, "PUT, a b, c\td\n"],
      [{ kind: "get", key: "myname" }, "GET, myname\n"],
      [{ kind: "delete", key: "myname" }, "DELETE, myname\n"],
      [{ kind: "list" }, "LIST\n"],
      [{ kind: "ping" }, "PING\n"],
      [{ kind: "quit" }, "QUIT\n"],
    ];
    for (const [request, wire] of cases) {
      await t.step(JSON.stringify(request), () => {
        assertEquals(encodeRequest(request), wire);
        assertEquals(parseRequest(wire.slice(0, -1)), request);
      });
    }
  },
});

Deno.test({
  name: "encodeRequest() throws RangeError for what the protocol cannot carry",
  permissions: "none",
  fn: async (t) => {
    const cases: [string, Sendable][] = [
      ["empty key (PUT)", { kind: "put", key: "", value: "v" }],
      ["empty key (GET)", { kind: "get", key: "" }],
      ["empty key (DELETE)", { kind: "delete", key: "" }],
      ["comma in key", { kind: "put", key: "a,b", value: "v" }],
      ["comma in GET key", { kind: "get", key: "a,b" }],
      ["comma in DELETE key", { kind: "delete", key: "," }],
      ["newline in key", { kind: "put", key: "a\nb", value: "v" }],
      ["newline in GET key", { kind: "get", key: "a\n" }],
      ["CRLF in key", { kind: "delete", key: "a\r\nb" }],
      ["trailing CR in key", { kind: "get", key: "a\r" }],
      ["newline in value", { kind: "put", key: "k", value: "a\nb" }],
      ["CRLF in value", { kind: "put", key: "k", value: "a\r\nb" }],
      ["trailing CR in value", { kind: "put", key: "k", value: "v\r" }],
      ["leading space in key", { kind: "put", key: " k", value: "v" }],
      ["trailing tab in key", { kind: "get", key: "k\t" }],
      ["spaces-only key", { kind: "delete", key: "  " }],
      ["leading tab in value", { kind: "put", key: "k", value: "\tv" }],
      ["trailing space in value", { kind: "put", key: "k", value: "v " }],
      ["spaces-only value", { kind: "put", key: "k", value: " " }],
    ];
    for (const [name, request] of cases) {
      await t.step(name, () => {
        const error = assertThrows(() => encodeRequest(request), RangeError);
        assertStringIncludes(error.message, "Cannot send");
      });
    }
  },
});
