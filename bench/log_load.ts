/**
 * Files for timing a load, for BENCHMARKS.md: a kv log of N keys
 * (`key:0` .. `key:N-1`, 16-byte values) and the same N `SET`s as Redis
 * commands, to feed `redis-cli --pipe` into a Redis with its AOF on.
 *
 *     deno run --allow-read=DIR --allow-write=DIR bench/log_load.ts DIR [N]
 *
 * Then time kv loading DIR/kv.log (its log line says how long it took):
 *
 *     deno run --allow-net --allow-read=DIR --allow-write=DIR main.ts serve --port 0 --data DIR/kv.log
 *
 * and Redis loading its AOF of the same keys ("DB loaded from append only
 * file: N seconds" in its log): start `redis-server --port P --dir DIR/redis
 * --appendonly yes --save ''`, run `redis-cli -p P --pipe < DIR/sets.resp`,
 * `redis-cli -p P shutdown`, start it again the same way, read its log.
 *
 * @module
 */

import { openLog } from "../store/log/open.ts";

const [dir, count = "1000000"] = Deno.args;
if (dir === undefined) {
  // deno-lint-ignore no-console
  console.error("usage: bench/log_load.ts DIR [N]");
  Deno.exit(2);
}
const keys = Number(count);
const encoder = new TextEncoder();
const value = encoder.encode("v".repeat(16));
const log = await openLog(`${dir}/kv.log`, { fsync: "no", compactMinBytes: 2 ** 50 });
const resp = await Deno.open(`${dir}/sets.resp`, { write: true, create: true, truncate: true });
const writer = resp.writable.getWriter();
let batch = "";
for (let i = 0; i < keys; i++) {
  const key = encoder.encode(`key:${i}`);
  log.set(key, 0, key.length, value, 0, value.length, { lineText: true });
  batch += `*3\r\n$3\r\nSET\r\n$${key.length}\r\nkey:${i}\r\n$16\r\n${"v".repeat(16)}\r\n`;
  if (i % 10_000 === 9_999) {
    await log.commit();
    await writer.write(encoder.encode(batch));
    batch = "";
  }
}
await writer.write(encoder.encode(batch));
await writer.close();
await log.close();
// deno-lint-ignore no-console
console.log(`wrote ${dir}/kv.log and ${dir}/sets.resp: ${keys} keys`);
