/**
 * Redis's server commands (server.ts), reply for reply: DBSIZE, FLUSHDB,
 * FLUSHALL, CONFIG GET, COMMAND (COUNT, INFO, DOCS, LIST) and INFO, each
 * with the exact bytes Redis 7.0 answers (checked against Debian's
 * redis-server). Run in-process through the RESP framer and reply, as
 * commands_test.ts runs the key and string commands. Pure.
 */

import { assertEquals, assertMatch } from "@std/assert";
import { respAt } from "../../testing/mod.ts";

const NOW = 1_700_000_000_000;
const harness = () => respAt(NOW);

Deno.test({
  name: "Redis server commands: DBSIZE, FLUSHDB, FLUSHALL, CONFIG GET, COMMAND, INFO",
  permissions: "none",
  fn: async (t) => {
    const { kv } = harness();
    await kv.conversation(t, [
      [["MSET", "a", "1", "b", "2"], "+OK\r\n"],
      [["DBSIZE"], ":2\r\n"],
      [["FLUSHDB", "bad"], "-ERR syntax error\r\n"],
      [["FLUSHDB", "ASYNC"], "+OK\r\n"],
      [["DBSIZE"], ":0\r\n"],
      [["SET", "a", "1"], "+OK\r\n"],
      [["FLUSHALL"], "+OK\r\n"],
      [["DBSIZE"], ":0\r\n"],
      [["CONFIG", "GET", "save"], "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"],
      [["CONFIG", "GET", "appendonly"], "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"],
      [["CONFIG", "GET", "nosuch"], "*0\r\n"],
      // Names in any case, answered as asked; patterns in any case; each once.
      [["CONFIG", "GET", "SAVE"], "*2\r\n$4\r\nSAVE\r\n$0\r\n\r\n"],
      [["CONFIG", "GET", "save", "SAVE", "S*"], "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"],
      [["CONFIG", "GET", "APPEND*"], "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"],
      [["CONFIG", "SET", "x", "y"], "-ERR unknown subcommand 'SET'. Try CONFIG HELP.\r\n"],
      [["COMMAND", "FOO"], "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n"],
      [["CONFIG", "GET"], "-ERR wrong number of arguments for 'config|get' command\r\n"],
      [["COMMAND", "COUNT", "x"], "-ERR wrong number of arguments for 'command|count' command\r\n"],
      [["CONFIG"], "-ERR wrong number of arguments for 'config' command\r\n"],
      [["COMMAND", "INFO", "nosuch"], "*1\r\n$-1\r\n"], // Redis 7: a nil, not a nil array
      [["COMMAND", "LIST", "FILTERBY", "MODULE", "json"], "*0\r\n"],
      [["COMMAND", "LIST", "FILTERBY", "BOGUS", "x"], "-ERR syntax error\r\n"],
      [["COMMAND", "LIST", "x"], "-ERR syntax error\r\n"],
    ]);
    await t.step("COMMAND COUNT, INFO and DOCS describe the table", () => {
      const count = Number(kv.command("COMMAND", "COUNT").slice(1, -2));
      assertEquals(count >= 38, true);
      assertEquals(
        kv.command("COMMAND", "INFO", "get"),
        "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n" +
          "*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*0\r\n*0\r\n",
      );
      assertMatch(
        kv.command("COMMAND", "DOCS", "get"),
        /^\*2\r\n\$3\r\nget\r\n\*10\r\n\$7\r\nsummary\r\n/,
      );
      // No names: every command, as COMMAND itself.
      assertEquals(kv.command("COMMAND", "INFO"), kv.command("COMMAND"));
    });
    await t.step("COMMAND LIST FILTERBY PATTERN and ACLCAT, as Redis 7 filters", () => {
      const names = (reply: string) => reply.split("\r\n").filter((_, i) => i > 0 && i % 2 === 0);
      const get = names(kv.command("COMMAND", "LIST", "FILTERBY", "PATTERN", "GET*"));
      assertEquals(get.includes("get") && get.includes("getdel"), true, get.join());
      assertEquals(get.every((name) => name.startsWith("get")), true, get.join());
      const strings = names(kv.command("COMMAND", "LIST", "FILTERBY", "ACLCAT", "string"));
      assertEquals(strings.includes("incr") && !strings.includes("ping"), true, strings.join());
    });
    await t.step("INFO has the sections clients read, with real figures", () => {
      kv.command("SET", "k", "v", "EX", "100");
      const info = kv.command("INFO");
      for (
        const line of [
          "# Server\r\nredis_version:7.0.0\r\n",
          "redis_mode:standalone\r\n",
          "# Clients\r\nconnected_clients:1\r\n",
          "# Memory\r\nused_memory:",
          "# Persistence\r\nloading:0\r\naof_enabled:0\r\n",
          "# Stats\r\ntotal_connections_received:1\r\n",
          "# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=0\r\n",
        ]
      ) {
        assertEquals(info.includes(line), true, line);
      }
      assertMatch(
        kv.command("INFO", "keyspace"),
        /^\$\d+\r\n# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=0\r\n\r\n$/,
      );
      // Once the expiry sweep has seen the key: Redis's estimate of the time left.
      kv.context.store.sweep!(10);
      assertMatch(kv.command("INFO", "keyspace"), /db0:keys=1,expires=1,avg_ttl=100000\r\n/);
    });
  },
});

