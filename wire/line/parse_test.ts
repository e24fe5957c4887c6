/**
 * Contract tests for parsing the line protocol, table-driven from
 * PROTOCOL.md: the client's parseRequest() (encode.ts) and the server's
 * parseLine() (parse.ts) read every request the same way, and echo a bad
 * command word short and on one line. Pure: every test runs with
 * `permissions: "none"`, which proves the protocol does no I/O.
 */

import { assert, assertEquals } from "@std/assert";
import { parseAt, parseRequest, type PlainRequest } from "../../testing/line_requests.ts";

// The error texts of PROTOCOL.md, spelled out here (not imported) so that the
// tests hold the code to the document rather than to itself.
const HINT = "(expected PUT, GET, DELETE, LIST, PING or QUIT)";
const unknown = (quoted: string) => `unknown command ${quoted} ${HINT}`;
const invalid = (message: string): PlainRequest => ({ kind: "invalid", message });
const USAGE_PUT = invalid("usage: PUT, key, value");
const USAGE_GET = invalid("usage: GET, key");
const USAGE_DELETE = invalid("usage: DELETE, key");
const USAGE_LIST = invalid("usage: LIST");
const USAGE_PING = invalid("usage: PING");
const USAGE_QUIT = invalid("usage: QUIT");
const EMPTY_KEY = invalid("key must not be empty");

type Case = [line: string, expected: PlainRequest | null];

/** The error message of `line`, which must be a bad request. */
function errorOf(line: string): string {
  const request = parseRequest(line);
  if (request?.kind !== "invalid") {
    throw new Error(
      `expected an error for ${JSON.stringify(line)}, got ${JSON.stringify(request)}`,
    );
  }
  return request.message;
}

/** Runs each case as a step named after its (escaped) input line. */
async function table(t: Deno.TestContext, cases: Case[]): Promise<void> {
  for (const [line, expected] of cases) {
    await t.step(JSON.stringify(line), () => {
      assertEquals(parseRequest(line), expected);
    });
  }
}

