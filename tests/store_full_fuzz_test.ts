/**
 * A seeded, model-based fuzz test of a full store (README, "Where the
 * contract leaves room": a write the store has no room for fails alone,
 * changes nothing, and the server goes on). Random commands of both
 * protocols, on a few keys with values up to a few KiB, fill a small store,
 * empty it and fill it again; a model (key -> value and expiry) predicts
 * every reply. A store-full error must leave the model as it was; any other
 * reply must be the model's, and the model then takes the command's effect.
 * After every command the whole store (GET and PTTL of every key, DBSIZE;
 * LIST now and then) must agree with the model. With a log, a fresh open of
 * it after the run must hold exactly the model's pairs.
 *
 * A failure names the seed, the cap and the commands that led to it.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { ManualClock } from "../store/clock.ts";
import { MemoryStore } from "../store/memory.ts";
import type { Store } from "../store/store.ts";
import { logContents, openTestLog } from "../testing/log_store.ts";
import { mulberry32 } from "../testing/random.ts";
import { FakeFs, RawConn, resp, startTestServer } from "../testing/mod.ts";
import {
  bulk,
  clone,
  type Entry,
  isFloat,
  type Model,
  type Reply,
  runLine,
  runResp,
} from "../testing/string_model.ts";

// A seed whose run, with kills, caught a log that did not load at its cap (before Arena.load).
const SEED = 7919;
const COMMANDS = 1_500;
const CAPS = [4096, 16384, 65536];
// Far in the future, so that a fresh open of the log on the real clock
// expires nothing the model still holds.
const NOW = 4_000_000_000_000;
const OOM = "-OOM command not allowed when used memory > 'maxmemory'.";
const KEYS = ["a", "b", "c", "d", "e", "f", "g", "k:a-longer-key-name"];
// No e, x, i, n, f or a: letters alone, or letters after digits (APPEND),
// never parse as a number (1e3, 0x1, inf, nan).
const LETTERS = "bcdghjklmopqrstuvwyz";

/** A command of either protocol. */
type Command = { resp: string[] } | { line: string } | { multi: string[][] };

