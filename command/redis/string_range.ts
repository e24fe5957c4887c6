/**
 * Redis's commands on part of a string: APPEND, GETRANGE (and its old name
 * SUBSTR) and SETRANGE, with Redis 7's replies and errors. On a store that
 * can (`Store.append`, `Store.setRange`), APPEND and SETRANGE write where
 * the value lies, and GETRANGE answers from there.
 *
 * @module
 */

import type { ValueSink } from "../../store/store.ts";
import { countLookup, type RedisCommand } from "../command.ts";
import type { Failure, RedisReply } from "../reply.ts";
import { argInt, ERR, INT64_MAX } from "./args.ts";
import { maxStringBytes, readValue, TOO_BIG, valueLength, write } from "./strings.ts";

const KEEP_TTL = { keepTtl: true } as const;
const EMPTY = new Uint8Array(0);
const OFFSET_OUT_OF_RANGE: Failure = { kind: "redis", text: "ERR offset is out of range" };

/**
 * Answers GETRANGE's bytes of a value, `bytes[valueStart, valueEnd)`, from
 * where it lies: inside the store's `get`, so a few bytes of a 1 MB value
 * copy a few bytes, not the value (3,980 requests/s against Redis's 392,000).
 */
class RangeAnswer implements ValueSink {
  reply: RedisReply | undefined;
  start = 0n;
  end = 0n;
  addBytes(bytes: Uint8Array, valueStart: number, valueEnd: number): void {
    answerRange(this.reply!, bytes, valueStart, valueEnd, this.start, this.end);
  }
}
const RANGE = new RangeAnswer();

function answerRange(
  reply: RedisReply,
  bytes: Uint8Array,
  valueStart: number,
  valueEnd: number,
  start: bigint,
  end: bigint,
): void {
  const length = BigInt(valueEnd - valueStart);
  if (start < 0n && end < 0n && start > end) return reply.bytes(EMPTY, 0, 0);
  if (start < 0n) start += length;
  if (end < 0n) end += length;
  if (start < 0n) start = 0n;
  if (end < 0n) end = 0n;
  if (end >= length) end = length - 1n;
  if (start > end || length === 0n) return reply.bytes(EMPTY, 0, 0);
  reply.bytes(bytes, valueStart + Number(start), valueStart + Number(end) + 1);
}

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
      const start = argInt(request, 1);
      if (start === undefined) return reply.error(ERR.notInteger);
      const end = argInt(request, 2);
      if (end === undefined) return reply.error(ERR.notInteger);
      RANGE.reply = reply;
      RANGE.start = start;
      RANGE.end = end;
      const found = context.store.get(request.bytes, request.starts[0]!, request.ends[0]!, RANGE);
      RANGE.reply = undefined;
      countLookup(context.stats, found);
      if (!found) answerRange(reply, EMPTY, 0, 0, start, end);
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
    const { bytes, starts, ends } = request;
    const { store } = context;
    const add = ends[2]! - starts[2]!;
    const length = valueLength(context, request, 0);
    // Nothing to write: the length as it is (0 for a missing key, which stays missing).
    if (add === 0) return reply.integer(Math.max(0, length));
    const limit = maxStringBytes(context);
    if (offset > INT64_MAX - BigInt(add) || offset + BigInt(add) > BigInt(limit)) {
      return reply.error(TOO_BIG);
    }
    const at = Number(offset);
    if (store.setRange !== undefined) {
      // Written where the value lies: a few bytes into 1 MB copy a few bytes.
      let newLength = 0;
      const wrote = write(reply, () => {
        newLength = store.setRange!(bytes, starts[0]!, ends[0]!, at, bytes, starts[2]!, ends[2]!);
      });
      if (wrote) reply.integer(newLength);
      return;
    }
    const current = readValue(context, request, 0) ?? EMPTY;
    const value = new Uint8Array(Math.max(current.length, at + add));
    value.set(current);
    value.set(bytes.subarray(starts[2], ends[2]), at);
    const wrote = write(reply, () => {
      store.set(bytes, starts[0]!, ends[0]!, value, 0, value.length, KEEP_TTL);
    });
    if (wrote) reply.integer(value.length);
  },
};

/** `APPEND key value`: the length after appending, keeping the TTL. */
export const APPEND: RedisCommand = {
  name: "APPEND",
  arity: 3,
  flags: ["write", "denyoom", "fast"],
  keys: [1, 1, 1],
  writes: true,
  summary: "Append a value to a key",
  run(request, context, reply) {
    const { bytes, starts, ends } = request;
    const { store } = context;
    const add = ends[1]! - starts[1]!;
    if (store.append !== undefined) {
      // Grown where it lies: n appends copy O(n) bytes, not O(n^2).
      const old = Math.max(0, valueLength(context, request, 0));
      if (old + add > maxStringBytes(context)) return reply.error(TOO_BIG);
      let length = 0;
      const wrote = write(reply, () => {
        length = store.append!(bytes, starts[0]!, ends[0]!, bytes, starts[1]!, ends[1]!);
      });
      if (wrote) reply.integer(length);
      return;
    }
    const old = readValue(context, request, 0) ?? new Uint8Array(0);
    if (old.length + add > maxStringBytes(context)) return reply.error(TOO_BIG);
    const value = new Uint8Array(old.length + add);
    value.set(old);
    value.set(bytes.subarray(starts[1], ends[1]), old.length);
    const wrote = write(reply, () => {
      store.set(bytes, starts[0]!, ends[0]!, value, 0, value.length, KEEP_TTL);
    });
    if (wrote) reply.integer(value.length);
  },
};

/** The commands of this file, in COMMAND's order. */
export const STRING_RANGE_COMMANDS: readonly RedisCommand[] = [APPEND, GETRANGE, SUBSTR, SETRANGE];
