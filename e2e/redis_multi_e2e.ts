/**
 * kv against the real Redis (Debian's redis-server 7) over three
 * connections at once: a seeded differential, the same commands in the same
 * order to both servers, replies compared byte for byte. It is about what
 * one connection sees of another: WATCH on one and every write command kv
 * has (no-op writes too) from another, CLIENT INFO's flags (d for a dirty
 * WATCH, x inside EXEC), MULTI on two connections at once, RESP3 on one and
 * RESP2 on another, QUIT mid-MULTI, and a connection that closes with a
 * WATCH set. redis_e2e.ts drives one connection at a time.
 *
 * Masked, as they must differ: CLIENT ID's number, HELLO's server, version
 * and id, and CLIENT INFO's id addr laddr fd age idle qbuf qbuf-free
 * argv-mem multi-mem rbs rbp obl oll omem tot-mem. The ids are checked
 * instead: on one server, one connection's CLIENT ID, HELLO id and CLIENT
 * INFO id are one number. No expiry falls due during a run (expiries are
 * far in the future or already past), so no reply depends on timing.
 *
 * `.ci/run` runs it with redis_e2e.ts:
 *
 *     deno test --allow-net --allow-run=redis-server,redis-cli,redis-benchmark e2e/redis_multi_e2e.ts
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { REDIS_COMMANDS } from "../command/redis/mod.ts";
import { startTestServer } from "../testing/mod.ts";
import { mulberry32 } from "../testing/random.ts";
import { replyEnd, RespConn, startRedis } from "./redis.ts";

const SEEDS = [20260117, 20260118, 20260119, 20260120];
const STEPS = 500;
const CONNECTIONS = 3;
const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

type Words = string[];

/** CLIENT INFO's fields that differ between two servers, or between two runs. */
const INFO_MASKED = new Set([
  "id",
  "addr",
  "laddr",
  "fd",
  "age",
  "idle",
  "qbuf",
  "qbuf-free",
  "argv-mem",
  "multi-mem",
  "rbs",
  "rbp",
  "obl",
  "oll",
  "omem",
  "tot-mem",
]);

/** The elements of an array reply (`*N`), each whole, or undefined if it is not one. */
function elements(reply: string): string[] | undefined {
  const match = /^\*(\d+)\r\n/.exec(reply);
  if (!match) return undefined;
  const bytes = Uint8Array.from(reply, (c) => c.charCodeAt(0));
  const out: string[] = [];
  let at = match[0].length;
  for (let i = 0; i < Number(match[1]); i++) {
    const end = replyEnd(bytes, at);
    out.push(reply.slice(at, end));
    at = end;
  }
  return out;
}

/**
 * A reply as compared: what must differ masked, KEYS sorted, and EXEC's
 * replies masked by the commands queued. Ids seen go to `ids`.
 */
function mask(words: Words, reply: string, ids: number[], queued: Words[]): string {
  const name = words[0]!.toUpperCase();
  const sub = (words[1] ?? "").toUpperCase();
  if (name === "CLIENT" && sub === "ID" && /^:\d+\r\n$/.test(reply)) {
    ids.push(Number(reply.slice(1, -2)));
    return ":?\r\n";
  }
  if (name === "CLIENT" && sub === "INFO" && /^[$=]\d+\r\n/.test(reply)) {
    const body = reply.slice(reply.indexOf("\r\n") + 2, -2);
    const prefix = reply[0] === "=" ? body.slice(0, 4) : "";
    const fields = body.slice(prefix.length).replace(/\n$/, "").split(" ").map((field) => {
      const [key, value] = [
        field.slice(0, field.indexOf("=")),
        field.slice(field.indexOf("=") + 1),
      ];
      if (key === "id") ids.push(Number(value));
      return INFO_MASKED.has(key) ? `${key}=?` : field;
    });
    return `${reply[0]}?\r\n${prefix}${fields.join(" ")}\n`;
  }
  if (name === "HELLO" && /^[*%]/.test(reply)) {
    return reply
      .replace(/(\$6\r\nserver\r\n|\$7\r\nversion\r\n)\$\d+\r\n[^\r]*\r\n/g, "$1?\r\n")
      .replace(/\$2\r\nid\r\n:(\d+)\r\n/, (_, id) => {
        ids.push(Number(id));
        return "$2\r\nid\r\n:?\r\n";
      });
  }
  const items = elements(reply);
  if (name === "EXEC" && items && items.length === queued.length) {
    const head = reply.slice(0, reply.indexOf("\r\n") + 2);
    return head + items.map((item, i) => mask(queued[i]!, item, ids, [])).join("");
  }
  if (name === "KEYS" && items) {
    return [reply.slice(0, reply.indexOf("\r\n")), ...items.toSorted()].join("|");
  }
  return reply;
}

