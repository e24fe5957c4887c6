/**
 * Redis's string commands: GET, SET (with EX, PX, EXAT, PXAT, NX, XX,
 * KEEPTTL, GET), SETNX, GETDEL, MGET, MSET, MSETNX, APPEND and STRLEN, with
 * Redis 7's replies and errors; the counters (INCR and its kin) are in
 * string_counters.ts.
 *
 * @module
 */

import {
  LINE_TEXT,
  NO_KEY,
  PAIR_OVERHEAD_BYTES,
  type Store,
  StoreFullError,
  type ValueSink,
  type WriteOptions,
} from "../../store/store.ts";
import { type Context, countLookup, type RedisCommand } from "../command.ts";
import { GET as LINE_GET } from "../keys.ts";
import type { Watches } from "../watch.ts";
import { type Failure, type RedisReply, refuseWhenFull } from "../reply.ts";
import { byteString, type Request } from "../request.ts";
import { argInt, argIs, ERR, INT64_MAX } from "./args.ts";

/** A value a command would make longer than {@linkcode maxStringBytes}, as Redis's error. */
export const TOO_BIG: Failure = {
  kind: "redis",
  text: "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
};
// Redis's own proto-max-bulk-len.
const MAX_STRING_BYTES = 512 * 1024 * 1024;

/**
 * The longest value APPEND or SETRANGE may make: what `CONFIG GET
 * proto-max-bulk-len` reports (kv's `--max-line-bytes`, the longest request,
 * so the longest value a SET could carry), at most Redis's 512 MiB. Redis
 * checks both commands against its own proto-max-bulk-len.
 */
export function maxStringBytes(context: Context): number {
  return Math.min(context.stats.maxRequestBytes, MAX_STRING_BYTES);
}
/** Write options that keep the key's TTL (APPEND, INCR and the like, as Redis). */
export const KEEP_TTL: WriteOptions = { keepTtl: true };

// Values up to this size are copied into one reused buffer; longer ones each
// into their own (the copy costs more than the allocation then, and a big
// value read once does not stay held).
const SCRATCH_BYTES = 64 * 1024;
const NO_BYTES = new Uint8Array(0);

/**
 * A copy of a value read from the store, for commands that compute with it.
 * A fresh copy was an ArrayBuffer per command, a malloc and a free outside
 * V8's heap: STRLEN and GETRANGE ran at a third of Redis's speed.
 */
class ValueCopy implements ValueSink {
  bytes: Uint8Array = NO_BYTES;
  #scratch: Uint8Array | undefined;
  addBytes(bytes: Uint8Array, start: number, end: number): void {
    const length = end - start;
    if (length > SCRATCH_BYTES) {
      this.bytes = bytes.slice(start, end);
      return;
    }
    const scratch = this.#scratch ??= new Uint8Array(SCRATCH_BYTES);
    scratch.set(bytes.subarray(start, end));
    this.bytes = scratch.subarray(0, length);
  }
}
const COPY = new ValueCopy();

/**
 * Reads the value of argument `i`'s key into a copy, or `undefined`. The
 * copy is good until the next `readValue` (or {@linkcode readCounted}): the
 * command that reads it uses it before it returns, and the store copies what
 * it keeps, so each command reads at most one value this way.
 */
export function readValue({ store }: Context, request: Request, i: number): Uint8Array | undefined {
  COPY.bytes = NO_BYTES;
  return store.get(request.bytes, request.starts[i]!, request.ends[i]!, COPY)
    ? COPY.bytes
    : undefined;
}

/**
 * {@linkcode readValue} for a command that reads the key (GETDEL, STRLEN,
 * GETRANGE, ...): its lookup counts for INFO ({@linkcode countLookup}). A
 * command the store may refuse as full counts after its write instead (SET
 * ... GET, GETSET): Redis refuses such a command before it looks anything up.
 */
export function readCounted(context: Context, request: Request, i: number): Uint8Array | undefined {
  const value = readValue(context, request, i);
  countLookup(context.stats, value !== undefined);
  return value;
}

/** Takes a value's length only, with no copy (STRLEN, APPEND's and SETRANGE's checks, SETNX). */
class ValueLength implements ValueSink {
  length = 0;
  addBytes(_bytes: Uint8Array, start: number, end: number): void {
    this.length = end - start;
  }
}
const LENGTH = new ValueLength();

