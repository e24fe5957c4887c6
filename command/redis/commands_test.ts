/**
 * Redis's key, string and expiry commands, reply for reply: each case is a
 * command and the exact bytes Redis 7.0 answers (checked against Debian's
 * redis-server; the differential test in e2e/ does that at scale). Run
 * in-process through the RESP framer and reply, on a MemoryStore with a
 * clock the test moves. Pure. The connection and server commands are in
 * connection_test.ts and server_test.ts.
 */

import { assert, assertEquals, assertMatch } from "@std/assert";
import { respAt, RespHarness } from "../../testing/mod.ts";
import { MemoryStore } from "../../store/memory.ts";
import { ManualClock } from "../../store/clock.ts";

const NOW = 1_700_000_000_000;
const harness = () => respAt(NOW);

Deno.test({
  name: "Redis strings: GET, SET and its options, SETNX, GETDEL, MGET, MSET",
  permissions: "none",
  fn: async (t) => {
    const { kv } = harness();
    await kv.conversation(t, [
      [["GET", "k"], "$-1\r\n"],
      [["SET", "k", "v"], "+OK\r\n"],
      [["get", "k"], "$1\r\nv\r\n"],
      [["SET", "k", "v2", "NX"], "$-1\r\n"],
      [["SET", "k", "v2", "XX", "GET"], "$1\r\nv\r\n"],
      [["SET", "new", "x", "XX"], "$-1\r\n"],
      [["SET", "new", "x", "NX", "GET"], "$-1\r\n"],
      [["SET", "k", "v", "NX", "XX"], "-ERR syntax error\r\n"],
      [["SET", "k", "v", "EX", "10", "PX", "100"], "-ERR syntax error\r\n"],
      [["SET", "k", "v", "EX", "10", "EX", "20"], "+OK\r\n"],
      [["SET", "k", "v", "KEEPTTL", "EX", "1"], "-ERR syntax error\r\n"],
      [["SET", "k", "v", "EX"], "-ERR syntax error\r\n"],
      [["SET", "k", "v", "BOGUS"], "-ERR syntax error\r\n"],
      [["SET", "k", "v", "EX", "0"], "-ERR invalid expire time in 'set' command\r\n"],
      [["SET", "k", "v", "EX", "-5"], "-ERR invalid expire time in 'set' command\r\n"],
      [["SET", "k", "v", "PX", "1.5"], "-ERR value is not an integer or out of range\r\n"],
      [
        ["SET", "k", "v", "EX", "9223372036854775807"],
        "-ERR invalid expire time in 'set' command\r\n",
      ],
      [["SET", "k"], "-ERR wrong number of arguments for 'set' command\r\n"],
      [["SETNX", "k", "x"], ":0\r\n"],
      [["SETNX", "n", "x"], ":1\r\n"],
      [["GETDEL", "n"], "$1\r\nx\r\n"],
      [["GETDEL", "n"], "$-1\r\n"],
      [["MSET", "a", "1", "b", "2"], "+OK\r\n"],
      [["MSET", "a", "1", "b"], "-ERR wrong number of arguments for 'mset' command\r\n"],
      [["MGET", "a", "nope", "b"], "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n"],
      [["SET", "empty", ""], "+OK\r\n"],
      [["GET", "empty"], "$0\r\n\r\n"],
    ]);
  },
});

Deno.test({
  name:
    "EXPIRE and PERSIST answer 1 only if the key is still there, though its time passes as they run",
  permissions: "none",
  fn: () => {
    // A clock that ticks 1 ms at each reading: for some of these deadlines
    // the key is there when the command looks it up and gone when it changes it.
    let now = NOW;
    const clock = { now: () => now++ };
    const kv = new RespHarness(new MemoryStore({ clock }), clock);
    const seen = new Set<string>();
    for (const command of [["PERSIST"], ["PEXPIRE", "100000"]]) {
      for (let ahead = 2; ahead <= 8; ahead++) {
        assertEquals(kv.command("SET", "k", "v", "PXAT", String(now + ahead)), "+OK\r\n");
        const answer = kv.command(command[0]!, "k", ...command.slice(1));
        const there = kv.command("EXISTS", "k");
        assertEquals(answer, there, `${command[0]}, ${ahead} ms ahead`);
        seen.add(answer);
        kv.command("DEL", "k");
      }
    }
    assertEquals([...seen].sort(), [":0\r\n", ":1\r\n"], "the time passed mid-command");
  },
});