Deno.test({
  name: "Redis COMMAND INFO and DOCS fold only A-Z in a command's name, as Redis does",
  permissions: "none",
  fn: async (t) => {
    const { kv } = harness();
    await kv.conversation(t, [
      [["COMMAND", "INFO", "\u017fet"], "*1\r\n$-1\r\n"],
      [["COMMAND", "DOCS", "\u017fet"], "*0\r\n"],
    ]);
    assertEquals(
      kv.command("COMMAND", "INFO", "sEt").startsWith("*1\r\n*10\r\n$3\r\nset\r\n"),
      true,
    );
  },
});

Deno.test({
  name:
    "INFO's keyspace_hits and keyspace_misses count every command that reads a key, as Redis 7.0 does, and none that only writes",
  permissions: "none",
  fn: () => {
    const { kv } = harness();
    kv.command("SET", "a", "1");
    // [command, hits, misses]: what Debian's redis-server 7.0.15 counts, key `a` there, `zz` not.
    const cases: [string[], number, number][] = [
      [["GET", "a"], 1, 0],
      [["GET", "zz"], 0, 1],
      [["MGET", "a", "zz"], 1, 1],
      [["EXISTS", "a", "zz"], 1, 1],
      [["TOUCH", "a", "zz"], 1, 1],
      [["TYPE", "zz"], 0, 1],
      [["TTL", "a"], 1, 0],
      [["PTTL", "zz"], 0, 1],
      [["EXPIRETIME", "a"], 1, 0],
      [["PEXPIRETIME", "a"], 1, 0],
      [["STRLEN", "zz"], 0, 1],
      [["GETRANGE", "a", "0", "1"], 1, 0],
      [["SUBSTR", "zz", "0", "1"], 0, 1],
      [["GETEX", "a"], 1, 0],
      [["SET", "a", "1", "GET"], 1, 0],
      [["SET", "new", "1", "NX", "GET"], 0, 1],
      [["GETSET", "a", "1"], 1, 0],
      [["GETDEL", "new"], 1, 0],
      [["SET", "a", "2", "NX"], 0, 0],
      [["SETNX", "a", "2"], 0, 0],
      [["APPEND", "a", "x"], 0, 0],
      [["INCR", "n"], 0, 0],
      [["SETRANGE", "a", "0", "x"], 0, 0],
      [["EXPIRE", "a", "100"], 0, 0],
      [["PERSIST", "a"], 0, 0],
      [["RENAME", "a", "b"], 0, 0],
      [["MSET", "a", "1"], 0, 0],
      [["SCAN", "0"], 0, 0],
      [["KEYS", "*"], 0, 0],
      [["DEL", "b"], 0, 0],
    ];
    const { stats } = kv.context;
    for (const [command, hits, misses] of cases) {
      const before = [stats.keyspaceHits, stats.keyspaceMisses];
      kv.command(command[0]!, ...command.slice(1));
      assertEquals(
        [stats.keyspaceHits - before[0]!, stats.keyspaceMisses - before[1]!],
        [hits, misses],
        command.join(" "),
      );
    }
    assertMatch(kv.command("INFO", "stats"), /keyspace_hits:12\r\nkeyspace_misses:9\r\n/);
  },
});
