/**
 * The seeded random commands of the differential against Redis
 * (e2e/redis_e2e.ts), and the loop that sends them to kv and to Redis and
 * returns every reply that differs. Apart from the test so that a longer
 * run, more commands and other seeds, can be driven from a scratch script
 * without slowing CI:
 *
 *     import { differences } from "./e2e/redis_random.ts";
 *     const found = await differences(kvPort, redisPort, 3, seed, 20_000);
 *
 * @module
 */

import { REDIS_COMMANDS } from "../command/redis/mod.ts";
import { floatText } from "../testing/float_inputs.ts";
import { mulberry32 } from "../testing/random.ts";
import { encode, replyEnd, RespConn } from "./redis.ts";

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** The next relative expiries of a run: EXPIRE's odd seconds from 1001, PEXPIRE's from 50,001 s (in ms). */
export interface Ttls {
  seconds: number;
  milliseconds: number;
}

/** Words sent as the bytes they hold (one byte a character), not as UTF-8: any byte, NUL and CR LF too. */
const BYTE_WORDS = new Set(["\x00\x01", "\x80\xff\r\n\x00\x7f \t", "\xff"]);

/** Every command kv has but those whose replies differ from Redis's by design, or end the run. */
const ANY_ARITY = REDIS_COMMANDS.map((command) => command.name).filter((name) =>
  !["QUIT", "HELLO", "SELECT", "SCAN", "COMMAND", "INFO", "TIME", "DBSIZE"].includes(name)
);

