/**
 * Redis's commands on part of a string: GETRANGE (and its old name
 * SUBSTR) and SETRANGE, with Redis 7's replies and errors.
 *
 * @module
 */

import type { RedisCommand } from "../command.ts";
import type { Failure } from "../reply.ts";
import { argInt, ERR, INT64_MAX } from "./args.ts";
import { maxStringBytes, readCounted, readValue, TOO_BIG, write } from "./strings.ts";

const KEEP_TTL = { keepTtl: true } as const;
const EMPTY = new Uint8Array(0);
const OFFSET_OUT_OF_RANGE: Failure = { kind: "redis", text: "ERR offset is out of range" };

function getRange(name: string, summary: string): RedisCommand {
  return {
    name,
    arity: 4,
    flags: ["readonly"],
    keys: [1, 1, 1],
    writes: false,
    summary,
    run(request, context, reply) {
      // As Redis: both integers are checked before the key is looked up.
      let start = argInt(request, 1);
      if (start === undefined) return reply.error(ERR.notInteger);
      let end = argInt(request, 2);
      if (end === undefined) return reply.error(ERR.notInteger);
      const value = readCounted(context, request, 0) ?? EMPTY;
      const length = BigInt(value.length);
      if (start < 0n && end < 0n && start > end) return reply.bytes(EMPTY, 0, 0);
      if (start < 0n) start += length;
      if (end < 0n) end += length;
      if (start < 0n) start = 0n;
      if (end < 0n) end = 0n;
      if (end >= length) end = length - 1n;
      if (start > end || length === 0n) return reply.bytes(EMPTY, 0, 0);
      reply.bytes(value, Number(start), Number(end) + 1);
    },
  };
}

/** `GETRANGE key start end`: the bytes from start to end, both included; negative counts from the end. */
export const GETRANGE: RedisCommand = getRange(
  "GETRANGE",
  "Get a substring of the string stored at a key",
);
/** `SUBSTR key start end`: GETRANGE's old name. */
export const SUBSTR: RedisCommand = getRange(
  "SUBSTR",
  "Get a substring of the string stored at a key",
);

/**
 * `SETRANGE key offset value`: writes value over the string from offset,
 * padding with zero bytes, and answers the new length; the TTL is kept.
 * The result may be as long as `CONFIG GET proto-max-bulk-len` says (kv's
 * `--max-line-bytes`), as Redis checks its own proto-max-bulk-len.
 */
export const SETRANGE: RedisCommand = {
  name: "SETRANGE",
  arity: 4,
  flags: ["write", "denyoom"],
  keys: [1, 1, 1],
  writes: true,
  summary: "Overwrite part of a string at key starting at the specified offset",
  run(request, context, reply) {
    const offset = argInt(request, 1);
    if (offset === undefined) return reply.error(ERR.notInteger);
    if (offset < 0n) return reply.error(OFFSET_OUT_OF_RANGE);
    const add = request.ends[2]! - request.starts[2]!;
    const old = readValue(context, request, 0);
    // Nothing to write: the length as it is (0 for a missing key, which stays missing).
    if (add === 0) return reply.integer(old?.length ?? 0);
    const limit = maxStringBytes(context);
    if (offset > INT64_MAX - BigInt(add) || offset + BigInt(add) > BigInt(limit)) {
      return reply.error(TOO_BIG);
    }
    const at = Number(offset);
    const current = old ?? EMPTY;
    const value = new Uint8Array(Math.max(current.length, at + add));
    value.set(current);
    value.set(request.bytes.subarray(request.starts[2], request.ends[2]), at);
    const { bytes, starts, ends } = request;
    const wrote = write(reply, () => {
      context.store.set(bytes, starts[0]!, ends[0]!, value, 0, value.length, KEEP_TTL);
    });
    if (wrote) reply.integer(value.length);
  },
};

/** The commands of this file, in COMMAND's order. */
export const STRING_RANGE_COMMANDS: readonly RedisCommand[] = [GETRANGE, SUBSTR, SETRANGE];
