/**
 * Redis's transactions (transaction.ts, and MULTI's queue in execute.ts),
 * reply for reply as Redis 7.0 answers, in-process on a MemoryStore with a
 * clock the test moves. Pure.
 */

import { assert, assertEquals } from "@std/assert";
import { respAt } from "../../testing/mod.ts";
import { MAX_QUEUED_BYTES, MAX_SERVER_QUEUED_BYTES } from "../execute.ts";

const NOW = 1_700_000_000_000;
const harness = () => respAt(NOW);

Deno.test({
  name: "Redis transactions: MULTI, EXEC, DISCARD, and what cannot be queued",
  permissions: "none",
  fn: async (t) => {
    const { kv } = harness();
    await kv.conversation(t, [
      [["EXEC"], "-ERR EXEC without MULTI\r\n"],
      [["DISCARD"], "-ERR DISCARD without MULTI\r\n"],
      [["MULTI"], "+OK\r\n"],
      [["SET", "k", "1"], "+QUEUED\r\n"],
      [["MULTI"], "-ERR MULTI calls can not be nested\r\n"],
      [["INCR", "k"], "+QUEUED\r\n"],
      [["GET", "k"], "+QUEUED\r\n"],
      [["EXEC"], "*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n"],
      [["MULTI"], "+OK\r\n"],
      [["DEL", "k"], "+QUEUED\r\n"],
      [["DISCARD"], "+OK\r\n"],
      [["GET", "k"], "$1\r\n2\r\n"],
      [["MULTI"], "+OK\r\n"],
      [["EXEC"], "*0\r\n"],
      [["MULTI"], "+OK\r\n"],
      [["INCR", "k"], "+QUEUED\r\n"],
      [["GET"], "-ERR wrong number of arguments for 'get' command\r\n"],
      [["INCR", "k"], "+QUEUED\r\n"],
      [["EXEC"], "-EXECABORT Transaction discarded because of previous errors.\r\n"],
      [["GET", "k"], "$1\r\n2\r\n"],
      // A command that fails as it runs fails alone, as in Redis.
      [["MULTI"], "+OK\r\n"],
      [["SET", "s", "x"], "+QUEUED\r\n"],
      [["INCR", "s"], "+QUEUED\r\n"],
      [["EXEC"], "*2\r\n+OK\r\n-ERR value is not an integer or out of range\r\n"],
      // WATCH: a change of a watched key, even by this connection, voids EXEC.
      [["WATCH", "w", "k"], "+OK\r\n"],
      [["SET", "w", "1"], "+OK\r\n"],
      [["MULTI"], "+OK\r\n"],
      [["WATCH", "x"], "-ERR WATCH inside MULTI is not allowed\r\n"],
      [["INCR", "w"], "+QUEUED\r\n"],
      [["EXEC"], "*-1\r\n"],
      [["GET", "w"], "$1\r\n1\r\n"],
      // EXEC forgot the watched keys: this one runs.
      [["SET", "w", "2"], "+OK\r\n"],
      [["MULTI"], "+OK\r\n"],
      [["INCR", "w"], "+QUEUED\r\n"],
      [["EXEC"], "*1\r\n:3\r\n"],
      // UNWATCH, and a DEL of a missing key (no change), leave EXEC free to run.
      [["WATCH", "w"], "+OK\r\n"],
      [["UNWATCH"], "+OK\r\n"],
      [["SET", "w", "9"], "+OK\r\n"],
      [["WATCH", "none"], "+OK\r\n"],
      [["DEL", "none"], ":0\r\n"],
      [["MULTI"], "+OK\r\n"],
      [["EXEC"], "*0\r\n"],
      // EXEC with arguments ends the transaction, in it or not, as Redis's execCommandAbort().
      [["MULTI"], "+OK\r\n"],
      [["SET", "w", "0"], "+QUEUED\r\n"],
      [
        ["EXEC", "x"],
        "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n",
      ],
      [["EXEC"], "-ERR EXEC without MULTI\r\n"],
      [
        ["EXEC", "x"],
        "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n",
      ],
      [["GET", "w"], "$1\r\n9\r\n"],
      [["MULTI"], "+OK\r\n"],
      [["QUIT"], "+OK\r\n"],
    ]);
  },
});

Deno.test({
  name: "Redis WATCH: a key that expires after it is watched has changed; one already gone has not",
  permissions: "none",
  fn() {
    const { kv, clock } = harness();
    kv.command("SET", "k", "v", "PX", "100");
    assertEquals(kv.command("WATCH", "k"), "+OK\r\n");
    clock.advance(100);
    kv.command("MULTI");
    assertEquals(kv.command("EXEC"), "*-1\r\n");
    kv.command("SET", "g", "v", "PX", "100");
    clock.advance(100);
    kv.command("WATCH", "g");
    kv.command("MULTI");
    assertEquals(kv.command("EXEC"), "*0\r\n");
  },
});

Deno.test({
  name:
    "Redis transactions are bounded: past MAX_QUEUED_BYTES a command is refused, and EXEC discards them all",
  permissions: "none",
  fn() {
    const { kv } = harness();
    // Half a MiB each: a request stays under the harness's 1 MiB limit.
    const half = "v".repeat(512 * 1024);
    kv.command("MULTI");
    let refusedAt = 0;
    for (let i = 1; i <= MAX_QUEUED_BYTES / (512 * 1024) + 1 && refusedAt === 0; i++) {
      const answer = kv.command("SET", `k${i}`, half);
      if (answer !== "+QUEUED\r\n") {
        assertEquals(answer, "-ERR kv: a transaction may queue at most 64 MiB of commands\r\n");
        refusedAt = i;
      }
    }
    // 128 commands of half a MiB and a KiB each pass 64 MiB; 127 do not.
    assertEquals(refusedAt, 128);
    assertEquals(kv.command("SET", "small", "1"), "+QUEUED\r\n");
    assertEquals(
      kv.command("EXEC"),
      "-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
    assertEquals(kv.command("DBSIZE"), ":0\r\n");
    assertEquals(kv.context.stats.queuedBytes, 0, "EXEC let go of the count");
  },
});

Deno.test({
  name: "Redis transactions are bounded over every connection too: MAX_SERVER_QUEUED_BYTES",
  permissions: "none",
  fn() {
    const { kv } = harness();
    const stats = kv.context.stats;
    kv.command("MULTI");
    assertEquals(kv.command("SET", "a", "1"), "+QUEUED\r\n");
    const mine = stats.queuedBytes;
    assert(mine > 1024 && mine < 2048, String(mine));
    kv.command("DISCARD");
    assertEquals(stats.queuedBytes, 0, "DISCARD let go of the count");
    // Other connections' transactions hold nearly all of it.
    stats.queuedBytes = MAX_SERVER_QUEUED_BYTES - 100;
    kv.command("MULTI");
    assertEquals(
      kv.command("SET", "a", "1"),
      "-ERR kv: open transactions hold 512 MiB of commands already; try again later\r\n",
    );
    assertEquals(stats.queuedBytes, MAX_SERVER_QUEUED_BYTES - 100, "nothing of this one counted");
    assertEquals(
      kv.command("EXEC"),
      "-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
  },
});
