/**
 * Unit tests of what logs and traces hide (command/request.ts): the words
 * that may carry a password, found in any case at the start of a line.
 *
 * @module
 */

import { assert, assertEquals, assertFalse } from "@std/assert";
import { mayHoldSecret, SECRET_WORDS } from "./request.ts";
import { LINE_TABLE, REDIS_TABLE } from "./table.ts";

const test = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });
const bytes = (text: string) => new TextEncoder().encode(text);

test("SECRET_WORDS are the commands the tables mark secret", () => {
  const marked = [...LINE_TABLE.commands, ...REDIS_TABLE.commands]
    .filter((command) => command.secret === true)
    .map((command) => command.name);
  assertEquals([...new Set(marked)].sort(), [...SECRET_WORDS].sort());
});

test("mayHoldSecret() finds AUTH or HELLO at the start of any line, in any case, in either protocol", () => {
  for (
    const text of [
      "AUTH, pw\n",
      "auth pw\r\n",
      "PING\n  Auth, pw\n",
      "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n",
      "*5\r\n$5\r\nhello\r\n$1\r\n3\r\n$4\r\nAUTH\r\n",
      "AUTH",
    ]
  ) {
    assert(mayHoldSecret(bytes(text), 0, text.length), JSON.stringify(text));
  }
  for (
    const text of ["PUT, author, x\n", "GET, k AUTH\n", "AUTHOR, x\n", "PUT, k, v\nHELLOS\n", ""]
  ) {
    assertFalse(mayHoldSecret(bytes(text), 0, text.length), JSON.stringify(text));
  }
  // Only within [start, end).
  const framed = bytes("xxAUTH, pw\n");
  assertFalse(mayHoldSecret(framed, 3, 11));
  assert(mayHoldSecret(framed, 2, 11));
});
