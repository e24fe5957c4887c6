/**
 * Unit tests of RESP's reply encoder (wire/resp/reply.ts): the bytes of
 * bulk strings, integers and simple strings written without an encoded copy
 * for ASCII, and as UTF-8 otherwise.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { newSession } from "../../command/command.ts";
import { AnswerBuffer } from "../answer_buffer.ts";
import { RespReply } from "./reply.ts";

const test = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });

function encoded(write: (reply: RespReply) => void): string {
  const out = new AnswerBuffer(64);
  const session = newSession({
    id: 1,
    peer: "127.0.0.1:1",
    local: "127.0.0.1:12000",
    createdAt: 0,
    protocol: "resp",
    authenticated: true,
  });
  write(new RespReply(out, session));
  return new TextDecoder().decode(out.bytes());
}

test("RespReply writes bulk strings by their UTF-8 length, ASCII or not", () => {
  assertEquals(encoded((reply) => reply.bulk("0")), "$1\r\n0\r\n");
  assertEquals(encoded((reply) => reply.bulk("")), "$0\r\n\r\n");
  assertEquals(encoded((reply) => reply.bulk("used_memory:1234")), "$16\r\nused_memory:1234\r\n");
  // 값 is 3 bytes in UTF-8, é 2: the length counts bytes, not characters.
  assertEquals(encoded((reply) => reply.bulk("값é")), "$5\r\n값é\r\n");
  assertEquals(encoded((reply) => reply.bulk("a".repeat(200))), `$200\r\n${"a".repeat(200)}\r\n`);
});

test("RespReply writes integers of every sign and size, and simple strings", () => {
  assertEquals(encoded((reply) => reply.integer(0)), ":0\r\n");
  assertEquals(encoded((reply) => reply.integer(-2)), ":-2\r\n");
  assertEquals(encoded((reply) => reply.integer(1_700_000_000_123)), ":1700000000123\r\n");
  assertEquals(
    encoded((reply) => reply.integer(-(2n ** 63n))),
    ":-9223372036854775808\r\n",
  );
  assertEquals(encoded((reply) => reply.simple("string")), "+string\r\n");
});
