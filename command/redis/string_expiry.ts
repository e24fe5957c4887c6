/**
 * Redis's string commands that set a value's expiry along with it: SETEX,
 * PSETEX, GETSET and GETEX, with Redis 7's replies and errors. Older forms
 * that client libraries still call: `setex` is how redis-py and node-redis
 * write a cache entry.
 *
 * @module
 */

import { countLookup, type RedisCommand } from "../command.ts";
import type { WriteOptions } from "../../store/store.ts";
import { argIs, ERR } from "./args.ts";
import { expiryKind, expiryTime, readCounted, readValue, write } from "./strings.ts";

function setWithExpiry(name: string, unitMs: number, summary: string): RedisCommand {
  const command = name.toLowerCase();
  return {
    name,
    arity: 4,
    flags: ["write", "denyoom"],
    keys: [1, 1, 1],
    writes: true,
    summary,
    run(request, context, reply) {
      const at = expiryTime(request, 1, unitMs, false, context, command);
      if (typeof at !== "number") return reply.error(at);
      const { bytes, starts, ends } = request;
      const options: WriteOptions = { expireAtMs: at };
      if (
        write(
          reply,
          () =>
            context.store.set(bytes, starts[0]!, ends[0]!, bytes, starts[2]!, ends[2]!, options),
        )
      ) {
        reply.ok();
      }
    },
  };
}

/** `SETEX key seconds value`: SET with EX. */
export const SETEX: RedisCommand = setWithExpiry(
  "SETEX",
  1000,
  "Set the value and expiration of a key",
);
/** `PSETEX key milliseconds value`: SET with PX. */
export const PSETEX: RedisCommand = setWithExpiry(
  "PSETEX",
  1,
  "Set the value and expiration in milliseconds of a key",
);

/** `GETSET key value`: the old value (or nil); the new one is set, with no expiry. */
export const GETSET: RedisCommand = {
  name: "GETSET",
  arity: 3,
  flags: ["write", "denyoom", "fast"],
  keys: [1, 1, 1],
  writes: true,
  summary: "Set the string value of a key and return its old value",
  run(request, context, reply) {
    const old = readValue(context, request, 0);
    const { bytes, starts, ends } = request;
    if (
      !write(
        reply,
        () => context.store.set(bytes, starts[0]!, ends[0]!, bytes, starts[1]!, ends[1]!),
      )
    ) {
      return; // Counts no read, as Redis refuses it out of memory before it runs.
    }
    countLookup(context.stats, old !== undefined);
    if (old === undefined) reply.nil();
    else reply.bytes(old, 0, old.length);
  },
};

/** `GETEX key [EX s | PX ms | EXAT t | PXAT t | PERSIST]`: the value; its expiry set or removed. */
export const GETEX: RedisCommand = {
  name: "GETEX",
  arity: -2,
  flags: ["write", "fast"],
  keys: [1, 1, 1],
  writes: true,
  summary: "Get the value of a key and optionally set its expiration",
  run(request, context, reply) {
    // As SET's options: one kind of expiry (it may repeat) or PERSIST.
    let persist = false;
    let kind = "";
    let expiryArg = -1;
    for (let i = 1; i < request.count; i++) {
      const more = i + 1 < request.count;
      const expiry = more && !persist ? expiryKind(request, i) : "";
      if (argIs(request, i, "persist") && kind === "") persist = true;
      else if (expiry !== "" && (kind === "" || kind === expiry)) {
        kind = expiry;
        expiryArg = ++i;
      } else {
        return reply.error(ERR.syntax);
      }
    }
    // As Redis's getexCommand(): a missing key is nil before its time is checked.
    const value = readCounted(context, request, 0);
    if (value === undefined) return reply.nil();
    let at = 0;
    if (kind !== "") {
      const unit = kind === "ex" || kind === "exat" ? 1000 : 1;
      const time = expiryTime(request, expiryArg, unit, kind.endsWith("at"), context, "getex");
      if (typeof time !== "number") return reply.error(time);
      at = time;
    }
    const { store, clock } = context;
    const { bytes, starts, ends } = request;
    if (kind !== "" || persist) {
      // A time already past deletes the key, as EXPIRE's does.
      const change = kind !== "" && at <= clock.now()
        ? () => store.delete(bytes, starts[0]!, ends[0]!)
        : () => store.expire(bytes, starts[0]!, ends[0]!, at);
      if (!write(reply, change)) return;
    }
    reply.bytes(value, 0, value.length);
  },
};

/** The string commands of this file, in COMMAND's order. */
export const STRING_EXPIRY_COMMANDS: readonly RedisCommand[] = [SETEX, PSETEX, GETSET, GETEX];
