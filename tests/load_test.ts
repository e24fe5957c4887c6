/**
 * A load test: well over a thousand clients connected at once, each writing
 * its own keys and reading every value back, within a few seconds. In this
 * process each loopback connection costs two file descriptors (client and
 * server side), so 1,500 connections need about 3,000 (`ulimit -n`).
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { ask, RawConn, startTestServer } from "../testing/mod.ts";

const CONNECTIONS = 1_500;
const KEYS_PER_CONNECTION = 20;
const BOUND_MS = 20_000;

/** One client's work: round trips, then a pipelined batch, every answer checked. */
async function work(conn: RawConn, id: number): Promise<void> {
  for (let j = 0; j < 3; j++) {
    await conn.send(`PUT, c${id}:r${j}, round ${id}/${j}\nGET, c${id}:r${j}\n`);
    assertEquals(await conn.readLines(2), ["Success!", `round ${id}/${j}`]);
  }
  let puts = "";
  let gets = "";
  const values: string[] = [];
  for (let j = 0; j < KEYS_PER_CONNECTION; j++) {
    const value = `value ${id}, ${j}: ${"x".repeat((id * 7 + j) % 50)}.`;
    values.push(value);
    puts += `PUT, c${id}:k${j}, ${value}\n`;
    gets += `GET, c${id}:k${j}\n`;
  }
  await conn.send(puts + gets + `DELETE, c${id}:k0\nGET, c${id}:k0\n`);
  const answers = await conn.readLines(2 * KEYS_PER_CONNECTION + 2);
  assertEquals(answers.slice(0, KEYS_PER_CONNECTION), values.map(() => "Success!"));
  assertEquals(answers.slice(KEYS_PER_CONNECTION, 2 * KEYS_PER_CONNECTION), values);
  assertEquals(answers.slice(2 * KEYS_PER_CONNECTION), ["Success!", "Not exist!"]);
}

Deno.test(`serve() serves ${CONNECTIONS} clients at once, each reading back its own keys`, async () => {
  await using server = startTestServer();
  const conns: RawConn[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`load: not done in ${BOUND_MS} ms`)), BOUND_MS);
  });
  const started = performance.now();
  try {
    await Promise.race([
      (async () => {
        // Connect in waves, so the listen backlog never overflows (a
        // dropped SYN is retried only after a second).
        for (let wave = 0; wave < CONNECTIONS; wave += 250) {
          const size = Math.min(250, CONNECTIONS - wave);
          conns.push(
            ...await Promise.all(
              Array.from({ length: size }, () => RawConn.connect(server.port)),
            ),
          );
        }
        // All held at once: each one is served before any leaves.
        await Promise.all(conns.map(async (conn) => {
          await conn.send("PING\n");
          assertEquals(await conn.readLine(), "PONG");
        }));
        await Promise.all(conns.map((conn, id) => work(conn, id)));
      })(),
      late,
    ]);
  } finally {
    clearTimeout(timer);
    for (const conn of conns) conn.close();
  }
  const elapsedMs = performance.now() - started;
  assertEquals(conns.length, CONNECTIONS);
  assert(elapsedMs < BOUND_MS);
  assertEquals(
    await ask(server.port, `GET, c${CONNECTIONS - 1}:k1`),
    `value ${CONNECTIONS - 1}, 1: ${"x".repeat(((CONNECTIONS - 1) * 7 + 1) % 50)}.`,
  );
});