/** Random commands over a small key space, with the words Redis's rules turn on. */
export function randomCommand(next: () => number, ttls: Ttls): Uint8Array[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const int = (below: number) => Math.floor(next() * below);
  const key = () =>
    pick([
      ...["k1", "k2", "k3", "n1", "n2", "bin", "a,b", "키", "", "x".repeat(100)],
      ...["k*", "a b", "\xff", "y".repeat(1000)],
    ]);
  const value = () =>
    pick([
      "v",
      "",
      "hello, world",
      String(int(1000) - 500),
      "9223372036854775807",
      "-9223372036854775808",
      "값 😀",
      "a\r\nb",
      "\x00\x01",
      "3.14",
      "007",
      ...[" 5", "5 ", "+5", "-0", "1e3", "0x10", "inf", "\x80\xff\r\n\x00\x7f \t"],
      "z".repeat(int(3) * 1000),
    ]);
  const number = () =>
    pick([
      String(int(100)),
      "-1",
      "0",
      "x",
      "1.5",
      "9223372036854775807",
      "-9223372036854775808",
      "01",
      ...["", " 1", "+1", "1e3", "9223372036854775808", "-9223372036854775809", "0x10", "-0"],
    ]);
  // Expiries are far in the future or already past, never due during the
  // run: a key expiring between the two servers' copies of a command would
  // be a race in the test, not a difference. The relative ones EXPIRE and
  // PEXPIRE set grow with every command, in whole seconds, and differ by a
  // second or more from every other relative expiry in the mix, so GT and
  // LT compare alike on both servers however many milliseconds pass
  // between two commands (an EXPIRE k 1000 GT after an EXPIRE k 1000 was 1
  // or 0 by whether the clock ticked between them).
  const ttl = () => {
    const picked = pick(["next", "next", "0", "-5", "x"]);
    if (picked !== "next") return picked;
    ttls.seconds += 2;
    return String(ttls.seconds - 2);
  };
  const pttl = () => {
    ttls.milliseconds += 2_000;
    return String(ttls.milliseconds - 2_000);
  };
  const expiry = (): string[] => {
    const unit = pick(["EX", "PX", "EXAT", "PXAT", "ex", "pXaT"]);
    const values: Record<string, string[]> = {
      EX: ["1000", "100000", "0", "-5", "x", "9223372036854775807"],
      ex: ["1000", "1", "4000000000000"],
      PX: ["100000000", "0", "-5", "x"],
      EXAT: ["1", "4000000000", "0", "x"],
      PXAT: ["1000", "4000000000000", "0"],
      pXaT: ["4000000000000", "-1", "1.5"],
    };
    return [unit, pick(values[unit]!)];
  };
  const option = () => pick(["NX", "XX", "GT", "LT", "nx", "BOGUS"]);
  /** An option word in one of the cases people write it in: Redis reads them in any. */
  const anyCase = (word: string) =>
    pick([word, word.toLowerCase(), word.slice(0, 1) + word.slice(1).toLowerCase()]);
  /** 0 to 4 option words in any order, repeated or clashing, an expiry now and then without its value. */
  const options = (flags: readonly string[]): string[] => {
    const out: string[] = [];
    for (let n = int(5); n > 0; n--) {
      const x = next();
      if (x < 0.5) out.push(anyCase(pick(flags)));
      else if (x < 0.9) out.push(...expiry().slice(0, int(8) === 0 ? 1 : 2));
      else out.push(pick(["BOGUS", "10", "", "NX\r\n"]));
    }
    return out;
  };
  /** A glob pattern of 1 to 4 pieces: classes, ranges (reversed too), escapes, a `[` left open. */
  const pattern = () =>
    Array.from({ length: 1 + int(4) }, () =>
      pick([
        ...["k", "n", "1", "*", "?", "[kn]", "[^k]", "[a-z]", "[z-a]", "[!k]", "[\\]]"],
        ...["\\*", "\\", "[", "]", "x", " ", "키", "\xff"],
      ])).join("");
  const keys = () => Array.from({ length: 1 + int(6) }, key);
  // Relative expiries as EXPIRE's and PEXPIRE's are above; absolute ones
  // past or far off, and the edges of 64 bits (not past 2^53 ms: README).
  const expireArgs = (name: string): string[] => {
    const bad = ["0", "-1", "1.5", "", "x", "9223372036854775807", "-9223372036854775808"];
    if (name === "EXPIRE") return [ttl(), ttl(), "4000000000", ...bad];
    if (name === "PEXPIRE") return [pttl(), pttl(), "4000000001000", ...bad];
    if (name === "EXPIREAT") return ["1", "4000000000", "4000000002", ...bad];
    return ["1", "4000000000000", "4000000001000", ...bad.slice(0, -2)];
  };
  /** The wider forms: what client libraries and redis-cli users send beyond the plain ones. */
  const wider = (): string[] => {
    switch (int(14)) {
      case 0:
        return ["SET", key(), value(), ...options(["NX", "XX", "GET", "KEEPTTL", "PERSIST"])];
      case 1:
        return ["GETEX", key(), ...options(["PERSIST", "KEEPTTL", "NX", "GET"])];
      case 2: {
        const name = pick(["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"]);
        // A word Redis echoes in its error, line breaks and all (`NX\r\n`).
        const flag = () => pick(["NX", "XX", "GT", "LT", "BOGUS", "NX\r\n", "x\r\ny"]);
        const flags = Array.from({ length: int(3) }, flag);
        return [anyCase(name), key(), pick(expireArgs(name)), ...flags.map(anyCase)];
      }
      case 3: {
        // One call returns every key (COUNT 1000, last), compared sorted;
        // the options before it in any order, bad ones too. Not TYPE none:
        // Redis lists there a key whose time has passed (README).
        const opts = [
          ["MATCH", pattern()],
          ["TYPE", pick(["string", "STRING", "list", "bogus"])],
          ["COUNT", pick(["0", "-1", "x", "5"])],
          [pick(["MATCH", "TYPE", "COUNT", "BOGUS"])],
        ].filter(() => int(3) === 0);
        return ["SCAN", "0", ...opts.flat().map((w, i) => i % 2 ? w : anyCase(w)), "COUNT", "1000"];
      }
      case 4:
        return ["KEYS", pattern()];
      case 5: {
        // Any command kv has, with 0 to 3 arguments: wrong arities, and
        // arguments out of place (but no PEXPIREAT past 2^53 ms: README).
        const name = pick(ANY_ARITY);
        const arg = () => name === "PEXPIREAT" ? key() : pick([key(), value()]);
        return [anyCase(name), ...Array.from({ length: int(4) }, arg)];
      }
      case 6:
        return int(2)
          ? ["CLIENT", anyCase("SETNAME"), pick(["n", "", "a b", "名", "x\ny", "lib-1.0"])]
          : ["CLIENT", anyCase("GETNAME")];
      case 7: {
        // One name at a time: Redis lists several in its table's order.
        const names = ["appendonly", "save", "maxmemory", "maxmemory-policy", "SAVE", "nosuch"];
        return ["CONFIG", anyCase("GET"), pick(names)];
      }
      case 8: {
        if (int(2)) return [pick(["MSET", "MSETNX"]), ...keys().flatMap((k) => [k, value()])];
        return [pick(["MGET", "DEL", "UNLINK", "EXISTS", "TOUCH"]), ...keys()];
      }
      case 9:
        return int(3) ? ["INCRBYFLOAT", key(), floatText(next)] : ["SET", key(), floatText(next)];
      case 10: {
        // Offsets a few KiB in, or past Redis's 512 MiB (between: README, kv's limit).
        const offset = pick([
          String(int(3000)),
          "-1",
          "x",
          "1.5",
          "536870912",
          "9223372036854775807",
        ]);
        return ["SETRANGE", key(), offset, value()];
      }
      case 11: // Unknown commands: Redis quotes 128 bytes of their arguments, CR and LF as spaces.
        return [
          pick(["FOO", "x".repeat(200), "GETT", "SET\r\nX", "čt", ""]),
          ...Array.from({ length: int(5) }, () => pick([value(), "w".repeat(150), "a\r\nb"])),
        ];
      case 12: // Times read back: compared within a moment (agree()), outside MULTI only.
        return [pick(["PTTL", "EXPIRETIME", "PEXPIRETIME"]), key()];
      default:
        return int(2)
          ? [pick(["ECHO", "PING"]), value()]
          : ["SELECT", pick(["0", "00", "-0", "+0", " 0", "k1", ""])];
    }
  };
  const words: string[] = (() => {
    switch (int(36)) {
      case 0:
        return ["GET", key()];
      case 1:
        return ["SET", key(), value()];
      case 2:
        return [
          "SET",
          key(),
          value(),
          ...pick([["NX"], ["XX"], ["GET"], ["XX", "GET"], ["NX", "XX"], ["KEEPTTL"]]),
        ];
      case 3:
        return ["SET", key(), value(), ...expiry()];
      case 4:
        return ["SETNX", key(), value()];
      case 5:
        return ["GETDEL", key()];
      case 6:
        return ["MGET", key(), key(), key()];
      case 7:
        return int(4) === 0
          ? ["MSET", key(), value(), key()]
          : ["MSET", key(), value(), key(), value()];
      case 8:
        return [pick(["INCR", "DECR"]), key()];
      case 9:
        return [pick(["INCRBY", "DECRBY"]), key(), number()];
      case 10:
        return ["APPEND", key(), value()];
      case 11:
        return ["STRLEN", key()];
      case 12:
        return [pick(["DEL", "UNLINK", "EXISTS"]), key(), key()];
      case 13:
        return ["TYPE", key()];
      case 14:
        return ["EXPIRE", key(), ttl(), ...(int(2) === 0 ? [] : [option()])];
      case 15:
        return [
          "PEXPIRE",
          key(),
          pttl(),
          ...(int(2) === 0 ? [] : [option(), option()]),
        ];
      case 16:
        return ["TTL", key()];
      case 17:
        return ["PERSIST", key()];
      case 18:
        return ["KEYS", pick(["*", "k*", "n?", "[kn]1", "*,*", "nomatch"])];
      case 19:
        return ["EXISTS", key()];
      case 20:
        return ["PING", ...(int(2) === 0 ? [] : [value()])];
      case 21:
        return ["ECHO", value()];
      case 22:
        // Not DBSIZE: Redis counts an expired key until it reclaims it, kv a
        // key set with a time already past not at all (README: differences).
        return ["GETDEL", key()];
      case 23:
        // Transactions: queued commands, EXEC's array, EXECABORT after a bad one.
        return int(3) === 0
          ? [pick(["WATCH", "WATCH", "UNWATCH"]), key()]
          : [pick(["MULTI", "MULTI", "EXEC", "DISCARD", "EXEC x"])].flatMap((word) =>
            word.split(" ")
          );
      case 24: {
        // Not EXPIRETIME/PEXPIRETIME: a relative expiry's absolute time
        // differs by the milliseconds between the two servers' copies.
        const form = int(4);
        if (form === 0) return ["SETEX", key(), ttl(), value()];
        if (form === 1) return ["PSETEX", key(), pttl(), value()];
        if (form === 2) return ["GETSET", key(), value()];
        return ["GETEX", key(), ...pick([[], ["PERSIST"], expiry(), ["PERSIST", "EX", "10"]])];
      }
      case 25: {
        // Later additions: float increments, renames, ranges.
        const form = int(6);
        if (form === 0) {
          return ["INCRBYFLOAT", key(), pick(["0.1", "-1.5", "1e3", "3.0e-2", "0x10", "x", "inf"])];
        }
        if (form === 1) return ["MSETNX", key(), value(), key(), value()];
        if (form === 2) return [pick(["RENAME", "RENAMENX"]), key(), key()];
        if (form === 3) return [pick(["GETRANGE", "SUBSTR"]), key(), number(), number()];
        if (form === 4) return ["SETRANGE", key(), String(int(20)), value()];
        return ["TOUCH", key(), key()];
      }
      case 26:
        return [pick(["FOO", "get", "SET", "EXPIRE", "ttl"])]; // unknown, or wrong arity
      default:
        return wider();
    }
  })();
  // Command names in any case too, as people type them into redis-cli.
  if (int(10) === 0) words[0] = anyCase(words[0]!);
  return words.map((word) =>
    BYTE_WORDS.has(word) ? Uint8Array.from(word, (c) => c.charCodeAt(0)) : encoder.encode(word)
  );
}

