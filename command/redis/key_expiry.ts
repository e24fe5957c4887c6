/**
 * Redis's commands on a key's expiry: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT
 * (with NX, XX, GT, LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME and PERSIST,
 * with Redis 7's replies and errors. Listed with the other key commands in
 * keys.ts's KEY_COMMANDS, as Redis groups them.
 *
 * @module
 */

import { NO_EXPIRY, NO_KEY } from "../../store/store.ts";
import { countLookup, type RedisCommand } from "../command.ts";
import { type Failure, refuseWhenFull } from "../reply.ts";
import type { Request } from "../request.ts";
import { argInt, argIs, ERR, INT64_MAX, INT64_MIN } from "./args.ts";

/** Which of NX, XX, GT, LT an EXPIRE has (Redis 7), or its error. */
function expireFlags(
  request: Request,
): { nx: boolean; xx: boolean; gt: boolean; lt: boolean } | Failure {
  const flags = { nx: false, xx: false, gt: false, lt: false };
  for (let i = 2; i < request.count; i++) {
    if (argIs(request, i, "nx")) flags.nx = true;
    else if (argIs(request, i, "xx")) flags.xx = true;
    else if (argIs(request, i, "gt")) flags.gt = true;
    else if (argIs(request, i, "lt")) flags.lt = true;
    else return { kind: "redis", text: `ERR Unsupported option ${request.cString(i)}` };
  }
  if (flags.nx && (flags.xx || flags.gt || flags.lt)) {
    return {
      kind: "redis",
      text: "ERR NX and XX, GT or LT options at the same time are not compatible",
    };
  }
  if (flags.gt && flags.lt) {
    return { kind: "redis", text: "ERR GT and LT options at the same time are not compatible" };
  }
  return flags;
}

function expireCommand(
  name: string,
  unitMs: number,
  absolute: boolean,
  summary: string,
): RedisCommand {
  const invalid: Failure = {
    kind: "redis",
    text: `ERR invalid expire time in '${name.toLowerCase()}' command`,
  };
  return {
    name,
    arity: -3,
    flags: ["write", "fast"],
    keys: [1, 1, 1],
    writes: true,
    summary,
    run(request, { store, clock }, reply) {
      const flags = expireFlags(request);
      if ("kind" in flags) return reply.error(flags);
      let when = argInt(request, 1);
      if (when === undefined) return reply.error(ERR.notInteger);
      if (unitMs === 1000) {
        if (when > INT64_MAX / 1000n || when < INT64_MIN / 1000n) return reply.error(invalid);
        when *= 1000n;
      }
      const base = absolute ? 0n : BigInt(clock.now());
      if (when > INT64_MAX - base) return reply.error(invalid);
      when += base;
      const { bytes, starts, ends } = request;
      const current = store.expiry(bytes, starts[0]!, ends[0]!);
      if (current === NO_KEY) return reply.integer(0);
      const volatile = current !== NO_EXPIRY;
      if (
        (flags.nx && volatile) || (flags.xx && !volatile) ||
        (flags.gt && (!volatile || when <= BigInt(current))) ||
        (flags.lt && volatile && when >= BigInt(current))
      ) {
        return reply.integer(0);
      }
      // The key's own time may pass between the lookup above and the
      // change (the clock ticks): then it is gone, and nothing was done.
      let done: boolean;
      if (when <= BigInt(clock.now())) {
        done = store.delete(bytes, starts[0]!, ends[0]!);
      } else {
        // Past 2^53 ms (year 285,616) kv cannot hold the time exactly.
        if (when > BigInt(Number.MAX_SAFE_INTEGER)) return reply.error(invalid);
        try {
          done = store.expire(bytes, starts[0]!, ends[0]!, Number(when));
        } catch (error) {
          return refuseWhenFull(reply, error);
        }
      }
      reply.integer(done ? 1 : 0);
    },
  };
}

/** `EXPIRE key seconds [NX|XX|GT|LT]`. */
export const EXPIRE: RedisCommand = expireCommand(
  "EXPIRE",
  1000,
  false,
  "Set a key's time to live in seconds",
);
/** `PEXPIRE key milliseconds [NX|XX|GT|LT]`. */
export const PEXPIRE: RedisCommand = expireCommand(
  "PEXPIRE",
  1,
  false,
  "Set a key's time to live in milliseconds",
);
/** `EXPIREAT key unix-time-seconds [NX|XX|GT|LT]`. */
export const EXPIREAT: RedisCommand = expireCommand(
  "EXPIREAT",
  1000,
  true,
  "Set the expiration for a key as a UNIX timestamp",
);
/** `PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]`. */
export const PEXPIREAT: RedisCommand = expireCommand(
  "PEXPIREAT",
  1,
  true,
  "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
);

/** TTL and its kin: the time left (`absolute`: the time it ends), in `unitMs`; -1 never, -2 no key. */
function ttlCommand(name: string, unitMs: number, summary: string, absolute = false): RedisCommand {
  return {
    name,
    arity: 2,
    flags: ["readonly", "fast"],
    keys: [1, 1, 1],
    writes: false,
    summary,
    run(request, { store, clock, stats }, reply) {
      const expiry = store.expiry(request.bytes, request.starts[0]!, request.ends[0]!);
      countLookup(stats, expiry !== NO_KEY);
      if (expiry < 0) return reply.integer(expiry); // -2 no key, -1 no expiry
      const ms = absolute ? expiry : Math.max(0, expiry - clock.now());
      // Redis rounds seconds to the nearest.
      reply.integer(unitMs === 1 ? ms : Math.floor((ms + 500) / 1000));
    },
  };
}

/** `TTL key`: seconds to live; -1 without expiry; -2 without the key. */
export const TTL: RedisCommand = ttlCommand(
  "TTL",
  1000,
  "Get the time to live for a key in seconds",
);
/** `PTTL key`: milliseconds to live; -1 without expiry; -2 without the key. */
export const PTTL: RedisCommand = ttlCommand(
  "PTTL",
  1,
  "Get the time to live for a key in milliseconds",
);

/** `EXPIRETIME key`: when it expires, in seconds since 1970; -1 never; -2 no key. */
export const EXPIRETIME: RedisCommand = ttlCommand(
  "EXPIRETIME",
  1000,
  "Get the expiration Unix timestamp for a key",
  true,
);
/** `PEXPIRETIME key`: the same in milliseconds. */
export const PEXPIRETIME: RedisCommand = ttlCommand(
  "PEXPIRETIME",
  1,
  "Get the expiration Unix timestamp for a key in milliseconds",
  true,
);

/** `PERSIST key`: 1 if it removed an expiry. */
export const PERSIST: RedisCommand = {
  name: "PERSIST",
  arity: 2,
  flags: ["write", "fast"],
  keys: [1, 1, 1],
  writes: true,
  summary: "Remove the expiration from a key",
  run(request, { store }, reply) {
    const { bytes, starts, ends } = request;
    if (store.expiry(bytes, starts[0]!, ends[0]!) < 0) return reply.integer(0);
    let done: boolean;
    try {
      // False if the key's time passed since the line above.
      done = store.expire(bytes, starts[0]!, ends[0]!, 0);
    } catch (error) {
      return refuseWhenFull(reply, error);
    }
    reply.integer(done ? 1 : 0);
  },
};
