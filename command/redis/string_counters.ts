/**
 * Redis's counters, integers and floats kept as strings: INCR, DECR, INCRBY,
 * DECRBY and INCRBYFLOAT, with Redis 7's replies and errors. Each keeps the
 * key's TTL; a missing key counts as 0.
 *
 * @module
 */

import type { Context, RedisCommand } from "../command.ts";
import { type Failure, type RedisReply, refuseWhenFull } from "../reply.ts";
import { byteString, type Request } from "../request.ts";
import { incrByFloat, NOT_A_FLOAT } from "./long_double.ts";
import { argInt, ERR, INT64_MAX, INT64_MIN, parseInt64 } from "./args.ts";
import type { ValueSink } from "../../store/store.ts";
import { KEEP_TTL, write } from "./strings.ts";

/**
 * Reads a stored value as Redis's integer where it lies: a copy of it, and
 * of the sum's digits, were two small ArrayBuffers per INCR, each a
 * malloc and a free outside V8's heap (a fifth of the server's samples:
 * pipelined INCR ran at a quarter of SET's speed).
 */
class IntegerRead implements ValueSink {
  value: bigint | undefined = undefined;
  addBytes(bytes: Uint8Array, start: number, end: number): void {
    this.value = parseInt64(bytes, start, end);
  }
}
// Reused: a command runs whole before the next (the store copies what it keeps).
const INTEGER_READ = new IntegerRead();
const DIGITS = new Uint8Array("-9223372036854775808".length);

/** Adds `by` to the integer at argument 0's key (a missing key counts as 0), keeping its TTL. */
function incrementBy(request: Request, context: Context, reply: RedisReply, by: bigint): void {
  const { bytes, starts, ends } = request;
  const read = INTEGER_READ;
  read.value = undefined;
  let value = 0n;
  if (context.store.get(bytes, starts[0]!, ends[0]!, read)) {
    if (read.value === undefined) return reply.error(ERR.notInteger);
    value = read.value;
  }
  const next = value + by;
  if (next < INT64_MIN || next > INT64_MAX) return reply.error(ERR.overflow);
  const text = String(next);
  for (let i = 0; i < text.length; i++) DIGITS[i] = text.charCodeAt(i);
  try {
    context.store.set(bytes, starts[0]!, ends[0]!, DIGITS, 0, text.length, KEEP_TTL);
  } catch (error) {
    return refuseWhenFull(reply, error);
  }
  reply.integer(next);
}

function counter(name: string, arity: number, sign: 1n | -1n, summary: string): RedisCommand {
  const command: RedisCommand = {
    name,
    arity,
    flags: ["write", "denyoom", "fast"],
    keys: [1, 1, 1],
    writes: true,
    summary,
    run(request, context, reply) {
      if (arity === 2) return incrementBy(request, context, reply, sign);
      const by = argInt(request, 1);
      if (by === undefined) return reply.error(ERR.notInteger);
      if (sign < 0n && by === INT64_MIN) {
        return reply.error({ kind: "redis", text: "ERR decrement would overflow" });
      }
      incrementBy(request, context, reply, sign * by);
    },
  };
  return command;
}

/** `INCR key`. */
export const INCR: RedisCommand = counter(
  "INCR",
  2,
  1n,
  "Increment the integer value of a key by one",
);
/** `DECR key`. */
export const DECR: RedisCommand = counter(
  "DECR",
  2,
  -1n,
  "Decrement the integer value of a key by one",
);
/** `INCRBY key increment`. */
export const INCRBY: RedisCommand = counter(
  "INCRBY",
  3,
  1n,
  "Increment the integer value of a key by the given amount",
);
/** `DECRBY key decrement`. */
export const DECRBY: RedisCommand = counter(
  "DECRBY",
  3,
  -1n,
  "Decrement the integer value of a key by the given number",
);

const NOT_A_FLOAT_ERROR: Failure = { kind: "redis", text: "ERR value is not a valid float" };
const NOT_FINITE_ERROR: Failure = {
  kind: "redis",
  text: "ERR increment would produce NaN or Infinity",
};

/** Reads a stored value as one character per byte, for INCRBYFLOAT, with no copy of it first. */
class TextRead implements ValueSink {
  text = "";
  addBytes(bytes: Uint8Array, start: number, end: number): void {
    this.text = byteString(bytes, start, end);
  }
}
const TEXT_READ = new TextRead();
// The sum's characters, reused (the store and the reply copy them): a fresh
// buffer per answer is a malloc and a free outside V8's heap.
let sumBytes = new Uint8Array(64);

/**
 * `INCRBYFLOAT key increment`: adds as Redis does, in x86-64's 80-bit
 * `long double` (long_double.ts), and stores the sum as Redis prints it
 * (`0.1` plus `0.2` is `0.3`); the TTL is kept.
 */
export const INCRBYFLOAT: RedisCommand = {
  name: "INCRBYFLOAT",
  arity: 3,
  flags: ["write", "denyoom", "fast"],
  keys: [1, 1, 1],
  writes: true,
  summary: "Increment the float value of a key by the given amount",
  run(request, context, reply) {
    const { bytes, starts, ends } = request;
    const read = TEXT_READ;
    const found = context.store.get(bytes, starts[0]!, ends[0]!, read);
    const sum = incrByFloat(found ? read.text : undefined, request.binary(1));
    read.text = "";
    if (typeof sum !== "string") {
      return reply.error(sum === NOT_A_FLOAT ? NOT_A_FLOAT_ERROR : NOT_FINITE_ERROR);
    }
    if (sum.length > sumBytes.length) sumBytes = new Uint8Array(sum.length);
    const text = sumBytes;
    for (let i = 0; i < sum.length; i++) text[i] = sum.charCodeAt(i);
    const wrote = write(reply, () => {
      context.store.set(bytes, starts[0]!, ends[0]!, text, 0, sum.length, KEEP_TTL);
    });
    if (wrote) reply.bytes(text, 0, sum.length);
  },
};

/** The counters, in the order COMMAND lists them. */
export const STRING_COUNTER_COMMANDS: readonly RedisCommand[] = [
  INCR,
  DECR,
  INCRBY,
  DECRBY,
  INCRBYFLOAT,
];