/** How C escapes these bytes in a string, as sdssplitargs reads them in double quotes. */
const ESCAPES: Record<number, string> = { 10: "\\n", 13: "\\r", 9: "\\t", 8: "\\b", 7: "\\a" };

/**
 * `words` as an inline command, one line that Redis's sdssplitargs reads
 * back into the same words: each word bare, in single quotes, or in double
 * quotes with escapes (`\"`, `\n`, `\xff`), by chance where more than
 * one would do.
 */
export function inline(words: Uint8Array[], next: () => number): Uint8Array {
  const is = (b: number, from: number, below: number, not: number[]) =>
    b >= from && b < below && !not.includes(b);
  const parts = words.map((word) => {
    const text = String.fromCharCode(...word);
    if (
      word.length > 0 && word.every((b) => is(b, 0x21, 0x7f, [0x22, 0x27, 0x5c])) && next() < 0.7
    ) {
      return text;
    }
    if (word.every((b) => is(b, 0x20, 0x7f, [0x27, 0x5c])) && next() < 0.5) return `'${text}'`;
    const escaped = [...word].map((b) => {
      if (b === 0x22 || b === 0x5c) return `\\${String.fromCharCode(b)}`;
      if (is(b, 0x20, 0x7f, [])) return String.fromCharCode(b);
      return (next() < 0.5 ? ESCAPES[b] : undefined) ?? `\\x${b.toString(16).padStart(2, "0")}`;
    });
    return `"${escaped.join("")}"`;
  });
  const line = parts.join(next() < 0.8 ? " " : " \t ") + (next() < 0.8 ? "\r\n" : "\n");
  return Uint8Array.from(line, (c) => c.charCodeAt(0));
}