/**
 * The length of argument `i`'s value, or -1 if the key is missing. Unlike
 * {@linkcode readValue} it copies nothing: STRLEN of a 1 MB value copied it
 * whole (2,000 requests/s against Redis's 340,000).
 */
export function valueLength({ store }: Context, request: Request, i: number): number {
  LENGTH.length = 0;
  return store.get(request.bytes, request.starts[i]!, request.ends[i]!, LENGTH)
    ? LENGTH.length
    : -1;
}

/** Runs a store write; a full store becomes Redis's OOM error. Returns whether it wrote. */
export function write(reply: RedisReply, action: () => void): boolean {
  try {
    action();
    return true;
  } catch (error) {
    refuseWhenFull(reply, error);
    return false;
  }
}

/** `GET key`: the value, or nil (the same handler as the line protocol's GET). */
export const GET: RedisCommand = {
  name: "GET",
  arity: 2,
  flags: ["readonly", "fast"],
  keys: [1, 1, 1],
  writes: false,
  summary: "Get the value of a key",
  run: LINE_GET.run,
};

/** `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]`. */
export const SET: RedisCommand = {
  name: "SET",
  arity: -3,
  flags: ["write", "denyoom"],
  keys: [1, 1, 1],
  writes: true,
  summary: "Set the string value of a key",
  run(request, context, reply) {
    // Redis 7's rules (parseExtendedStringArgumentsOrReply): NX and XX
    // exclude each other, KEEPTTL excludes the expiries, an expiry excludes
    // the other kinds (the same kind may repeat: the last one counts).
    let nx = false;
    let xx = false;
    let get = false;
    let keepTtl = false;
    let kind = ""; // "ex", "px", "exat" or "pxat"
    let expiryArg = -1;
    for (let i = 2; i < request.count; i++) {
      const more = i + 1 < request.count;
      const expiry = more && !keepTtl ? expiryKind(request, i) : "";
      if (argIs(request, i, "nx") && !xx) nx = true;
      else if (argIs(request, i, "xx") && !nx) xx = true;
      else if (argIs(request, i, "get")) get = true;
      else if (argIs(request, i, "keepttl") && kind === "") keepTtl = true;
      else if (expiry !== "" && (kind === "" || kind === expiry)) {
        kind = expiry;
        expiryArg = ++i;
      } else {
        return reply.error(ERR.syntax);
      }
    }
    let options: WriteOptions | undefined = keepTtl ? KEEP_TTL : undefined;
    if (kind !== "") {
      const unit = kind === "ex" || kind === "exat" ? 1000 : 1;
      const at = expiryTime(request, expiryArg, unit, kind.endsWith("at"), context, "set");
      if (typeof at !== "number") return reply.error(at);
      options = { expireAtMs: at };
    }
    const { store } = context;
    // Without GET only whether the key is there: no copy of its value.
    const old = get ? readValue(context, request, 0) : undefined;
    const there = get ? old !== undefined : (nx || xx) && valueLength(context, request, 0) >= 0;
    if ((nx && there) || (xx && !there)) {
      if (!get) return reply.nil();
    } else {
      const { bytes, starts, ends } = request;
      try {
        store.set(bytes, starts[0]!, ends[0]!, bytes, starts[1]!, ends[1]!, options);
      } catch (error) {
        // The OOM error alone, as Redis refuses the command: not the old value too.
        return refuseWhenFull(reply, error);
      }
      if (!get) return reply.ok();
    }
    // GET: the old value, once the set is done (or not done: NX, XX). Its
    // read counts only now: a command answered OOM counts none, as Redis
    // refuses it before it runs.
    countLookup(context.stats, old !== undefined);
    if (old === undefined) reply.nil();
    else reply.bytes(old, 0, old.length);
  },
};

/** Which expiry option argument `i` is (`ex`, `px`, `exat`, `pxat`), or "". */
export function expiryKind(request: Request, i: number): string {
  if (argIs(request, i, "ex")) return "ex";
  if (argIs(request, i, "px")) return "px";
  if (argIs(request, i, "exat")) return "exat";
  if (argIs(request, i, "pxat")) return "pxat";
  return "";
}

/**
 * The absolute expiry in ms an argument gives, or the error Redis gives:
 * not an integer; not positive, or past what Redis can hold.
 */