Deno.test({
  name: "Redis counters and APPEND/STRLEN, with 64-bit limits",
  permissions: "none",
  fn: async (t) => {
    const { kv } = harness();
    await kv.conversation(t, [
      [["INCR", "n"], ":1\r\n"],
      [["INCRBY", "n", "41"], ":42\r\n"],
      [["DECR", "n"], ":41\r\n"],
      [["DECRBY", "n", "-9"], ":50\r\n"],
      [["INCRBY", "n", "x"], "-ERR value is not an integer or out of range\r\n"],
      [["INCRBY", "n", "01"], "-ERR value is not an integer or out of range\r\n"],
      [["SET", "s", "abc"], "+OK\r\n"],
      [["INCR", "s"], "-ERR value is not an integer or out of range\r\n"],
      [["SET", "big", "9223372036854775807"], "+OK\r\n"],
      [["INCR", "big"], "-ERR increment or decrement would overflow\r\n"],
      [["DECRBY", "n", "-9223372036854775808"], "-ERR decrement would overflow\r\n"],
      [["SET", "small", "-9223372036854775808"], "+OK\r\n"],
      [["DECR", "small"], "-ERR increment or decrement would overflow\r\n"],
      [["INCRBY", "n", "9223372036854775808"], "-ERR value is not an integer or out of range\r\n"],
      [["APPEND", "s", "def"], ":6\r\n"],
      [["APPEND", "new", "x"], ":1\r\n"],
      [["STRLEN", "s"], ":6\r\n"],
      [["STRLEN", "missing"], ":0\r\n"],
      [["GET", "s"], "$6\r\nabcdef\r\n"],
    ]);
  },
});

Deno.test({
  name: "Redis expiry: SET EX/PX/EXAT/PXAT/KEEPTTL, EXPIRE and its options, TTL, PTTL, PERSIST",
  permissions: "none",
  fn: async (t) => {
    const { kv, clock } = harness();
    await kv.conversation(t, [
      [["SET", "k", "v", "EX", "100"], "+OK\r\n"],
      [["TTL", "k"], ":100\r\n"],
      [["PTTL", "k"], ":100000\r\n"],
      [["SET", "k", "v2", "KEEPTTL"], "+OK\r\n"],
      [["TTL", "k"], ":100\r\n"],
      [["SET", "k", "v3"], "+OK\r\n"],
      [["TTL", "k"], ":-1\r\n"],
      [["TTL", "missing"], ":-2\r\n"],
      [["PEXPIRE", "k", "1500"], ":1\r\n"],
      [["TTL", "k"], ":2\r\n"], // 1.5 s rounds to 2, as in Redis
      [["EXPIRE", "k", "50", "NX"], ":0\r\n"],
      [["EXPIRE", "k", "50", "XX"], ":1\r\n"],
      [["EXPIRE", "k", "40", "GT"], ":0\r\n"],
      [["EXPIRE", "k", "40", "LT"], ":1\r\n"],
      [
        ["EXPIRE", "k", "40", "NX", "XX"],
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
      ],
      [
        ["EXPIRE", "k", "40", "GT", "LT"],
        "-ERR GT and LT options at the same time are not compatible\r\n",
      ],
      [["EXPIRE", "k", "40", "ZZ"], "-ERR Unsupported option ZZ\r\n"],
      [["EXPIRE", "k", "x"], "-ERR value is not an integer or out of range\r\n"],
      [["EXPIRE", "missing", "10"], ":0\r\n"],
      [["PERSIST", "k"], ":1\r\n"],
      [["PERSIST", "k"], ":0\r\n"],
      [["EXPIRE", "k", "10", "GT"], ":0\r\n"], // no expiry counts as infinite
      [["EXPIREAT", "k", String(NOW / 1000 + 30)], ":1\r\n"],
      [["TTL", "k"], ":30\r\n"],
      [["PEXPIREAT", "k", String(NOW + 5000)], ":1\r\n"],
      [["PTTL", "k"], ":5000\r\n"],
      [["SET", "at", "v", "PXAT", String(NOW + 250)], "+OK\r\n"],
      [["PTTL", "at"], ":250\r\n"],
      [["SET", "past", "v", "EXAT", String(NOW / 1000 - 1)], "+OK\r\n"],
      [["GET", "past"], "$-1\r\n"],
      [["EXPIRE", "k", "-1"], ":1\r\n"], // a time past deletes the key
      [["GET", "k"], "$-1\r\n"],
    ]);
    await t.step("keys expire when the clock passes their time, for every command", () => {
      assertEquals(kv.command("SET", "soon", "v", "PX", "100"), "+OK\r\n");
      assertEquals(kv.command("SET", "later", "v", "EX", "100"), "+OK\r\n");
      clock.advance(99);
      assertEquals(kv.command("EXISTS", "soon"), ":1\r\n");
      clock.advance(1);
      assertEquals(kv.command("GET", "soon"), "$-1\r\n");
      assertEquals(kv.command("EXISTS", "soon", "later"), ":1\r\n");
      assertEquals(kv.command("KEYS", "*oo*"), "*0\r\n");
      assertEquals(kv.command("TTL", "soon"), ":-2\r\n");
    });
  },
});

