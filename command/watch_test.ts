/**
 * What {@linkcode Watches} lets be watched: a connection's keys and every
 * connection's together are bounded, a WATCH past either is refused whole
 * and voids its connection's next EXEC, and what a connection watched
 * counts no more once it unwatches. Pure, on a MemoryStore, with limits
 * small enough to reach (tests/resp_transaction_test.ts reaches the
 * server's 16 MiB over a socket).
 */

import { assertEquals } from "@std/assert";
import { newSession, type Session } from "./command.ts";
import { WATCHED_OVERHEAD_BYTES, Watches } from "./watch.ts";
import { MemoryStore } from "../store/memory.ts";
import { NO_KEY } from "../store/store.ts";

// Room for three keys of 8 bytes a connection, five in all.
const KEY = 8 + WATCHED_OVERHEAD_BYTES;
const LIMITS = { connectionBytes: 3 * KEY, allBytes: 5 * KEY };

function session(id: number): Session {
  return newSession({
    id,
    peer: "127.0.0.1:1",
    local: "127.0.0.1:12000",
    createdAt: 0,
    protocol: "resp",
    authenticated: true,
  });
}

function keys(...names: string[]): [string[], number[]] {
  return [names, names.map(() => NO_KEY)];
}

Deno.test({
  name: "Watches refuses a WATCH past a connection's limit whole, and voids the next EXEC",
  permissions: "none",
  fn() {
    const watches = new Watches(new MemoryStore(), LIMITS);
    const one = session(1);
    assertEquals(watches.watch(one, ...keys("key:0001", "key:0002")), undefined);
    assertEquals(watches.bytes, 2 * KEY);
    // A key it watches already costs nothing more.
    assertEquals(watches.watch(one, ...keys("key:0001")), undefined);
    assertEquals(watches.bytes, 2 * KEY);
    assertEquals(watches.watch(one, ...keys("key:0003", "key:0004")), {
      kind: "redis",
      text: `ERR kv: a connection may watch at most ${3 * KEY} bytes of keys`,
    });
    // Nothing of the refused WATCH is kept (key:0003 fitted, and went with the rest)...
    assertEquals(watches.bytes, 2 * KEY);
    assertEquals([...one.watching!.keys.keys()], ["key:0001", "key:0002"]);
    // ...and EXEC must run nothing, as after a change.
    assertEquals(watches.changed(one), true);
    watches.unwatchAll(one);
    assertEquals([watches.bytes, one.watching], [0, undefined]);
  },
});

Deno.test({
  name:
    "Watches refuses a WATCH past every connection's limit, and gives the room back as they unwatch",
  permissions: "none",
  fn() {
    const watches = new Watches(new MemoryStore(), LIMITS);
    const [one, two, three] = [session(1), session(2), session(3)];
    assertEquals(watches.watch(one, ...keys("key:0001", "key:0002", "key:0003")), undefined);
    // The same key watched by two connections counts for each.
    assertEquals(watches.watch(two, ...keys("key:0001")), undefined);
    assertEquals(watches.watch(three, ...keys("key:0004", "key:0005")), {
      kind: "redis",
      text: `ERR kv: watched keys of all connections hold ${5 * KEY} bytes already; ` +
        "try again later",
    });
    assertEquals(watches.bytes, 4 * KEY);
    assertEquals(watches.changed(three), true);
    // The refused WATCH undid only its own: key:0001 is still watched by two.
    assertEquals(watches.watch(three, ...keys("key:0001")), undefined);
    watches.unwatchAll(three);
    watches.keyChanged(new TextEncoder().encode("key:0001"), 0, 8);
    assertEquals([watches.changed(one), watches.changed(two)], [true, true]);
    // One connection's keys go with it, and make room for another's.
    watches.unwatchAll(one);
    assertEquals(watches.bytes, KEY);
    const four = session(4);
    assertEquals(watches.watch(four, ...keys("key:0004", "key:0005", "key:0006")), undefined);
    assertEquals(watches.changed(four), false);
    watches.unwatchAll(two);
    watches.unwatchAll(four);
    assertEquals(watches.bytes, 0);
  },
});
