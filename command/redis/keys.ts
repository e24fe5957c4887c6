/**
 * Redis's key commands: DEL, UNLINK, EXISTS, TOUCH, TYPE, RENAME, RENAMENX,
 * KEYS and SCAN, with Redis 7's replies and errors; and the list of all of
 * them, expiry's too (EXPIRE, TTL, PERSIST and their kin, in key_expiry.ts).
 *
 * @module
 */

import { LINE_TEXT, NO_KEY, type ValueSink } from "../../store/store.ts";
import { type Context, countLookup, type RedisCommand } from "../command.ts";
import { type Failure, refuseWhenFull } from "../reply.ts";
import type { Request } from "../request.ts";
import { argBytes, argInt, argIs, ERR, parseCursor } from "./args.ts";
import { KeyList, PATTERN_TOO_COSTLY } from "./key_list.ts";
import {
  EXPIRE,
  EXPIREAT,
  EXPIRETIME,
  PERSIST,
  PEXPIRE,
  PEXPIREAT,
  PEXPIRETIME,
  PTTL,
  TTL,
} from "./key_expiry.ts";
import { isUtf8From } from "../../wire/utf8.ts";

const INVALID_CURSOR: Failure = { kind: "redis", text: "ERR invalid cursor" };
// Cursors are 32-bit hashes (store/table.ts, scan()).
const CURSOR_SPACE = 2 ** 32;
// Table slots scanned per key wanted (the table is at most half full).
const SLOTS_PER_KEY = 2;

function keyCounter(
  name: string,
  summary: string,
  each: (request: Request, i: number, context: Context) => boolean,
): RedisCommand {
  const writes = name !== "EXISTS" && name !== "TOUCH";
  return {
    name,
    arity: -2,
    flags: !writes ? ["readonly", "fast"] : name === "UNLINK" ? ["write", "fast"] : ["write"],
    keys: [1, -1, 1],
    writes,
    summary,
    run(request, context, reply) {
      let count = 0;
      const all = () => {
        for (let i = 0; i < request.count; i++) if (each(request, i, context)) count++;
      };
      // A DEL of several keys is one change for the log: a crash keeps all or none.
      const { store } = context;
      if (writes && request.count > 1 && store.together !== undefined) {
        store.together(all);
      } else all();
      reply.integer(count);
    },
  };
}

function deleteKey(request: Request, i: number, { store }: Context): boolean {
  return store.delete(request.bytes, request.starts[i]!, request.ends[i]!);
}

/** `DEL key [key ...]`: how many were deleted. */
export const DEL: RedisCommand = keyCounter("DEL", "Delete a key", deleteKey);
/** `UNLINK key [key ...]`: as DEL (kv frees memory at once either way). */
export const UNLINK: RedisCommand = keyCounter(
  "UNLINK",
  "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
  deleteKey,
);
/** `EXISTS key [key ...]`: how many of the keys exist (a key named twice counts twice). */
export const EXISTS: RedisCommand = keyCounter(
  "EXISTS",
  "Determine if a key exists",
  (request, i, { store, stats }) =>
    countLookup(
      stats,
      store.expiry(request.bytes, request.starts[i]!, request.ends[i]!) !== NO_KEY,
    ),
);

/** `TOUCH key [key ...]`: as EXISTS (kv keeps no last access time to update). */
export const TOUCH: RedisCommand = keyCounter(
  "TOUCH",
  "Alters the last access time of a key(s). Returns the number of existing keys specified.",
  (request, i, { store, stats }) =>
    countLookup(
      stats,
      store.expiry(request.bytes, request.starts[i]!, request.ends[i]!) !== NO_KEY,
    ),
);

/** `TYPE key`: `string`, or `none` for a missing key (kv holds strings only). */
export const TYPE: RedisCommand = {
  name: "TYPE",
  arity: 2,
  flags: ["readonly", "fast"],
  keys: [1, 1, 1],
  writes: false,
  summary: "Determine the type stored at key",
  run(request, { store, stats }, reply) {
    const there = countLookup(
      stats,
      store.expiry(request.bytes, request.starts[0]!, request.ends[0]!) !== NO_KEY,
    );
    reply.simple(there ? "string" : "none");
  },
};

/** Redis takes a lone `*` as "every key": even the empty key, which `*` alone does not match. */
function patternOf(request: Request, i: number): Uint8Array | undefined {
  const pattern = argBytes(request, i);
  return pattern.length === 1 && pattern[0] === 0x2a ? undefined : pattern;
}

/** `KEYS pattern`: every key that matches (the whole store is walked, as in Redis). */
export const KEYS: RedisCommand = {
  name: "KEYS",
  arity: 2,
  flags: ["readonly"],
  acl: ["@dangerous"],
  keys: [0, 0, 0],
  writes: false,
  summary: "Find all keys matching the given pattern",
  run(request, { store }, reply) {
    const keys = new KeyList(patternOf(request, 0));
    let cursor = 0;
    do cursor = store.scan(cursor, 4096, keys.visit); while (cursor !== 0 && !keys.tooCostly);
    if (keys.tooCostly) return reply.error(PATTERN_TOO_COSTLY);
    keys.reply(reply);
  },
};

/**
 * `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`. The cursor is a
 * position in hash order, so a key present for the whole scan is returned
 * exactly once however the table grows (Redis promises at least once). It is
 * read as Redis reads it (`00`, `+1`, `-1` are cursors); one past kv's
 * positions ends the scan at once, as Redis's do on a small table.
 */