Deno.test({
  name: "Redis keys: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN",
  permissions: "none",
  fn: async (t) => {
    const { kv } = harness();
    await kv.conversation(t, [
      [["MSET", "user:1", "a", "user:2", "b", "other", "c"], "+OK\r\n"],
      [["EXISTS", "user:1", "user:1", "nope"], ":2\r\n"],
      [["TYPE", "other"], "+string\r\n"],
      [["TYPE", "nope"], "+none\r\n"],
      [["KEYS", "nomatch*"], "*0\r\n"],
      [["SCAN", "x"], "-ERR invalid cursor\r\n"],
      // Redis reads the cursor with strtoul(): -1 is 2^64 - 1, its last cursor, after which the
      // scan ends (Redis may still return the keys of its last slot; kv has no such slot).
      ...["-1", "18446744073709551615"].map((cursor): [string[], string] => [
        ["SCAN", cursor],
        "*2\r\n$1\r\n0\r\n*0\r\n",
      ]),
      ...[
        "18446744073709551616",
        "-18446744073709551616",
        " 1",
        "\t1",
        "1 ",
        "-",
        "+",
        "+-1",
        "0x1",
        "12abc",
      ].map((cursor): [string[], string] => [["SCAN", cursor], "-ERR invalid cursor\r\n"]),
      [["SCAN", "0", "COUNT", "0"], "-ERR syntax error\r\n"],
      [["SCAN", "0", "COUNT", "x"], "-ERR value is not an integer or out of range\r\n"],
      [["SCAN", "0", "BOGUS"], "-ERR syntax error\r\n"],
      [["DEL", "other", "nope"], ":1\r\n"],
      [["UNLINK", "user:2"], ":1\r\n"],
      [["KEYS", "user:*"], "*1\r\n$6\r\nuser:1\r\n"],
    ]);
    await t.step("SCAN reads 00, +0, -0, the empty string and 0 then a NUL as the cursor 0", () => {
      const first = kv.command("SCAN", "0");
      for (const cursor of ["00", "+0", "-0", "", "0\x00x"]) {
        assertEquals(kv.command("SCAN", cursor), first, JSON.stringify(cursor));
      }
      assertEquals(kv.command("SCAN", "+7"), kv.command("SCAN", "7"));
      assertEquals(kv.command("SCAN", "-18446744073709551609"), kv.command("SCAN", "7"));
    });
    await t.step("SCAN returns every key once, in steps, and ends at 0", () => {
      for (let i = 0; i < 500; i++) kv.command("SET", `key:${i}`, "v");
      const seen: string[] = [];
      let cursor = "0";
      do {
        const reply = kv.command("SCAN", cursor, "MATCH", "key:*", "COUNT", "20");
        const [, next, ...rest] = reply.split("\r\n");
        cursor = rest.shift()!;
        assertMatch(next!, /^\$\d+$/);
        for (let i = 2; i < rest.length; i += 2) seen.push(rest[i]!); // "*M", then "$L", key, ...
      } while (cursor !== "0");
      assertEquals(seen.length, 500);
      assertEquals(new Set(seen).size, 500);
    });
    await t.step(
      "CLIENT, CONFIG and COMMAND HELP answer Redis's help, with kv's subcommands",
      () => {
        for (const command of ["CLIENT", "CONFIG", "COMMAND"]) {
          const lines = kv.command(command, "help").split("\r\n");
          assertEquals(
            lines[1],
            `+${command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`,
          );
          assertEquals(lines.slice(-3), ["+HELP", "+    Prints this help.", ""]);
          assertEquals(lines[0], `*${lines.length - 2}`);
          assertEquals(
            kv.command(command, "HELP", "x"),
            `-ERR wrong number of arguments for '${command.toLowerCase()}|help' command\r\n`,
          );
        }
        assert(kv.command("CONFIG", "HELP").includes("+GET <pattern>\r\n"));
        // An unknown one is named as Redis's %.128s prints it: up to a NUL, 128 bytes at most.
        assertEquals(
          kv.command("CLIENT", "x".repeat(200)),
          `-ERR unknown subcommand '${"x".repeat(128)}'. Try CLIENT HELP.\r\n`,
        );
        assertEquals(
          kv.command("CONFIG", "ab\0cd"),
          "-ERR unknown subcommand 'ab'. Try CONFIG HELP.\r\n",
        );
      },
    );
    await t.step("KEYS returns every matching key, byte for byte, past its first buffer", () => {
      const { kv } = harness();
      for (let i = 0; i < 500; i++) kv.command("SET", `key:${i}`, "v");
      const long = "k".repeat(300); // longer than KEYS's first buffer
      kv.command("SET", long, "v");
      kv.command("SET", new Uint8Array([0x6b, 0x00, 0xff]), "v");
      kv.command("SET", "user:1", "v");
      const keys = (pattern: string) => {
        const [count, ...rest] = kv.command("KEYS", pattern).split("\r\n");
        const found = rest.filter((_, i) => i % 2 === 1);
        assertEquals(count, `*${found.length}`);
        return found.sort();
      };
      const all = keys("*");
      assertEquals(all.length, 503); // key:0..499, user:1, the long key, k\0\xff
      assert(all.includes(long));
      assert(all.includes("k\x00\xff"));
      assertEquals(keys("key:4?9"), Array.from({ length: 10 }, (_, i) => `key:4${i}9`));
      assertEquals(keys("k*").length, 502);
    });
    await t.step(
      "an error echoes an argument's bytes as they came, UTF-8 or not, as Redis does",
      () => {
        const bytes = (...codes: number[]) => new Uint8Array(codes);
        assertEquals(
          kv.command("EXPIRE", "k", "1", bytes(0x4e, 0xff, 0x58)),
          "-ERR Unsupported option N\xffX\r\n",
        );
        assertEquals(
          kv.command("CLIENT", bytes(0xff, 0xfe)),
          "-ERR unknown subcommand '\xff\xfe'. Try CLIENT HELP.\r\n",
        );
        assertEquals(
          kv.command("HELLO", "2", bytes(0xe9)),
          "-ERR Syntax error in HELLO option '\xe9'\r\n",
        );
      },
    );
    await t.step("SCAN of the few keys left after many deletes takes one call, as in Redis", () => {
      for (let i = 0; i < 10_000; i++) kv.command("SET", `bulk:${i}`, "v");
      for (let i = 0; i < 10_000; i++) kv.command("DEL", `bulk:${i}`);
      for (let i = 0; i < 500; i++) kv.command("DEL", `key:${i}`);
      assertEquals(kv.command("SCAN", "0"), "*2\r\n$1\r\n0\r\n*1\r\n$6\r\nuser:1\r\n");
    });
  },
});