export function expiryTime(
  request: Request,
  i: number,
  unitMs: number,
  absolute: boolean,
  { clock }: Context,
  command: string,
): number | Failure {
  const value = argInt(request, i);
  if (value === undefined) return ERR.notInteger;
  const invalid: Failure = {
    kind: "redis",
    text: `ERR invalid expire time in '${command}' command`,
  };
  if (value <= 0n || (unitMs === 1000 && value > INT64_MAX / 1000n)) return invalid;
  const ms = value * BigInt(unitMs) + (absolute ? 0n : BigInt(clock.now()));
  // kv keeps expiries as exact doubles: past 2^53 ms (year 285,616) is invalid too.
  if (ms > INT64_MAX || ms > BigInt(Number.MAX_SAFE_INTEGER)) return invalid;
  return Number(ms);
}

/** `SETNX key value`: sets only a missing key; 1 if it did. */
export const SETNX: RedisCommand = {
  name: "SETNX",
  arity: 3,
  flags: ["write", "denyoom", "fast"],
  keys: [1, 1, 1],
  writes: true,
  summary: "Set the value of a key, only if the key does not exist",
  run(request, context, reply) {
    if (valueLength(context, request, 0) >= 0) return reply.integer(0);
    const { bytes, starts, ends } = request;
    if (
      write(
        reply,
        () => context.store.set(bytes, starts[0]!, ends[0]!, bytes, starts[1]!, ends[1]!),
      )
    ) {
      reply.integer(1);
    }
  },
};

/** `GETDEL key`: the value, and the key is deleted. */
export const GETDEL: RedisCommand = {
  name: "GETDEL",
  arity: 2,
  flags: ["write", "fast"],
  keys: [1, 1, 1],
  writes: true,
  summary: "Get the value of a key and delete the key",
  run(request, context, reply) {
    const old = readCounted(context, request, 0);
    if (old === undefined) return reply.nil();
    context.store.delete(request.bytes, request.starts[0]!, request.ends[0]!);
    reply.bytes(old, 0, old.length);
  },
};

/** `MGET key [key ...]`: an array of values, nil for each missing key. */
export const MGET: RedisCommand = {
  name: "MGET",
  arity: -2,
  flags: ["readonly", "fast"],
  keys: [1, -1, 1],
  writes: false,
  summary: "Get the values of all the given keys",
  run(request, { store, stats }, reply) {
    reply.array(request.count);
    for (let i = 0; i < request.count; i++) {
      const found = store.get(request.bytes, request.starts[i]!, request.ends[i]!, reply);
      if (!countLookup(stats, found)) reply.nil();
    }
  },
};

/** `MSET key value [key value ...]`. */
export const MSET: RedisCommand = {
  name: "MSET",
  arity: -3,
  flags: ["write", "denyoom"],
  keys: [1, -1, 2],
  writes: true,
  summary: "Set multiple keys to multiple values",
  run(request, context, reply) {
    if (request.count % 2 !== 0) return reply.error({ kind: "usage", command: MSET });
    if (setPairs(context, request, reply)) reply.ok();
  },
};

/** `MSETNX key value [key value ...]`: sets them all only if none exists; 1 if it did. */
export const MSETNX: RedisCommand = {
  name: "MSETNX",
  arity: -3,
  flags: ["write", "denyoom"],
  keys: [1, -1, 2],
  writes: true,
  summary: "Set multiple keys to multiple values, only if none of the keys exist",
  run(request, context, reply) {
    if (request.count % 2 !== 0) return reply.error({ kind: "usage", command: MSETNX });
    const { store } = context;
    const { bytes, starts, ends } = request;
    for (let i = 0; i < request.count; i += 2) {
      if (store.expiry(bytes, starts[i]!, ends[i]!) !== NO_KEY) return reply.integer(0);
    }
    if (setPairs(context, request, reply)) reply.integer(1);
  },
};

/**
 * Sets every pair of MSET or MSETNX, as one change for the log (a crash
 * keeps every pair or none, as Redis logs one MSET). A full store sets
 * none: Redis refuses the whole command when it is out of memory. When the
 * store cannot vouch for room for all of them (`Store.room`), each value a
 * set replaces is kept, and if a pair does not fit, those set before it
 * are put back as they were, newest first, unseen by WATCH; the reply is
 * then the OOM error. Returns whether it set them.
 */
