/**
 * kv against the real Redis (Debian's redis-server 7): a differential test
 * of seeded random commands sent to both, replies compared byte for byte in
 * RESP2 and in RESP3 (the commands, some pipelined and some inline, are
 * redis_random.ts's, which a scratch script can also run longer and with
 * other seeds). Edge cases of parsing are in redis_edges_e2e.ts,
 * redis-cli and redis-benchmark against kv in redis_cli_e2e.ts, three
 * connections at once in redis_multi_e2e.ts.
 *
 * Needs more than --allow-net, so `deno test --allow-net` does not pick it
 * up; `.ci/run` runs it (installing redis-server and redis-tools if
 * missing) with:
 *
 *     deno test --allow-net --allow-run=redis-server,redis-cli,redis-benchmark e2e/redis_e2e.ts
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { startTestServer } from "../testing/mod.ts";
import { floatText } from "../testing/float_inputs.ts";
import { mulberry32 } from "../testing/random.ts";
import { RespConn, startRedis } from "./redis.ts";
import { differences } from "./redis_random.ts";

const SEED = 20261127;
const COMMANDS_PER_PROTOCOL = 3_000;
const encoder = new TextEncoder();

Deno.test("kv answers random commands as Redis 7 does, byte for byte, in RESP2 and RESP3", async (t) => {
  const redis = await startRedis();
  try {
    await using server = startTestServer();
    for (const resp of [2, 3] as const) {
      await t.step(`RESP${resp}: ${COMMANDS_PER_PROTOCOL} commands`, async () => {
        const found = await differences(
          server.port,
          redis.port,
          resp,
          SEED + resp,
          COMMANDS_PER_PROTOCOL,
        );
        assertEquals(found.slice(0, 20), [], `${found.length} replies differ`);
      });
    }
  } finally {
    await redis.stop();
  }
});

Deno.test("kv answers random INCRBYFLOATs as Redis 7 does, byte for byte, at the edges of its arithmetic", async () => {
  const redis = await startRedis();
  try {
    await using server = startTestServer();
    const kv = await RespConn.open(server.port);
    const theirs = await RespConn.open(redis.port);
    try {
      const random = mulberry32(SEED + 1);
      const found: string[] = [];
      const show = (bytes: Uint8Array) => JSON.stringify(new TextDecoder("latin1").decode(bytes));
      const both = async (...words: string[]) => {
        const encoded = words.map((word) => encoder.encode(word));
        const [a, b] = [show(await kv.call(encoded)), show(await theirs.call(encoded))];
        if (a !== b) {
          found.push(`${words.map((w) => JSON.stringify(w)).join(" ")}: kv ${a}, redis ${b}`);
        }
      };
      // A stored value and an increment (a missing key now and then); then
      // counters bumped again and again by one increment, each reading back
      // the text the last one stored.
      for (let i = 0; i < 400; i++) {
        if (random() < 0.1) await both("DEL", "f");
        else await both("SET", "f", floatText(random));
        await both("INCRBYFLOAT", "f", floatText(random));
      }
      for (let chain = 0; chain < 40; chain++) {
        await both("SET", "c", floatText(random));
        const increment = floatText(random);
        for (let i = 0; i < 10; i++) await both("INCRBYFLOAT", "c", increment);
      }
      assertEquals(found.slice(0, 20), [], `${found.length} replies differ`);
    } finally {
      kv.close();
      theirs.close();
    }
  } finally {
    await redis.stop();
  }
});