Deno.test({
  name: "Redis strings with expiry: SETEX, PSETEX, GETSET, GETEX, EXPIRETIME, PEXPIRETIME",
  permissions: "none",
  fn: async (t) => {
    const { kv, clock } = harness();
    const at = NOW / 1000 + 10;
    await kv.conversation(t, [
      [["SETEX", "k", "10", "v"], "+OK\r\n"],
      [["TTL", "k"], ":10\r\n"],
      [["EXPIRETIME", "k"], `:${at}\r\n`],
      [["PEXPIRETIME", "k"], `:${at * 1000}\r\n`],
      [["SETEX", "k", "0", "v"], "-ERR invalid expire time in 'setex' command\r\n"],
      [["SETEX", "k", "x", "v"], "-ERR value is not an integer or out of range\r\n"],
      [["PSETEX", "k", "1500", "v"], "+OK\r\n"],
      [["PTTL", "k"], ":1500\r\n"],
      [["PSETEX", "k", "-1", "v"], "-ERR invalid expire time in 'psetex' command\r\n"],
      [["GETSET", "k", "new"], "$1\r\nv\r\n"],
      [["TTL", "k"], ":-1\r\n"],
      [["EXPIRETIME", "k"], ":-1\r\n"],
      [["GETSET", "none", "x"], "$-1\r\n"],
      [["GETEX", "k", "EX", "10"], "$3\r\nnew\r\n"],
      [["TTL", "k"], ":10\r\n"],
      [["GETEX", "k", "PERSIST"], "$3\r\nnew\r\n"],
      [["TTL", "k"], ":-1\r\n"],
      [["GETEX", "k", "EX", "10", "PX", "5"], "-ERR syntax error\r\n"],
      [["GETEX", "k", "PERSIST", "EX", "1"], "-ERR syntax error\r\n"],
      [["GETEX", "k", "EX", "0"], "-ERR invalid expire time in 'getex' command\r\n"],
      [["GETEX", "missing", "EX", "0"], "$-1\r\n"],
      [["GETEX", "k", "PXAT", "1"], "$3\r\nnew\r\n"],
      [["EXISTS", "k"], ":0\r\n"],
      [["EXPIRETIME", "k"], ":-2\r\n"],
      // Seconds are rounded to the nearest, as Redis does.
      [["SET", "e", "v", "PXAT", "99999999999500"], "+OK\r\n"],
      [["EXPIRETIME", "e"], ":100000000000\r\n"],
      [["PEXPIRETIME", "e"], ":99999999999500\r\n"],
    ]);
    await t.step("a SETEX key expires by the clock", () => {
      kv.command("SETEX", "s", "5", "v");
      clock.advance(5000);
      assertEquals(kv.command("GET", "s"), "$-1\r\n");
    });
  },
});

Deno.test({
  name: "A write the store has no room for answers Redis's OOM error and changes nothing",
  permissions: "none",
  fn: async (t) => {
    const clock = new ManualClock(NOW);
    const kv = new RespHarness(new MemoryStore({ clock, maxArenaBytes: 4096 }), clock);
    const big = "x".repeat(3000);
    const OOM = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
    await kv.conversation(t, [
      [["SET", "a", big], "+OK\r\n"],
      [["SET", "b", big], OOM],
      [["APPEND", "a", "y".repeat(2000)], OOM],
      // Past the cap even written where it lies (to 3,501 bytes it now grows in place).
      [["SETRANGE", "a", "4500", "z"], OOM],
      [["RENAME", "a", "b".repeat(1000)], OOM],
      [["EXPIRE", "a", "100"], OOM],
      [["PEXPIREAT", "a", String(NOW + 100_000)], OOM],
      [["GETEX", "a", "EX", "100"], OOM],
      [["STRLEN", "a"], ":3000\r\n"],
      [["TTL", "a"], ":-1\r\n"],
      [["EXISTS", "b"], ":0\r\n"],
      [["SET", "s", "1"], "+OK\r\n"],
    ]);
  },
});