class Random {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  between(low: number, high: number): number {
    return low + this.int(high - low + 1);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** The longest value the fuzz writes at once: a few KiB, more for a larger store, so that it fills. */
let maxValue = 4000;

function value(random: Random): string {
  if (random.chance(0.2)) return String(random.between(-50, 500));
  const r = random.next();
  const length = r < 0.5
    ? random.int(64)
    : r < 0.75
    ? random.between(64, 1024)
    : random.between(1024, maxValue);
  const letter = random.pick([...LETTERS]);
  return letter.repeat(length);
}

function expiryOption(random: Random): string[] {
  switch (random.int(4)) {
    case 0:
      return ["EX", String(random.between(1000, 1_000_000))];
    case 1:
      return ["PX", String(random.between(1_000_000, 1_000_000_000))];
    case 2:
      return ["EXAT", String(NOW / 1000 + random.between(1000, 1_000_000))];
    default:
      return ["PXAT", String(NOW + random.between(1_000_000, 1_000_000_000))];
  }
}

/** A RESP write of one command, picked with the model in view (INCRBYFLOAT only on small numbers). */
function respCommand(random: Random, model: Model): string[] {
  const key = random.pick(KEYS);
  const r = random.int(100);
  if (r < 18) {
    const words = ["SET", key, value(random)];
    if (random.chance(0.3)) words.push(random.pick(["NX", "XX"]));
    if (random.chance(0.4)) words.push(...expiryOption(random));
    else if (random.chance(0.15)) words.push("KEEPTTL");
    if (random.chance(0.3)) words.push("GET");
    return words;
  }
  if (r < 26) return ["GET", key];
  if (r < 32) {
    const words = [random.chance(0.7) ? "MSET" : "MSETNX"];
    for (let i = random.between(1, 3); i > 0; i--) {
      // A key named twice now and then: only its last value stays.
      const again = words.length > 1 && random.chance(0.3);
      words.push(again ? words.at(-2)! : random.pick(KEYS), value(random));
    }
    return words;
  }
  if (r < 38) {
    // Short pieces half the time: a value grows where it lies, into its room to spare.
    const piece = random.chance(0.5)
      ? random.pick([...LETTERS]).repeat(random.between(1, 8))
      : value(random);
    return ["APPEND", key, piece];
  }
  if (r < 42) {
    const length = model.get(key)?.value.length ?? 0;
    const offset = random.chance(0.9) ? random.int(length + 1) : length + random.int(300);
    return ["SETRANGE", key, String(offset), random.chance(0.1) ? "" : value(random)];
  }
  if (r < 47) {
    return random.chance(0.5) ? ["INCR", key] : ["INCRBY", key, String(random.between(-100, 100))];
  }
  if (r < 50) {
    const now = model.get(key)?.value ?? "0";
    if (isFloat(now) && now.length < 12) {
      return ["INCRBYFLOAT", key, String(random.between(-20, 20) / 2)];
    }
    return ["INCR", key];
  }
  if (r < 54) return ["GETSET", key, value(random)];
  if (r < 59) {
    const words = ["GETEX", key];
    if (random.chance(0.7)) {
      words.push(...(random.chance(0.7) ? expiryOption(random) : ["PERSIST"]));
    }
    return words;
  }
  if (r < 62) return ["GETDEL", key];
  if (r < 66) return ["SETEX", key, String(random.between(1000, 1_000_000)), value(random)];
  if (r < 71) {
    return random.chance(0.5)
      ? ["EXPIRE", key, String(random.between(1000, 1_000_000))]
      : ["PEXPIREAT", key, String(NOW + random.between(1_000_000, 1_000_000_000))];
  }
  if (r < 74) return ["PERSIST", key];
  if (r < 80) return [random.chance(0.6) ? "RENAME" : "RENAMENX", key, random.pick(KEYS)];
  if (r < 89) {
    const words = ["DEL", key];
    if (random.chance(0.4)) words.push(random.pick(KEYS));
    return words;
  }
  if (r < 90 && random.chance(0.3)) return ["FLUSHALL"];
  return ["SET", key, value(random)];
}

function command(random: Random, model: Model): Command {
  const r = random.int(100);
  if (r < 25) {
    const key = random.pick(KEYS);
    const q = random.int(10);
    if (q < 6) return { line: `PUT, ${key}, ${value(random)}` };
    if (q < 8) return { line: `GET, ${key}` };
    return { line: `DELETE, ${key}` };
  }
  if (r < 33) {
    // Each command is picked against the model as it is before the block.
    const words: string[][] = [];
    for (let i = random.between(2, 5); i > 0; i--) words.push(respCommand(random, model));
    return { multi: words };
  }
  return { resp: respCommand(random, model) };
}

/** Commands that never need room: a store-full error for them is a bug. */
const NEVER_FULL = new Set(["GET", "GETDEL", "DEL", "FLUSHALL", "DELETE"]);

async function readReply(conn: RawConn): Promise<Reply> {
  const raw = await conn.readLine();
  if (raw === null) throw new Error("the server closed the connection");
  const line = raw.replace(/\r$/, "");
  switch (line[0]) {
    case "$": {
      const length = Number(line.slice(1));
      if (length < 0) return "$nil";
      const body = (await conn.readLine())!.replace(/\r$/, "");
      assertEquals(new TextEncoder().encode(body).length, length, `bulk of ${line}`);
      return `$${body}`;
    }
    case "*": {
      const items: Reply[] = [];
      for (let n = Number(line.slice(1)); n > 0; n--) items.push(await readReply(conn));
      return items;
    }
    default:
      return line;
  }
}

function show(c: Command): string {
  const short = (w: string) => (w.length > 12 ? `${w[0]}x${w.length}` : w);
  if ("line" in c) return c.line.split(", ").map(short).join(", ");
  if ("resp" in c) return c.resp.map(short).join(" ");
  return `MULTI; ${c.multi.map((w) => w.map(short).join(" ")).join("; ")}; EXEC`;
}

function recordBytes(k: string, e: Entry): number {
  return (k.length + e.value.length + (e.exp ? 16 : 8) + 3) & ~3;
}

/** The bytes of the records that `words` would write, had it succeeded. */
function newRecordBytes(m: Model, words: string[], now: number): number {
  const after = clone(m);
  if (words[0] === "LINE") runLine(after, words[1]!);
  else runResp(after, words, now);
  let sum = 0;
  for (const [k, e] of after) {
    const before = m.get(k);
    if (before?.value !== e.value || before?.exp !== e.exp) sum += recordBytes(k, e);
  }
  return sum;
}

/** The bytes the model's pairs take in the arena, roughly (a header of 8 bytes, 16 with an expiry). */
function liveBytes(m: Model): number {
  let sum = 0;
  for (const [k, e] of m) sum += recordBytes(k, e);
  return sum;
}

interface Run {
  model: Model;
  fulls: number;
}

/** Run after every tenth command with the model; what it throws fails the run, naming the commands. */
type Probe = (model: Model) => Promise<void>;

async function fuzz(
  seed: number,
  cap: number,
  store: Store,
  clock: ManualClock,
  probe?: Probe,
): Promise<Run> {
  const random = new Random(seed);
  maxValue = Math.max(4000, cap / 3);
  let model: Model = new Map();
  const history: string[] = [];
  let fulls = 0;
  await using server = startTestServer({ store, clock });
  await using redis = await RawConn.connect(server.port);
  await using line = await RawConn.connect(server.port);
  const fail = (why: string): never => {
    throw new Error(
      `seed ${seed}, cap ${cap}: ${why}\nafter:\n  ${history.slice(-25).join("\n  ")}`,
    );
  };
  /** One command's reply against the model: a store-full error changes nothing. */
  const check = (m: Model, words: string[], got: Reply, isFull: boolean, name: string) => {
    if (isFull) {
      fulls++;
      if (NEVER_FULL.has(name)) fail(`${name} answered the store-full error`);
      // A refusal is due when the live pairs and the new records come near
      // the cap (the arena refuses at its cap with under an eighth garbage).
      const wanted = newRecordBytes(m, words, clock.now());
      if (liveBytes(m) + wanted < cap / 2) {
        fail(`store-full error with about ${liveBytes(m)} of ${cap} bytes live, ${wanted} wanted`);
      }
      return;
    }
    const expected = words[0] === "LINE" ? runLine(m, words[1]!) : runResp(m, words, clock.now());
    // A time set in the past (PXAT, PEXPIREAT once the clock has moved on) leaves no key.
    dropExpired(m, clock.now());
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      fail(
        `${words[0] === "LINE" ? words[1] : words.join(" ").slice(0, 80)}: got ${
          JSON.stringify(got).slice(0, 120)
        }, expected ${JSON.stringify(expected).slice(0, 120)}`,
      );
    }
  };

