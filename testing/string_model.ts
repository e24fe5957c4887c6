/**
 * A model of kv's string commands for the full-store fuzz
 * (tests/store_full_fuzz_test.ts): a Map of key -> value, expiry and
 * whether a line PUT wrote it, changed as Redis 7 (and kv's line protocol)
 * would change it, with the reply each command gets. Only the commands and
 * options the fuzz sends; values are text, keys a few fixed names.
 *
 * @module
 */

/** Redis's replies to a counter on a value that is not a number, and RENAME of no key. */
export const NOT_INTEGER = "-ERR value is not an integer or out of range";
export const NOT_FLOAT = "-ERR value is not a valid float";
export const NO_SUCH_KEY = "-ERR no such key";

/** A RESP reply: simple lines as they came (`+OK`, `-ERR ...`, `:1`), bulks as `$text` or `$nil`, arrays as arrays. */
export type Reply = string | Reply[];

/** A key's value as the model holds it. */
export interface Entry {
  value: string;
  /** Expiry in ms since the epoch; 0: none. */
  exp: number;
  /** Written by a line PUT (the log marks it `*`); a Redis write clears it, RENAME and expiry keep it. */
  line?: boolean;
}

/** The store, as the model sees it. */
export type Model = Map<string, Entry>;

/** Whether Redis reads `text` as a 64-bit integer (no sign but `-`, no leading zero). */
export function isInteger(text: string): boolean {
  if (!/^(0|-?[1-9][0-9]*)$/.test(text) || text.length > 20) return false;
  const n = BigInt(text);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}

/** Whether Redis reads `text` as a number for INCRBYFLOAT (of the forms the fuzz can make). */
export function isFloat(text: string): boolean {
  return /^-?[0-9]+(\.[0-9]+)?$/.test(text);
}

/** A copy of `model` that can be changed apart from it. */
export function clone(model: Model): Model {
  return new Map([...model].map(([k, e]) => [k, { ...e }]));
}

/** A bulk reply as {@linkcode Reply} writes it: `$text`, or `$nil` for none. */
export function bulk(text: string | undefined): string {
  return text === undefined ? "$nil" : `$${text}`;
}

/** The expiry in ms since the epoch that `option amount` sets at `now`. */
export function expiryFrom(option: string, amount: string, now: number): number {
  const n = Number(amount);
  switch (option) {
    case "EX":
      return now + n * 1000;
    case "PX":
      return now + n;
    case "EXAT":
      return n * 1000;
    default:
      return n;
  }
}

/** Runs `words` on `m` (changing it) as Redis 7 would, returning the reply. */
export function runResp(m: Model, words: string[], now: number): Reply {
  const [name, key = "", ...rest] = words;
  const old = m.get(key);
  switch (name) {
    case "SET": {
      const [text = "", ...options] = rest;
      const nx = options.includes("NX"), xx = options.includes("XX"), get = options.includes("GET");
      const reply = get ? bulk(old?.value) : "+OK";
      if ((nx && old !== undefined) || (xx && old === undefined)) return get ? reply : "$nil";
      let exp = 0;
      if (options.includes("KEEPTTL")) exp = old?.exp ?? 0;
      for (const option of ["EX", "PX", "EXAT", "PXAT"]) {
        const at = options.indexOf(option);
        if (at !== -1) exp = expiryFrom(option, options[at + 1]!, now);
      }
      m.set(key, { value: text, exp });
      return reply;
    }
    case "GET":
      return bulk(old?.value);
    case "MSET":
    case "MSETNX": {
      const pairs = [key, ...rest];
      if (name === "MSETNX") {
        for (let i = 0; i < pairs.length; i += 2) if (m.has(pairs[i]!)) return ":0";
      }
      for (let i = 0; i < pairs.length; i += 2) m.set(pairs[i]!, { value: pairs[i + 1]!, exp: 0 });
      return name === "MSET" ? "+OK" : ":1";
    }
    case "APPEND": {
      const next = (old?.value ?? "") + rest[0]!;
      m.set(key, { value: next, exp: old?.exp ?? 0 });
      return `:${next.length}`;
    }
    case "SETRANGE": {
      const offset = Number(rest[0]), text = rest[1]!;
      if (text === "") return `:${old?.value.length ?? 0}`;
      const base = (old?.value ?? "").padEnd(offset, "\0");
      const next = base.slice(0, offset) + text + base.slice(offset + text.length);
      m.set(key, { value: next, exp: old?.exp ?? 0 });
      return `:${next.length}`;
    }
    case "INCR":
    case "INCRBY": {
      const now = old?.value ?? "0";
      if (!isInteger(now)) return NOT_INTEGER;
      const next = String(BigInt(now) + BigInt(name === "INCR" ? "1" : rest[0]!));
      m.set(key, { value: next, exp: old?.exp ?? 0 });
      return `:${next}`;
    }
    case "INCRBYFLOAT": {
      const now = old?.value ?? "0";
      if (!isFloat(now)) return NOT_FLOAT;
      const next = String(Number(now) + Number(rest[0]));
      m.set(key, { value: next, exp: old?.exp ?? 0 });
      return bulk(next);
    }
    case "GETSET":
      m.set(key, { value: rest[0]!, exp: 0 });
      return bulk(old?.value);
    case "GETEX":
      if (old !== undefined && rest.length > 0) {
        old.exp = rest[0] === "PERSIST" ? 0 : expiryFrom(rest[0]!, rest[1]!, now);
      }
      return bulk(old?.value);
    case "GETDEL":
      m.delete(key);
      return bulk(old?.value);
    case "SETEX":
      m.set(key, { value: rest[1]!, exp: expiryFrom("EX", rest[0]!, now) });
      return "+OK";
    case "EXPIRE":
    case "PEXPIREAT":
      if (old === undefined) return ":0";
      old.exp = name === "EXPIRE" ? expiryFrom("EX", rest[0]!, now) : Number(rest[0]);
      return ":1";
    case "PERSIST":
      if (old === undefined || old.exp === 0) return ":0";
      old.exp = 0;
      return ":1";
    case "RENAME":
    case "RENAMENX": {
      const to = rest[0]!;
      if (old === undefined) return NO_SUCH_KEY;
      if (to === key) return name === "RENAME" ? "+OK" : ":0";
      if (name === "RENAMENX" && m.has(to)) return ":0";
      m.delete(key);
      m.set(to, old);
      return name === "RENAME" ? "+OK" : ":1";
    }
    case "DEL": {
      let count = 0;
      for (const k of new Set([key, ...rest])) if (m.delete(k)) count++;
      return `:${count}`;
    }
    case "FLUSHALL":
      m.clear();
      return "+OK";
  }
  throw new Error(`the model has no ${name}`);
}

/** Runs a line request on `m`: the answer line. */
export function runLine(m: Model, line: string): string {
  const [name, key = "", text = ""] = line.split(", ");
  const old = m.get(key);
  switch (name) {
    case "PUT":
      m.set(key, { value: text, exp: 0, line: true });
      return "Success!";
    case "GET":
      return old?.value ?? "Not exist!";
    default:
      return m.delete(key) ? "Success!" : "Not exist!";
  }
}