/** Replies compared loosely: in hash order (sorted before comparing), or a time (within half a second). */
const LOOSE = new Set(["KEYS", "SCAN", "PTTL", "EXPIRETIME", "PEXPIRETIME"]);

/** The elements of an array reply, each whole (nested ones too), or undefined if it is not one. */
function elements(reply: Uint8Array): Uint8Array[] | undefined {
  const match = /^\*(\d+)\r\n/.exec(latin1.decode(reply.subarray(0, 24)));
  if (!match) return undefined;
  const out: Uint8Array[] = [];
  for (let i = 0, at = match[0].length; i < Number(match[1]); i++) {
    const end = replyEnd(reply, at);
    out.push(reply.subarray(at, end));
    at = end;
  }
  return out;
}

/** Whether kv's reply to a command named `name` is Redis's, by LOOSE's rules for those it names. */
function agree(name: string, ours: Uint8Array, theirs: Uint8Array): boolean {
  const sorted = (reply: Uint8Array) =>
    elements(reply)?.map((element) => latin1.decode(element)).toSorted().join("|");
  const [a, b] = [latin1.decode(ours), latin1.decode(theirs)];
  if (a === b) return true;
  if (name === "KEYS") return sorted(ours) === sorted(theirs);
  if (name === "SCAN") {
    // A whole scan in one call: cursor 0, and the same keys in any order.
    const [x, y] = [elements(ours), elements(theirs)];
    return x?.length === 2 && y?.length === 2 && latin1.decode(x[0]) === latin1.decode(y[0]) &&
      sorted(x[1]!) === sorted(y[1]!);
  }
  if (!LOOSE.has(name)) return false;
  const [x, y] = [/^:(\d+)\r\n$/.exec(a), /^:(\d+)\r\n$/.exec(b)];
  const within = name === "EXPIRETIME" ? 1 : 500;
  return x !== null && y !== null && Math.abs(Number(x[1]) - Number(y[1])) <= within;
}