export const SCAN: RedisCommand = {
  name: "SCAN",
  arity: -2,
  flags: ["readonly"],
  keys: [0, 0, 0],
  writes: false,
  summary: "Incrementally iterate the keys space",
  run(request, { store }, reply) {
    const start = parseCursor(request.bytes, request.starts[0]!, request.ends[0]!);
    if (start === undefined) return reply.error(INVALID_CURSOR);
    let count = 10;
    let pattern: Uint8Array | undefined;
    let strings = true;
    for (let i = 1; i < request.count; i += 2) {
      const more = i + 1 < request.count;
      if (argIs(request, i, "count") && more) {
        const n = argInt(request, i + 1);
        if (n === undefined) return reply.error(ERR.notInteger);
        if (n < 1n) return reply.error(ERR.syntax);
        count = Number(n > 1_000_000n ? 1_000_000n : n);
      } else if (argIs(request, i, "match") && more) {
        pattern = patternOf(request, i + 1);
      } else if (argIs(request, i, "type") && more) {
        strings = argIs(request, i + 1, "string");
      } else {
        return reply.error(ERR.syntax);
      }
    }
    const keys = new KeyList(pattern);
    let cursor = start >= BigInt(CURSOR_SPACE) ? 0 : Number(start);
    if (start < BigInt(CURSOR_SPACE)) {
      // Like Redis: stop once `count` keys are found, or after ten times as
      // much work without finding them (a sparse MATCH).
      let budget = 10 * count * SLOTS_PER_KEY;
      do {
        const step = Math.min(budget, (count - keys.length) * SLOTS_PER_KEY);
        cursor = store.scan(cursor, step, keys.visit);
        budget -= step;
      } while (cursor !== 0 && keys.length < count && budget > 0 && !keys.tooCostly);
    }
    if (keys.tooCostly) return reply.error(PATTERN_TOO_COSTLY);
    reply.array(2);
    reply.bulk(String(cursor));
    if (strings) keys.reply(reply);
    else reply.array(0);
  },
};

/** A value as read for RENAME: its bytes and flags (a line client's value stays one). */
class Moved implements ValueSink {
  bytes: Uint8Array = new Uint8Array(0);
  flags = 0;
  addBytes(bytes: Uint8Array, start: number, end: number, flags = 0): void {
    this.bytes = bytes.slice(start, end);
    this.flags = flags;
  }
}

/** Whether the line protocol's PUT could have written the key `bytes[start, end)`: not empty, UTF-8, no comma, no `\n`. */
function isLineKey(bytes: Uint8Array, start: number, end: number): boolean {
  if (start === end) return false;
  for (let i = start; i < end; i++) if (bytes[i] === 0x2c || bytes[i] === 0x0a) return false;
  return isUtf8From(bytes, start, end);
}

const NO_SUCH_KEY: Failure = { kind: "redis", text: "ERR no such key" };

function renameCommand(name: string, nx: boolean, summary: string): RedisCommand {
  return {
    name,
    arity: 3,
    flags: nx ? ["write", "fast"] : ["write"],
    keys: [1, 2, 1],
    writes: true,
    summary,
    run(request, { store }, reply) {
      const { bytes, starts, ends } = request;
      const moved = new Moved();
      // The expiry first: read after the value, a time passing in between
      // (the clock ticks) would read as none, and newkey would never expire.
      const expiry = store.expiry(bytes, starts[0]!, ends[0]!);
      if (expiry === NO_KEY || !store.get(bytes, starts[0]!, ends[0]!, moved)) {
        return reply.error(NO_SUCH_KEY);
      }
      const expireAtMs = Math.max(0, expiry);
      // The same key: nothing to do, as in Redis (RENAMENX: the name is taken).
      const same = ends[0]! - starts[0]! === ends[1]! - starts[1]! &&
        argBytes(request, 0).every((byte, i) => byte === bytes[starts[1]! + i]);
      if (same) return nx ? reply.integer(0) : reply.ok();
      if (nx && store.expiry(bytes, starts[1]!, ends[1]!) !== NO_KEY) return reply.integer(0);
      // LINE_TEXT vouches for the key too (LIST shows such a pair unchecked):
      // it moves only to a key a PUT could have written.
      const lineText = (moved.flags & LINE_TEXT) !== 0 && isLineKey(bytes, starts[1]!, ends[1]!);
      const options = { expireAtMs, lineText };
      const move = () => {
        store.set(bytes, starts[1]!, ends[1]!, moved.bytes, 0, moved.bytes.length, options);
        store.delete(bytes, starts[0]!, ends[0]!);
      };
      try {
        // One change for the log: a crash keeps the key under one name, not both or none.
        if (store.together !== undefined) store.together(move);
        else move();
      } catch (error) {
        return refuseWhenFull(reply, error);
      }
      if (nx) reply.integer(1);
      else reply.ok();
    },
  };
}

/** `RENAME key newkey`: moves the value and its TTL to newkey, replacing what was there. */
export const RENAME: RedisCommand = renameCommand("RENAME", false, "Rename a key");
/** `RENAMENX key newkey`: as RENAME if newkey does not exist; 1 if it moved. */
export const RENAMENX: RedisCommand = renameCommand(
  "RENAMENX",
  true,
  "Rename a key, only if the new key does not exist",
);

/** The key commands, in the order COMMAND lists them. */
export const KEY_COMMANDS: readonly RedisCommand[] = [
  DEL,
  UNLINK,
  EXISTS,
  TOUCH,
  TYPE,
  RENAME,
  RENAMENX,
  KEYS,
  SCAN,
  EXPIRE,
  PEXPIRE,
  EXPIREAT,
  PEXPIREAT,
  TTL,
  PTTL,
  EXPIRETIME,
  PEXPIRETIME,
  PERSIST,
];