/** Seeded commands over a small key space, and a record of every command name sent. */
class Commands {
  readonly #next: () => number;
  /** Relative expiries in whole seconds, 2 apart and growing: GT and LT compare alike on both. */
  #seconds = 1001;
  readonly sent: Set<string>;

  constructor(next: () => number, sent: Set<string>) {
    this.#next = next;
    this.sent = sent;
  }

  random(): number {
    return this.#next();
  }

  int(below: number): number {
    return Math.floor(this.#next() * below);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  key(): string {
    return this.pick(["k1", "k2", "k3", "n1", "w"]);
  }

  value(): string {
    return this.pick(["v", "", "hello", "5", "-3", "3.5", "9223372036854775807", "x y"]);
  }

  #ttl(): string {
    this.#seconds += 2;
    return String(this.#seconds);
  }

  /** A write of any kind kv has, no-ops included; on `key` if given. */
  write(key = this.key()): Words {
    const k = key, v = this.value();
    const expiryOption = () => this.pick([[], ["NX"], ["XX"], ["GT"], ["LT"]]);
    const forms: (() => Words)[] = [
      () => [
        "SET",
        k,
        v,
        ...this.pick([
          [],
          ["NX"],
          ["XX"],
          ["GET"],
          ["KEEPTTL"],
          ["EX", this.#ttl()],
          ["PX", "0"],
          ["EXAT", "1"],
          ["PXAT", "4000000000000"],
          ["NX", "XX"],
        ]),
      ],
      () => ["SETNX", k, v],
      () => ["SETEX", k, this.pick([this.#ttl(), "0"]), v],
      () => ["PSETEX", k, this.pick([`${this.#ttl()}000`, "0"]), v],
      () => ["GETSET", k, v],
      () => [
        "GETEX",
        k,
        ...this.pick([[], ["PERSIST"], ["EX", this.#ttl()], ["EXAT", "1"], [
          "PXAT",
          "4000000000000",
        ]]),
      ],
      () => ["GETDEL", k],
      () => ["MSET", k, v, this.key(), this.value()],
      () => ["MSETNX", k, v, this.key(), this.value()],
      () => [this.pick(["INCR", "DECR"]), k],
      () => [this.pick(["INCRBY", "DECRBY"]), k, this.pick(["0", "1", "-2", "x"])],
      () => ["INCRBYFLOAT", k, this.pick(["0", "1.5", "-0.5", "x"])],
      () => ["APPEND", k, this.pick(["", "z"])],
      () => ["SETRANGE", k, this.pick(["0", "2", "-1"]), this.pick(["", "ab"])],
      // DEL of a missing key among them: the key space is small, the keys often gone.
      () => [this.pick(["DEL", "UNLINK"]), k, ...(this.int(2) ? [this.key()] : [])],
      // Onto the watched key and away from it, and onto itself.
      () => [
        this.pick(["RENAME", "RENAMENX"]),
        ...(this.int(2) ? [k, this.key()] : [this.key(), k]),
      ],
      () => ["EXPIRE", k, this.pick([this.#ttl(), "0", "-1", "x"]), ...expiryOption()],
      () => ["PEXPIRE", k, this.pick([`${this.#ttl()}000`, "0"]), ...expiryOption()],
      () => ["EXPIREAT", k, this.pick(["1", "4000000000", "4000000001"]), ...expiryOption()],
      () => ["PEXPIREAT", k, this.pick(["1", "4000000000000", "4000000002000"]), ...expiryOption()],
      () => ["PERSIST", k],
      () => [this.pick(["FLUSHALL", "FLUSHDB"]), ...this.pick([[], ["SYNC"], ["ASYNC"]])],
    ];
    return this.pick(forms)();
  }

  read(): Words {
    const k = this.key();
    return this.pick([
      ["GET", k],
      ["EXISTS", k, this.key()],
      ["TTL", k],
      ["TYPE", k],
      ["STRLEN", k],
      ["MGET", k, this.key()],
      ["KEYS", this.pick(["*", "k*", "n?"])],
      ["GETRANGE", k, "0", "-1"],
      ["TOUCH", k],
    ]);
  }

  connection(): Words {
    return this.pick([
      ["CLIENT", "ID"],
      ["CLIENT", "INFO"],
      ["CLIENT", "INFO"],
      ["CLIENT", "GETNAME"],
      ["CLIENT", "SETNAME", this.pick(["a", "bb", ""])],
      ["HELLO"],
      ["HELLO", this.pick(["2", "3"])],
      ["HELLO", this.pick(["2", "3"]), "SETNAME", this.pick(["n1", "n2"])],
      ["SELECT", this.pick(["0", "x", "-1"])],
      ["PING"],
    ]);
  }

  transaction(): Words {
    return this.pick([
      ["MULTI"],
      ["EXEC"],
      ["DISCARD"],
      ["WATCH", this.key()],
      ["WATCH", this.key(), this.key()],
      ["UNWATCH"],
    ]);
  }
}

/** One connection to each server, and what the differential keeps of it. */
interface Pair {
  conns: [RespConn, RespConn];
  /** Per server: the ids its replies gave, and the commands queued since MULTI. */
  ids: [number[], number[]];
  queued: [Words[], Words[]];
  inMulti: boolean;
}

/** Runs one seed's steps over CONNECTIONS pairs; returns every difference, and adds the names sent to `sent`. */
async function run(ports: [number, number], seed: number, sent: Set<string>): Promise<string[]> {
  const commands = new Commands(mulberry32(seed), sent);
  const found: string[] = [];
  const log: string[] = [];
  const pairs: Pair[] = [];
  const differ = (what: string, ours: string, theirs: string) => {
    const [a, b] = [JSON.stringify(ours), JSON.stringify(theirs)];
    found.push(
      `seed ${seed} #${log.length} ${what}: kv ${a}, redis ${b}\n  after: ${
        log.slice(-8).join(" | ")
      }`,
    );
  };

  /** Pipelines `cmds` on connection i, kv's then Redis's, and compares their replies. */
  const send = async (i: number, cmds: Words[]): Promise<void> => {
    const pair = pairs[i]!;
    const replies: [string[], string[]] = [[], []];
    for (const side of [0, 1] as const) {
      await pair.conns[side].send(cmds.map((words) => words.map((w) => encoder.encode(w))));
      for (const words of cmds) {
        let reply: string;
        try {
          reply = latin1.decode(await pair.conns[side].read());
        } catch {
          reply = "<closed>";
        }
        const name = words[0]!.toUpperCase();
        if (name === "MULTI" && reply === "+OK\r\n") pair.queued[side] = [];
        else if (reply === "+QUEUED\r\n") pair.queued[side].push(words);
        replies[side].push(mask(words, reply, pair.ids[side], pair.queued[side]));
      }
    }
    cmds.forEach((words, n) => {
      const [ours, theirs] = [replies[0][n]!, replies[1][n]!];
      commands.sent.add(words[0]!.toUpperCase());
      log.push(`c${i} ${words.join(" ")}`);
      const name = words[0]!.toUpperCase();
      if (name === "MULTI" && theirs === "+OK\r\n") pair.inMulti = true;
      if (name === "EXEC" || name === "DISCARD") pair.inMulti = false;
      if (ours !== theirs) differ(`c${i} ${words.join(" ")}`, ours, theirs);
    });
  };

  const open = async (i: number, hello: boolean) => {
    pairs[i] = {
      conns: [await RespConn.open(ports[0]), await RespConn.open(ports[1])],
      ids: [[], []],
      queued: [[], []],
      inMulti: false,
    };
    // RESP3 from the first command on, or RESP2.
    await send(i, [hello ? ["HELLO", "3"] : ["PING"]]);
  };

  /** Closes connection i on both sides, checks its ids, and opens it anew. */
  const reopen = async (i: number) => {
    const pair = pairs[i]!;
    pair.conns.forEach((conn) => conn.close());
    for (const side of [0, 1]) {
      if (new Set(pair.ids[side]).size > 1) {
        found.push(`seed ${seed} c${i}: ${["kv", "redis"][side]} gave ids ${pair.ids[side]}`);
      }
    }
    await open(i, commands.int(2) === 0);
  };

  try {
    // Connection 0 speaks RESP3, connection 1 RESP2, connection 2 either.
    for (let i = 0; i < CONNECTIONS; i++) {
      await open(i, i === 0 || (i === 2 && commands.int(2) === 0));
    }
    await send(0, [["FLUSHALL"]]);
    const other = (i: number) => (i + 1 + commands.int(CONNECTIONS - 1)) % CONNECTIONS;
    for (let step = 0; step < STEPS; step++) {
      const i = commands.int(CONNECTIONS);
      const x = commands.random();
      if (x < 0.3) {
        // WATCH on one connection, a write from another (most often on the
        // watched key), CLIENT INFO's flags on the first, then its EXEC.
        if (pairs[i]!.inMulti) continue;
        const j = other(i);
        const k = commands.key();
        await send(i, [["WATCH", k]]);
        if (commands.int(5) > 0) {
          await send(j, [commands.write(commands.int(4) > 0 ? k : undefined)]);
        }
        await send(i, [["CLIENT", "INFO"], ["MULTI"], ["GET", k], ["CLIENT", "INFO"], ["EXEC"]]);
      } else if (x < 0.38) {
        // MULTI on two connections at once, each queueing writes, EXECs in either order.
        const j = other(i);
        if (pairs[i]!.inMulti || pairs[j]!.inMulti) continue;
        const k = commands.key();
        if (commands.int(2)) await send(i, [["WATCH", k]]);
        if (commands.int(2)) await send(j, [["WATCH", k]]);
        await send(i, [["MULTI"], commands.write(k)]);
        await send(j, [["MULTI"], commands.write(k), ["CLIENT", "INFO"]]);
        await send(i, [commands.write(), ["GET", k]]);
        const [first, second] = commands.int(2) ? [i, j] : [j, i];
        await send(first, [commands.pick([["EXEC"], ["DISCARD"]])]);
        await send(second, [["CLIENT", "INFO"], ["EXEC"], ["GET", k]]);
      } else if (x < 0.58) {
        await send(i, [commands.write()]);
      } else if (x < 0.66) {
        const words = commands.read();
        if (words[0] === "KEYS" && pairs[i]!.inMulti) continue;
        await send(i, [words]);
      } else if (x < 0.78) {
        await send(i, [commands.transaction()]);
      } else if (x < 0.86) {
        await send(i, [commands.connection()]);
      } else if (x < 0.9) {
        // QUIT, maybe mid-MULTI or with a WATCH set: +OK, then the server closes.
        await send(i, [["QUIT"]]);
        const [kvEnding, redisEnding] = pairs[i]!.conns;
        const endings = await Promise.all([kvEnding.ending(), redisEnding.ending()]);
        if (endings[0] !== endings[1]) differ(`c${i} after QUIT`, endings[0], endings[1]);
        log.push(`c${i} <reopened after QUIT>`);
        await reopen(i);
      } else if (x < 0.94) {
        // The client closes with a WATCH set (and maybe inside MULTI); others write on.
        await send(i, [["WATCH", commands.key()], ...(commands.int(2) ? [["MULTI"]] : [])]);
        log.push(`c${i} <closed>`);
        await reopen(i);
      } else {
        // A few commands pipelined on one connection.
        let cmds = Array.from(
          { length: 2 + commands.int(4) },
          () =>
            commands.pick([
              () => commands.write(),
              () => commands.read(),
              () => commands.transaction(),
            ])(),
        );
        if (pairs[i]!.inMulti || cmds.some((words) => words[0] === "MULTI")) {
          cmds = cmds.filter((words) => words[0] !== "KEYS");
        }
        if (cmds.length > 0) await send(i, cmds);
      }
    }
    for (let i = 0; i < CONNECTIONS; i++) await reopen(i);
  } finally {
    for (const pair of pairs) pair.conns.forEach((conn) => conn.close());
  }
  return found;
}

Deno.test("kv answers three connections at once as Redis 7 does: WATCH on one, writes from another, MULTI on two", async (t) => {
  const redis = await startRedis();
  const sent = new Set<string>();
  try {
    await using server = startTestServer();
    for (const seed of SEEDS) {
      await t.step(`seed ${seed}: ${STEPS} steps over ${CONNECTIONS} connections`, async () => {
        const found = await run([server.port, redis.port], seed, sent);
        assertEquals(found.slice(0, 10), [], `${found.length} replies differ`);
      });
    }
  } finally {
    await redis.stop();
  }
  // Every write command kv has was sent: one added to kv must be added above.
  const writes = REDIS_COMMANDS.filter((command) => command.writes).map((command) => command.name);
  assertEquals(writes.filter((name) => !sent.has(name)), []);
});
