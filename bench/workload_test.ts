/**
 * Tests for workload.ts: the requests the bench writes are the ones
 * loadgen.c writes, the server parses them, and a value is checked by
 * writing the expected one. Pure.
 */

import { assert, assertEquals, assertFalse } from "@std/assert";
import { parseRequest } from "../wire/line/encode.ts";
import {
  expectedValue,
  OP_GET,
  OP_PUT,
  REQUEST_OVERHEAD_BYTES,
  valueMatches,
  writeDigits,
  writeRequest,
} from "./workload.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

Deno.test({
  name: "writeRequest() writes PUT and GET lines the server parses back",
  permissions: "none",
  fn: () => {
    const out = new Uint8Array(16 + REQUEST_OVERHEAD_BYTES);
    let end = writeRequest(out, 0, OP_PUT, 42, 16, 3);
    assertEquals(decoder.decode(out.subarray(0, end)), "PUT, key:42, vvvvvvvvvvvv3.42\n");
    const put = parseRequest(decoder.decode(out.subarray(0, end - 1)));
    assertEquals(put && "command" in put ? [put.command.name, ...put.args] : put, [
      "PUT",
      "key:42",
      "vvvvvvvvvvvv3.42",
    ]);
    end = writeRequest(out, 0, OP_GET, 9_999_999, 16, 0);
    assertEquals(decoder.decode(out.subarray(0, end)), "GET, key:9999999\n");
  },
});

Deno.test({
  name: "expectedValue() pads to the length and keeps the last digits when short",
  permissions: "none",
  fn: () => {
    assertEquals(expectedValue(8, 5, 1), "vvvvv1.5");
    assertEquals(expectedValue(3, 12345, 7), "345");
    assertEquals(expectedValue(1, 12345, 7), "5");
  },
});

Deno.test({
  name: "valueMatches() accepts exactly the value expected",
  permissions: "none",
  fn: () => {
    const check = (text: string, bytes: number, key: number, version: number) => {
      const buffer = encoder.encode(`xx${text}yy`);
      return valueMatches(buffer, 2, buffer.length - 2, bytes, key, version);
    };
    assert(check("vvvvvvvvvvvv3.42", 16, 42, 3));
    assertFalse(check("vvvvvvvvvvvv3.43", 16, 42, 3), "another key");
    assertFalse(check("vvvvvvvvvvvv4.42", 16, 42, 3), "another version");
    assertFalse(check("vvvvvvvvvvv3.42", 16, 42, 3), "too short");
    assertFalse(check("Not exist!", 10, 42, 3));
  },
});

Deno.test({
  name: "writeDigits() writes a number in decimal",
  permissions: "none",
  fn: () => {
    const out = new Uint8Array(20);
    for (const n of [0, 7, 10, 99, 100, 123_456_789, 2 ** 32 - 1]) {
      const end = writeDigits(out, 3, n);
      assertEquals(decoder.decode(out.subarray(3, end)), String(n));
    }
  },
});