  for (let i = 0; i < COMMANDS; i++) {
    if (random.chance(0.05)) {
      // Time passes: keys whose time came are gone (the model drops them;
      // the store, lazily). A log then replays without them, laid out
      // otherwise than the store that wrote it.
      clock.advance(random.between(1, 200_000_000));
      dropExpired(model, clock.now());
    }
    const c = command(random, model);
    history.push(show(c));
    const next = clone(model);
    if ("line" in c) {
      await line.send(`${c.line}\n`);
      const got = (await line.readLine()) ?? fail("the line connection closed");
      const isFull = got.startsWith("Error: ") && got.includes("full");
      check(next, ["LINE", c.line], got, isFull, c.line.split(",")[0]!);
    } else if ("resp" in c) {
      await redis.send(resp(...c.resp));
      const got = await readReply(redis);
      check(next, c.resp, got, got === OOM, c.resp[0]!);
    } else {
      await redis.send(
        resp("MULTI") + c.multi.map((w) => resp(...w)).join("") + resp("EXEC"),
      );
      const queued = [];
      for (let n = c.multi.length + 1; n > 0; n--) queued.push(await readReply(redis));
      if (queued.some((q, n) => q !== (n === 0 ? "+OK" : "+QUEUED"))) {
        fail(`MULTI answered ${JSON.stringify(queued)}`);
      }
      const got = await readReply(redis);
      if (!Array.isArray(got) || got.length !== c.multi.length) {
        fail(`EXEC answered ${JSON.stringify(got).slice(0, 200)}`);
      }
      c.multi.forEach((w, n) => {
        const one = (got as Reply[])[n]!;
        check(next, w, one, one === OOM, w[0]!);
      });
    }
    model = next;
    await compare(redis, model, clock.now(), fail);
    if (i % 10 === 0) {
      await compareList(line, model, fail);
      await probe?.(model).catch((error) => fail(String(error).split("\n")[0]!));
    }
  }
  return { model, fulls };
}

/** Removes from `m` the keys whose time has come by `now`. */
function dropExpired(m: Model, now: number): void {
  for (const [k, e] of m) if (e.exp !== 0 && e.exp <= now) m.delete(k);
}

/** GET and PTTL of every key, and DBSIZE, against the model. */
async function compare(conn: RawConn, m: Model, now: number, fail: (why: string) => never) {
  await conn.send(KEYS.map((k) => resp("GET", k) + resp("PTTL", k)).join("") + resp("DBSIZE"));
  for (const k of KEYS) {
    const got = await readReply(conn);
    const ttl = await readReply(conn);
    const e = m.get(k);
    if (got !== bulk(e?.value)) {
      fail(`GET ${k}: ${JSON.stringify(got).slice(0, 60)}, model ${bulk(e?.value).slice(0, 60)}`);
    }
    const want = e === undefined ? ":-2" : e.exp === 0 ? ":-1" : `:${e.exp - now}`;
    if (ttl !== want) fail(`PTTL ${k}: ${ttl}, model ${want}`);
  }
  const size = await readReply(conn);
  if (size !== `:${m.size}`) fail(`DBSIZE ${size}, model ${m.size}`);
}

async function compareList(conn: RawConn, m: Model, fail: (why: string) => never) {
  await conn.send("LIST\n");
  const got = (await conn.readList()).sort();
  const want = m.size === 0 ? ["Not exist!"] : [...m].map(([k, e]) => `${k}, ${e.value}`).sort();
  if (JSON.stringify(got) !== JSON.stringify(want)) fail(`LIST differs from the model`);
}

for (const cap of CAPS) {
  Deno.test(`A store of ${cap} bytes: every reply is the model's, a store-full error changes nothing`, async () => {
    const clock = new ManualClock(NOW);
    const { fulls } = await fuzz(
      SEED + cap,
      cap,
      new MemoryStore({ maxArenaBytes: cap, clock }),
      clock,
    );
    assert(fulls > 0, "the store was never full: the fuzz tested nothing");
  });
}

for (const cap of CAPS) {
  Deno.test(`A store of ${cap} bytes with a log: the log holds exactly the model after a full store's refusals`, async () => {
    const clock = new ManualClock(NOW);
    const fs = new FakeFs();
    const options = { clock, newStore: () => new MemoryStore({ maxArenaBytes: cap, clock }) };
    const store = await openTestLog(fs, options);
    const pairs = (model: Model) =>
      [...model].map(([k, e]) => `${k}=${e.value}${e.line ? "*" : ""}`).sort();
    // A kill -9 now and then: the log as written so far loads at the same
    // cap (a log of writes the store accepted always loads), holding the model.
    const { model, fulls } = await fuzz(SEED + cap + 1, cap, store, clock, async (model) => {
      assertEquals(await logContents(fs.afterKill(), options), pairs(model));
    });
    await store.close();
    assert(fulls > 0, "the store was never full: the fuzz tested nothing");
    assertEquals(await logContents(fs, options), pairs(model));
  });
}