/**
 * Sends the same `count` random commands from `seed` to kv and to Redis
 * and returns every reply that differs. Now and then a few go in one write
 * (a pipeline), and some as inline lines.
 */
export async function differences(
  kvPort: number,
  redisPort: number,
  resp: 2 | 3,
  seed: number,
  count: number,
): Promise<string[]> {
  const kv = await RespConn.open(kvPort);
  const redis = await RespConn.open(redisPort);
  const found: string[] = [];
  const nameOf = (words: Uint8Array[]) => latin1.decode(words[0]).toUpperCase();
  try {
    for (const conn of [kv, redis]) {
      await conn.call([encoder.encode("FLUSHALL")]);
      if (resp === 3) await conn.call([encoder.encode("HELLO"), encoder.encode("3")]);
    }
    const next = mulberry32(seed);
    const ttls: Ttls = { seconds: 1001, milliseconds: 50_001_000 };
    let inMulti = false;
    for (let i = 0; i < count;) {
      const batch: [number, Uint8Array[]][] = [];
      for (let n = next() < 0.1 ? 2 + Math.floor(next() * 3) : 1; n > 0 && i < count; n--, i++) {
        const words = randomCommand(next, ttls);
        // A loose reply inside EXEC's array could not be compared loosely.
        const multi = inMulti || batch.some(([, queued]) => nameOf(queued) === "MULTI");
        if (!(multi && LOOSE.has(nameOf(words)))) batch.push([i, words]);
      }
      const requests = batch.map(([, words]) => next() < 0.1 ? inline(words, next) : encode(words));
      const replies: Uint8Array[][] = [];
      for (const conn of [kv, redis]) {
        await conn.sendEncoded(requests);
        const got: Uint8Array[] = [];
        for (const _ of batch) got.push(await conn.read());
        replies.push(got);
      }
      batch.forEach(([at, words], n) => {
        const [ours, theirs] = [replies[0]![n]!, replies[1]![n]!];
        const name = nameOf(words);
        const reply = latin1.decode(theirs);
        if (name === "MULTI" && reply === "+OK\r\n") inMulti = true;
        if (/^(EXEC|DISCARD)$/.test(name) && !reply.startsWith("-ERR wrong number")) {
          inMulti = false;
        }
        if (!agree(name, ours, theirs)) {
          const show = (bytes: Uint8Array) => JSON.stringify(latin1.decode(bytes));
          const sent = words.map(show).join(" ");
          found.push(`#${at} ${sent}: kv ${show(ours)}, redis ${show(theirs)}`);
        }
      });
    }
  } finally {
    kv.close();
    redis.close();
  }
  return found;
}