function setPairs({ store, watches }: Context, request: Request, reply: RedisReply): boolean {
  const { bytes, starts, ends } = request;
  let need = 0;
  for (let i = 0; i < request.count; i++) need += ends[i]! - starts[i]!;
  need += (request.count / 2) * PAIR_OVERHEAD_BYTES;
  const setAll = store.room !== undefined && need <= store.room()
    ? () => {
      for (let i = 0; i < request.count; i += 2) {
        store.set(bytes, starts[i]!, ends[i]!, bytes, starts[i + 1]!, ends[i + 1]!);
      }
    }
    : () => watches.whole(() => setAllOrNone(store, watches, request));
  return write(reply, () => store.together ? store.together(setAll) : setAll());
}

/** A key's value as a set found it (none: `bytes` undefined), to put back. */
class Saved implements ValueSink {
  bytes: Uint8Array | undefined;
  // Put back, it fits: the store held it a moment ago, if it reclaims all it can.
  readonly options: WriteOptions = { reclaim: true };
  addBytes(bytes: Uint8Array, start: number, end: number, flags = 0): void {
    this.bytes = bytes.slice(start, end);
    this.options.lineText = (flags & LINE_TEXT) !== 0;
  }
}

/**
 * The indices of the pairs whose key comes up no more after them, in order:
 * a value set and then replaced within one MSET is never seen (Redis sets
 * them in order), and setting it first could only run out of room.
 */
function lastOfEachKey(request: Request): number[] {
  const { bytes, starts, ends } = request;
  const seen = new Set<string>();
  const last: number[] = [];
  for (let i = request.count - 2; i >= 0; i -= 2) {
    const key = byteString(bytes, starts[i]!, ends[i]!);
    if (seen.has(key)) continue;
    seen.add(key);
    last.push(i);
  }
  return last.reverse();
}

/** {@linkcode setPairs} on a store that may be full: all the pairs, or (StoreFullError) none. */
function setAllOrNone(store: Store, watches: Watches, request: Request): void {
  const { bytes, starts, ends } = request;
  const pairs = lastOfEachKey(request);
  const before: Saved[] = [];
  let n = 0;
  try {
    for (; n < pairs.length; n++) {
      const i = pairs[n]!;
      const saved = new Saved();
      // The expiry first: read after the value, a tick in between could lose it.
      const expiry = store.expiry(bytes, starts[i]!, ends[i]!);
      if (expiry > 0) saved.options.expireAtMs = expiry;
      store.get(bytes, starts[i]!, ends[i]!, saved);
      before.push(saved);
      store.set(bytes, starts[i]!, ends[i]!, bytes, starts[i + 1]!, ends[i + 1]!);
    }
  } catch (error) {
    // The keys set before it stay set (a failure of another kind puts none back): changes.
    const keep = (upTo: number) => {
      for (let m = 0; m < upTo; m++) watches.kept(bytes, starts[pairs[m]!]!, ends[pairs[m]!]!);
    };
    if (!(error instanceof StoreFullError)) {
      keep(n);
      throw error;
    }
    for (let m = n - 1; m >= 0; m--) {
      const j = pairs[m]!;
      const old = before[m]!;
      try {
        if (old.bytes === undefined) store.delete(bytes, starts[j]!, ends[j]!);
        else store.set(bytes, starts[j]!, ends[j]!, old.bytes, 0, old.bytes.length, old.options);
      } catch (again) {
        if (!(again instanceof StoreFullError)) {
          keep(m + 1);
          throw again;
        }
        // A store that cannot reclaim (WriteOptions.reclaim) at its cap: the
        // rest are still put back, and this key keeps the MSET's value.
        watches.kept(bytes, starts[j]!, ends[j]!);
      }
    }
    throw error;
  }
}

/** `STRLEN key`: the value's length in bytes, 0 for a missing key. */
export const STRLEN: RedisCommand = {
  name: "STRLEN",
  arity: 2,
  flags: ["readonly", "fast"],
  keys: [1, 1, 1],
  writes: false,
  summary: "Get the length of the value stored in a key",
  run(request, context, reply) {
    const length = valueLength(context, request, 0);
    countLookup(context.stats, length >= 0);
    reply.integer(Math.max(0, length));
  },
};

/** The string commands, in the order COMMAND lists them. */
export const STRING_COMMANDS: readonly RedisCommand[] = [
  GET,
  SET,
  SETNX,
  GETDEL,
  MGET,
  MSET,
  MSETNX,
  STRLEN,
];
