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

import { mulberry32 } from "../testing/random.ts";
import { RespConn } from "./redis.ts";

const encoder = new TextEncoder();

/** The elements of a flat array reply of bulk strings, for order-free comparison. */
function sortedArray(reply: Uint8Array): string {
  const text = new TextDecoder("latin1").decode(reply);
  const [head, ...rest] = text.split("\r\n");
  const elements: string[] = [];
  for (let i = 0; i + 1 < rest.length; i += 2) elements.push(`${rest[i]}\r\n${rest[i + 1]}`);
  return [head, ...elements.toSorted()].join("\r\n");
}

/** Random commands over a small key space, with the words Redis's rules turn on. */
/** The next relative expiries of a run: EXPIRE's odd seconds from 1001, PEXPIRE's from 50,001 s (in ms). */
export interface Ttls {
  seconds: number;
  milliseconds: number;
}

export function randomCommand(next: () => number, ttls: Ttls): Uint8Array[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const int = (below: number) => Math.floor(next() * below);
  const key = () => pick(["k1", "k2", "k3", "n1", "n2", "bin", "a,b", "키", "", "x".repeat(100)]);
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
    const unit = pick(["EX", "PX", "EXAT", "PXAT", "ex"]);
    const values: Record<string, string[]> = {
      EX: ["1000", "100000", "0", "-5", "x", "9223372036854775807"],
      ex: ["1000", "1"],
      PX: ["100000000", "0", "-5", "x"],
      EXAT: ["1", "4000000000", "0", "x"],
      PXAT: ["1000", "4000000000000", "0"],
    };
    return [unit, pick(values[unit]!)];
  };
  const option = () => pick(["NX", "XX", "GT", "LT", "nx", "BOGUS"]);
  const words: string[] = (() => {
    switch (int(27)) {
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
      default:
        return [pick(["FOO", "get", "SET", "EXPIRE", "ttl"])]; // unknown, or wrong arity
    }
  })();
  // Byte strings: "\x00\x01" must stay two bytes, not be UTF-8 encoded.
  return words.map((word) => word === "\x00\x01" ? new Uint8Array([0, 1]) : encoder.encode(word));
}

/** Sends the same commands to kv and to Redis and returns every reply that differs. */
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
  try {
    for (const conn of [kv, redis]) {
      await conn.call([encoder.encode("FLUSHALL")]);
      if (resp === 3) await conn.call([encoder.encode("HELLO"), encoder.encode("3")]);
    }
    const next = mulberry32(seed);
    const ttls: Ttls = { seconds: 1001, milliseconds: 50_001_000 };
    let inMulti = false;
    for (let i = 0; i < count; i++) {
      const words = randomCommand(next, ttls);
      const name = new TextDecoder().decode(words[0]).toUpperCase();
      // KEYS lists in hash order, compared sorted; inside EXEC's array it could not be.
      if (inMulti && name === "KEYS") continue;
      if (name === "MULTI") inMulti = true;
      if (name === "EXEC" || name === "DISCARD") inMulti = false;
      let [ours, theirs] = [await kv.call(words), await redis.call(words)];
      const show = (bytes: Uint8Array) => JSON.stringify(new TextDecoder("latin1").decode(bytes));
      let a = show(ours);
      let b = show(theirs);
      if (name === "KEYS") {
        a = JSON.stringify(sortedArray(ours));
        b = JSON.stringify(sortedArray(theirs));
      }
      if (a !== b) {
        found.push(
          `#${i} ${
            words.map((w) => JSON.stringify(new TextDecoder().decode(w))).join(" ")
          }: kv ${a}, redis ${b}`,
        );
      }
      [ours, theirs] = [new Uint8Array(), new Uint8Array()];
    }
  } finally {
    kv.close();
    redis.close();
  }
  return found;
}