/** The parseRequest() tables: [test name, cases]. */
const PARSE_TABLES: [name: string, cases: Case[]][] = [
  [
    "parseRequest() parses every request row of the contract",
    [
      ["PUT, myname, yyjun", { kind: "put", key: "myname", value: "yyjun" }],
      ["GET, myname", { kind: "get", key: "myname" }],
      ["DELETE, myname", { kind: "delete", key: "myname" }],
      ["LIST", { kind: "list" }],
      ["PING", { kind: "ping" }],
      ["QUIT", { kind: "quit" }],
    ],
  ],
  [
    "parseRequest() trims spaces and tabs only",
    [
      // The three spellings PROTOCOL.md calls the same request.
      ["PUT, myname, yyjun", { kind: "put", key: "myname", value: "yyjun" }],
      ["PUT,myname,yyjun", { kind: "put", key: "myname", value: "yyjun" }],
      ["  put ,myname,  yyjun ", { kind: "put", key: "myname", value: "yyjun" }],
      ["\tGET\t,\t k \t", { kind: "get", key: "k" }],
      [" \t DELETE \t, \tk", { kind: "delete", key: "k" }],
      ["  LIST  ", { kind: "list" }],
      ["\tPING\t", { kind: "ping" }],
      ["QUIT ", { kind: "quit" }],
      ["PUT, a b , c \t d", { kind: "put", key: "a b", value: "c \t d" }],
      // Other whitespace is part of the field.
      ["GET, \vk\f", { kind: "get", key: "\vk\f" }],
      ["GET, \u00a0k\u00a0", { kind: "get", key: "\u00a0k\u00a0" }],
      ["GET, \u3000k\u2003", { kind: "get", key: "\u3000k\u2003" }],
      ["GET, k\r", { kind: "get", key: "k\r" }],
      ["PUT, k, \v v \f", { kind: "put", key: "k", value: "\v v \f" }],
      ["PUT, \u00a0, \u00a0", { kind: "put", key: "\u00a0", value: "\u00a0" }],
      ["\vPING", invalid(unknown('"\\u000bPING"'))],
      ["PING\f", invalid(unknown('"PING\\f"'))],
      ["\u00a0PING", invalid(unknown('"\u00a0PING"'))],
      ["PING\u00a0", invalid(unknown('"PING\u00a0"'))],
      ["\u3000LIST", invalid(unknown('"\u3000LIST"'))],
      ["\ufeffPING", invalid(unknown('"\ufeffPING"'))],
    ],
  ],
  [
    "parseRequest() folds the command word by ASCII case only",
    [
      ["put, k, v", { kind: "put", key: "k", value: "v" }],
      ["pUt, k, v", { kind: "put", key: "k", value: "v" }],
      ["get, k", { kind: "get", key: "k" }],
      ["GeT, k", { kind: "get", key: "k" }],
      ["delete, k", { kind: "delete", key: "k" }],
      ["DeLeTe, k", { kind: "delete", key: "k" }],
      ["list", { kind: "list" }],
      ["lIsT", { kind: "list" }],
      ["ping", { kind: "ping" }],
      ["Ping", { kind: "ping" }],
      ["quit", { kind: "quit" }],
      ["qUIT", { kind: "quit" }],
      // Keys and values keep their case.
      ["put, Key, VaLuE", { kind: "put", key: "Key", value: "VaLuE" }],
      // Non-ASCII letters that Unicode would fold onto ASCII stay unknown.
      ["lıst", invalid(unknown('"lıst"'))], // dotless i
      ["LİST", invalid(unknown('"LİST"'))], // dotted capital I
      ["liſt", invalid(unknown('"liſt"'))], // long s: "liſt".toUpperCase() === "LIST"
      ["PİNG", invalid(unknown('"PİNG"'))],
      ["ｐｕｔ, k, v", invalid(unknown('"ｐｕｔ"'))], // fullwidth
      // Near misses: | 0x20 folding must not match other characters.
      ["P@T, k, v", invalid(unknown('"P@T"'))],
      ["PU\x14, k, v", invalid(unknown('"PU\\u0014"'))],
      ["PUTS, k, v", invalid(unknown('"PUTS"'))],
      ["PU, k", invalid(unknown('"PU"'))],
      ["DELETED, k", invalid(unknown('"DELETED"'))],
    ],
  ],
  [
    "parseRequest() takes PUT's value as everything after the second comma",
    [
      ["PUT, greeting, hello, world", { kind: "put", key: "greeting", value: "hello, world" }],
      ["PUT, k, a,,b , ", { kind: "put", key: "k", value: "a,,b ," }],
      ["PUT, k, ,", { kind: "put", key: "k", value: "," }],
      ["PUT, k,", { kind: "put", key: "k", value: "" }],
      ["PUT, k, ", { kind: "put", key: "k", value: "" }],
      ["PUT,k,\t \t", { kind: "put", key: "k", value: "" }],
      ["PUT, 키, 값 😀", { kind: "put", key: "키", value: "값 😀" }],
      ["PUT, a\0b, \0", { kind: "put", key: "a\0b", value: "\0" }],
      ["PUT, 🇰🇷, 한국, 대한민국", { kind: "put", key: "🇰🇷", value: "한국, 대한민국" }],
    ],
  ],
  [
    "parseRequest() returns null for a blank line only",
    [
      ["", null],
      [" ", null],
      ["\t", null],
      ["  \t \t  ", null],
      // Not blank: other whitespace, or a comma.
      ["\v", invalid(unknown('"\\u000b"'))],
      ["\f", invalid(unknown('"\\f"'))],
      ["\r", invalid(unknown('"\\r"'))],
      ["\u00a0", invalid(unknown('"\u00a0"'))],
      [",", invalid(unknown('""'))],
      [" , ", invalid(unknown('""'))],
    ],
  ],
  [
    "parseRequest() rejects a wrong number of fields with the command's usage",
    [
      ["PUT", USAGE_PUT],
      ["PUT, k", USAGE_PUT],
      ["put,k", USAGE_PUT],
      ["GET", USAGE_GET],
      ["GET, a,", USAGE_GET],
      ["GET, a, b", USAGE_GET],
      ["GET, a, b, c", USAGE_GET],
      ["DELETE", USAGE_DELETE],
      ["DELETE, a,", USAGE_DELETE],
      ["DELETE, a, b", USAGE_DELETE],
      ["LIST, x", USAGE_LIST],
      ["LIST,", USAGE_LIST],
      ["LIST, ", USAGE_LIST],
      ["PING, x", USAGE_PING],
      ["ping ,", USAGE_PING],
      ["QUIT, x", USAGE_QUIT],
      ["QUIT,", USAGE_QUIT],
    ],
  ],
  [
    "parseRequest() rejects an empty key",
    [
      ["PUT, , v", EMPTY_KEY],
      ["PUT,,v", EMPTY_KEY],
      ["PUT, \t , v", EMPTY_KEY],
      ["PUT,,", EMPTY_KEY],
      ["GET,", EMPTY_KEY],
      ["GET, ", EMPTY_KEY],
      ["GET,\t", EMPTY_KEY],
      ["DELETE,", EMPTY_KEY],
      ["DELETE,  ", EMPTY_KEY],
    ],
  ],
  [
    "parseRequest() rejects an unknown or empty command, echoing it quoted",
    [
      ["FOO", invalid(unknown('"FOO"'))],
      ["FOO, a, b", invalid(unknown('"FOO"'))],
      ["  foo  , a", invalid(unknown('"foo"'))],
      [", a", invalid(unknown('""'))],
      [",a,b", invalid(unknown('""'))],
      ["\t, a", invalid(unknown('""'))],
      ['SAY "hi"', invalid(unknown('"SAY \\"hi\\""'))],
      ["명령", invalid(unknown('"명령"'))],
    ],
  ],
];

