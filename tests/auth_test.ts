/**
 * Passwords over the line protocol (PROTOCOL.md, Authentication), over
 * real sockets: every request but AUTH and QUIT refused before AUTH, AUTH
 * then work, wrong passwords counted, logged (never the password) and
 * ending the connection at the 10th, and AUTH to a server with none.
 * Redis clients' AUTH and HELLO are in auth_resp_test.ts, what logs and
 * traces show in auth_secrecy_test.ts, the limits before AUTH in
 * auth_limits_test.ts, the refusal to listen exposed in exposure_test.ts,
 * TLS in tls_test.ts.
 */

import { assert, assertEquals, assertFalse, assertStringIncludes } from "@std/assert";
import { AUTH_LOG_LIMIT } from "../server/guard.ts";
import { ManualClock } from "../store/clock.ts";
import { MemoryStore } from "../store/memory.ts";
import { TextStore } from "../store/text.ts";
import { LogCollector, ObservedStore, RawConn, startTestServer } from "../testing/mod.ts";
import { PASSWORD, REQUIRED } from "./auth_fixtures.ts";
import { resp } from "../testing/resp.ts";

Deno.test("serve() with a password answers every line request but QUIT and AUTH with an error, reading and changing nothing", async () => {
  const text = new TextStore(new MemoryStore());
  text.set("secret", "value");
  const store = new ObservedStore(text.store);
  let touched = 0;
  store.onGet = () => touched++;
  store.onSet = () => touched++;
  await using server = startTestServer({ store, password: PASSWORD });
  await using conn = await RawConn.connect(server.port);
  await conn.send("PUT, k, v\nGET, secret\nDELETE, secret\nLIST\nPING\nFOO\nGET\n");
  assertEquals(await conn.readLines(7), Array(7).fill(REQUIRED));
  assertEquals(touched, 0, "nothing was read or changed");
  assertEquals(text.entries(), [["secret", "value"]]);
  await conn.send("QUIT\n");
  assertEquals(await conn.readToEnd(), "Bye!\n");
});

Deno.test("serve() with a password: AUTH, then work; a wrong password is an error, logged without the password", async () => {
  const logs = new LogCollector();
  await using server = startTestServer({ password: PASSWORD, log: logs.log });
  await using conn = await RawConn.connect(server.port);
  await conn.send("AUTH, wrong\nPING\n");
  assertEquals(await conn.readLines(2), ["Error: wrong password", REQUIRED]);
  await conn.send(`AUTH, ${PASSWORD}\nPUT, k, v\nGET, k\n`);
  assertEquals(await conn.readLines(3), ["Success!", "Success!", "v"]);
  const failures = logs.lines.map((line) => line.message).filter((m) => m.includes("AUTH failed"));
  assertEquals(failures.length, 1);
  assert(failures[0]!.includes("127.0.0.1:"), failures[0]);
  assertFalse(failures[0]!.includes("wrong"), "the password tried is never logged");
});

Deno.test("serve() with a password: a flood of wrong passwords logs 20 lines a minute, and INFO counts them all", async () => {
  const logs = new LogCollector();
  const clock = new ManualClock();
  await using server = startTestServer({ password: PASSWORD, log: logs.log, clock });
  const failed = () =>
    logs.lines.map((line) => line.message).filter((m) => m.includes("AUTH failed"));
  // 5 connections, 10 wrong tries each (the 10th closes the connection).
  for (let i = 0; i < 5; i++) {
    await using conn = await RawConn.connect(server.port);
    await conn.send("AUTH, wrong\n".repeat(10));
    assertEquals(await conn.readLines(10), Array(10).fill("Error: wrong password"));
    assertEquals(await conn.readToEnd(), "", "closed after the 10th");
  }
  assertEquals(failed().length, AUTH_LOG_LIMIT);
  assertStringIncludes(failed().at(-1)!, "the rest of this minute's are counted");
  clock.advance(60_000);
  await using line = await RawConn.connect(server.port);
  await line.send("AUTH, wrong\n");
  assertEquals(await line.readLine(), "Error: wrong password");
  await using redis = await RawConn.connect(server.port);
  await redis.send(resp("AUTH", PASSWORD) + resp("INFO", "stats"));
  let info: string | null;
  do info = await redis.readLine(); while (info !== null && !info.startsWith("acl_"));
  assertEquals(info, "acl_access_denied_auth:51\r");
  assertEquals(failed().length, AUTH_LOG_LIMIT + 1);
  assertStringIncludes(failed().at(-1)!, "; 30 more failed before it, not logged");
});

Deno.test("serve() closes a connection after 10 wrong passwords", async () => {
  await using server = startTestServer({ password: PASSWORD });
  await using conn = await RawConn.connect(server.port);
  await conn.send("AUTH, nope\n".repeat(12));
  assertEquals(await conn.readToEnd(), "Error: wrong password\n".repeat(10));
  // Another connection starts its own count.
  await using next = await RawConn.connect(server.port);
  await next.send(`AUTH, ${PASSWORD}\nPING\n`);
  assertEquals(await next.readLines(2), ["Success!", "PONG"]);
  // Redis clients: a wrong user counts as a wrong try too, in AUTH and in HELLO.
  for (const wrong of [resp("AUTH", "bob", "x"), resp("HELLO", "3", "AUTH", "bob", "x")]) {
    await using redis = await RawConn.connect(server.port);
    await redis.send(wrong.repeat(12));
    assertEquals(
      await redis.readToEnd(),
      "-WRONGPASS invalid username-password pair or user is disabled.\r\n".repeat(10),
    );
  }
});

Deno.test("serve() without a password answers AUTH with an error line", async () => {
  await using server = startTestServer();
  await using conn = await RawConn.connect(server.port);
  await conn.send("AUTH, anything\nPING\n");
  assertEquals(await conn.readLines(2), [
    "Error: AUTH is not needed: this server has no password",
    "PONG",
  ]);
});

Deno.test("serve() answers an AUTH with an empty password that the password, not a key, must not be empty", async () => {
  for (const password of [undefined, PASSWORD]) {
    await using server = startTestServer({ password });
    await using conn = await RawConn.connect(server.port);
    if (password !== undefined) {
      await conn.send(`AUTH, ${password}\n`);
      assertEquals(await conn.readLine(), "Success!");
    }
    await conn.send("AUTH,\nAUTH, \t \nGET, \n");
    assertEquals(await conn.readLines(3), [
      "Error: password must not be empty",
      "Error: password must not be empty",
      "Error: key must not be empty",
    ]);
  }
});