for (const [name, cases] of PARSE_TABLES) {
  Deno.test({ name, permissions: "none", fn: (t) => table(t, cases) });
}

Deno.test({
  name: "parseLine() parses a line in place, blind to the bytes around it",
  permissions: "none",
  fn: async (t) => {
    // Commas, blanks and command words on either side must not leak in.
    const before = new TextEncoder().encode("PUT, x, y,\t");
    const after = new TextEncoder().encode(" ,GET, z\nLIST, ,");
    for (const [line, expected] of PARSE_TABLES.flatMap(([, cases]) => cases)) {
      await t.step(JSON.stringify(line), () => {
        const bytes = new TextEncoder().encode(line);
        const around = new Uint8Array(before.length + bytes.length + after.length);
        around.set(before);
        around.set(bytes, before.length);
        around.set(after, before.length + bytes.length);
        assertEquals(parseAt(around, before.length, before.length + bytes.length), expected);
        assertEquals(parseAt(bytes, 0, bytes.length), expected);
      });
    }
  },
});

Deno.test({
  name: "parseRequest() echoes a long unknown command word truncated",
  permissions: "none",
  fn: async (t) => {
    for (
      const [name, word] of [
        ["ASCII", "X".repeat(1024 * 1024)],
        ["Korean", "가".repeat(5000)],
        ["emoji (surrogate pairs)", "😀".repeat(5000)],
      ] as const
    ) {
      await t.step(name, () => {
        const message = errorOf(`${word}, k, v`);
        const char = [...word][0]!;
        assert(message.startsWith(`unknown command "${char.repeat(10)}`), message);
        assert(message.endsWith(HINT), message);
        assert(message.length < 300, `echo not truncated: ${message.length} chars`);
        // Truncation must not cut a character in half.
        assert(message.isWellFormed(), "lone surrogate in the echo");
      });
    }
    await t.step("a word just under the echo limit is echoed whole", () => {
      const word = "Y".repeat(30);
      assertEquals(parseRequest(word), invalid(unknown(`"${word}"`)));
    });
  },
});

Deno.test({
  name: "parseRequest() keeps control characters of the echoed word on one line",
  permissions: "none",
  fn: async (t) => {
    for (
      const word of [
        "A\rB",
        "A\nB",
        "A\u0000B",
        "\u001b[2J",
        "\b\u0007\u0001\u001f",
        "A\r\nB",
        `${"Z".repeat(39)}\r\n\r\n`,
      ]
    ) {
      await t.step(JSON.stringify(word), () => {
        const message = errorOf(word);
        assert(message.startsWith('unknown command "'), message);
        assert(
          ![...message].some((char) => char.charCodeAt(0) < 0x20),
          `raw control character in ${JSON.stringify(message)}`,
        );
      });
    }
  },
});

/** Runs `lines` against `store` one by one (through parseLine() and execute()) and returns every answer. */
