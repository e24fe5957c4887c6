/**
 * Passwords, TLS and the guard against accidental exposure (PROTOCOL.md,
 * Authentication, TLS, Transport), over real sockets: what an attacker would
 * try (requests before AUTH, wrong passwords, plaintext to TLS, handshakes
 * that never finish) and what a user does (AUTH, then work).
 */

import {
  assert,
  assertEquals,
  assertFalse,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { runBench } from "../bench/run.ts";
import { runCheck } from "../check/runner.ts";
import { KvClient } from "../client/client.ts";
import { KvConnectionError, KvServerError } from "../client/errors.ts";
import { main } from "../main.ts";
import { AUTH_LOG_LIMIT } from "../server/guard.ts";
import { ExposureError, isLoopback } from "../server/listen.ts";
import { serve, serveListener } from "../server/serve.ts";
import { listenTls } from "../server/tls.ts";
import { ManualClock } from "../store/clock.ts";
import { MemoryStore } from "../store/memory.ts";
import { TextStore } from "../store/text.ts";
import {
  FakeIo,
  LogCollector,
  ObservedStore,
  RawConn,
  readAll,
  scriptedServer,
  startTestServer,
  TraceCollector,
  within,
} from "../testing/mod.ts";
import { TEST_CA, TEST_CERT, TEST_KEY } from "../testing/tls.ts";

const PASSWORD = "s3cret, with a comma";
const REQUIRED = "Error: authentication required (send AUTH, password first)";

function resp(...words: string[]): string {
  const encoder = new TextEncoder();
  return `*${words.length}\r\n${
    words.map((w) => `$${encoder.encode(w).length}\r\n${w}\r\n`).join("")
  }`;
}

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

Deno.test("serve() with a password: -v and --trace never show a password tried or given", async () => {
  const logs = new LogCollector();
  const traced = new TraceCollector();
  await using server = startTestServer({
    password: PASSWORD,
    log: logs.log,
    verbose: true,
    trace: traced.trace,
  });
  await using line = await RawConn.connect(server.port);
  // Redis's form as a line (no comma: an unknown command word) holds the password too.
  await line.send(`auth guess-0\r\nAUTH, guess-1\nAUTH, ${PASSWORD}\nPUT, k, v\n`);
  assertEquals((await line.readLines(4)).slice(1), [
    "Error: wrong password",
    "Success!",
    "Success!",
  ]);
  await using redis = await RawConn.connect(server.port);
  await redis.send(
    resp("AUTH", "guess-2") + resp("AUTH", "default", "guess-3", "extra") +
      resp("HELLO", "2", "AUTH", "default", "guess-4") + resp("AUTH", "default", PASSWORD) +
      resp("GET", "k"),
  );
  assertEquals((await redis.readLines(6)).at(-1), "v\r");
  const seen = [
    ...logs.lines.map((line) => line.message),
    ...traced.events.map((event) => event.detail),
  ];
  assert(seen.some((text) => text.includes("AUTH (the rest hidden")), "the request is logged");
  assert(seen.some((text) => text.includes('"PUT, k, v"')), "other requests are shown");
  for (const secret of ["guess-0", "guess-1", "guess-2", "guess-3", "guess-4", "s3cret"]) {
    assertEquals(seen.filter((text) => text.includes(secret)), [], secret);
  }
});

Deno.test("serve() without a password: -v and --trace still hide an AUTH a client sends, its echo, and every read after it", async (t) => {
  const traced = new TraceCollector();
  const logs = new LogCollector();
  await using server = startTestServer({ trace: traced.trace, verbose: true, log: logs.log });
  const seen = () => [
    ...traced.events.map((event) => event.detail),
    ...logs.lines.map((line) => line.message),
  ];
  let id = 0;
  /**
   * Sends a first request, shown, then `pieces` on the same connection, each
   * in a read of its own, then PING, and reads to PONG. RESP when `resp`.
   */
  const send = async (pieces: string[], resp = false) => {
    const who = `#${++id}`;
    await using conn = await RawConn.connect(server.port);
    await conn.send(resp ? "*3\r\n$3\r\nSET\r\n$6\r\nauthor\r\n$1\r\nx\r\n" : "PUT, author, x\n");
    assertEquals((await conn.readLine())?.trimEnd(), resp ? "+OK" : "Success!");
    for (const [i, piece] of pieces.entries()) {
      await conn.send(piece);
      await within("the read", traced.waitFor(who, "recv", i + 2));
    }
    await conn.send(resp ? "*1\r\n$4\r\nPING\r\n" : "PING\n");
    while (!(await conn.readLine())?.includes("PONG"));
  };
  await t.step("AUTH as a line, and in Redis's form (whose error quotes it back)", async () => {
    await send([`AUTH, ${PASSWORD}\n`, `AUTH ${PASSWORD}\n`]);
  });
  await t.step("AUTH split from its password, and the word itself split", async () => {
    await send(["AUTH, ", `${PASSWORD}\n`]);
    await send(["GET x\r\nAU", `TH ${PASSWORD}\r\n`]);
    await send(["*2\r\n$4\r\nAU", "TH\r\n$7\r\n", `${PASSWORD.slice(0, 7)}\r\n`], true);
  });
  await t.step("a password longer than a read", async () => {
    await send([`*2\r\n$4\r\nAUTH\r\n$3000\r\n`, `${"s3cret".repeat(500)}\r\n`], true);
  });
  assertEquals(seen().filter((text) => text.includes("s3cret")), []);
  assert(
    seen().some((text) => text.includes("(hidden: after AUTH or HELLO, which hold a password)")),
  );
  assert(seen().some((text) => text.includes("PUT, author, x")), "the bytes before are shown");
});

Deno.test("KvClient and kv bench never show their password, even when a server echoes it", async () => {
  // A server that is not kv: it echoes every line back, as Redis's error for an unknown command does.
  await using echo = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(1024);
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      await conn.write(
        new TextEncoder().encode(
          `-ERR unknown command, with args beginning with: ${
            new TextDecoder().decode(buffer.subarray(0, n)).trim()
          }\n`,
        ),
      );
    }
  });
  const traced = new TraceCollector();
  const error = await assertRejects(() =>
    KvClient.connect({ port: echo.port, password: PASSWORD, trace: traced.trace })
  );
  assertFalse(String(error).includes("s3cret"), String(error));
  assertStringIncludes(String(error), "***");
  assertEquals(traced.events.filter((event) => event.detail.includes("s3cret")), []);
  // One that JSON would escape, and longer than a trace line shows.
  const odd = `qu"ote\\back-${"z".repeat(100)}`;
  const oddTrace = new TraceCollector();
  const oddError = await assertRejects(() =>
    KvClient.connect({ port: echo.port, password: odd, trace: oddTrace.trace })
  );
  assertFalse(String(oddError).includes("ote"), String(oddError));
  assertEquals(oddTrace.events.filter((event) => /ote|zzzz/.test(event.detail)), []);
  const fake = new FakeIo();
  const outcome = await runBench(
    { port: echo.port, password: PASSWORD, connections: 1, requests: 10 },
    fake.io,
  );
  assert(outcome !== "ok");
  assertFalse(fake.stderr.includes("s3cret"), fake.stderr);
  assertStringIncludes(fake.stderr, "***");
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

Deno.test("serve() with a password: Redis clients get NOAUTH until AUTH or HELLO ... AUTH", async () => {
  await using server = startTestServer({ password: PASSWORD });
  await using conn = await RawConn.connect(server.port);
  await conn.send(
    resp("GET", "k") + resp("EXEC") + resp("HELLO", "3") + resp("AUTH", "bad") +
      resp("AUTH", PASSWORD) + resp("GET", "k"),
  );
  assertEquals(await conn.readLines(6), [
    "-NOAUTH Authentication required.\r",
    // As Redis's rejectCommand(): a refused EXEC aborts, in EXECABORT's words.
    "-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r",
    "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r",
    "-WRONGPASS invalid username-password pair or user is disabled.\r",
    "+OK\r",
    "$-1\r",
  ]);
  await using other = await RawConn.connect(server.port);
  await other.send(resp("HELLO", "3", "AUTH", "default", PASSWORD) + resp("GET", "k"));
  const hello = await other.readLine();
  assertEquals(hello, "%7\r");
  await other.readLines(25); // seven keys and values, as RESP3 lines
  assertEquals(await other.readLine(), "_\r", "RESP3, authenticated");
});

Deno.test("serve() with a password: an unknown CLIENT, COMMAND or CONFIG subcommand, or one of the wrong arity, is refused before NOAUTH, as Redis 7.0 orders them", async () => {
  await using server = startTestServer({ password: PASSWORD });
  await using conn = await RawConn.connect(server.port);
  await conn.send(
    resp("CLIENT", "FOO") + resp("CONFIG", "GET") + resp("COMMAND", "COUNT", "x") +
      resp("CLIENT", "ID") + resp("CONFIG", "GET", "port") + resp("MULTI") +
      resp("CLIENT", "ID", "x") + resp("EXEC"),
  );
  assertEquals(await conn.readLines(8), [
    "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r",
    "-ERR wrong number of arguments for 'config|get' command\r",
    "-ERR wrong number of arguments for 'command|count' command\r",
    // Well-formed, they read the server: not before AUTH.
    "-NOAUTH Authentication required.\r",
    "-NOAUTH Authentication required.\r",
    "-NOAUTH Authentication required.\r",
    "-ERR wrong number of arguments for 'client|id' command\r",
    "-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r",
  ]);
});

Deno.test("serve() with a password: HELLO checks its options in Redis 7.0's order, and changes nothing before AUTH", async () => {
  await using server = startTestServer({ password: PASSWORD });
  const badName = "-ERR Client names cannot contain spaces, newlines or special characters.\r";
  const noAuth = "-NOAUTH Authentication required.\r";
  // A bad name before AUTH: the error, and AUTH never ran.
  await using first = await RawConn.connect(server.port);
  await first.send(
    resp("HELLO", "3", "SETNAME", "a b", "AUTH", "default", PASSWORD) + resp("DBSIZE"),
  );
  assertEquals(await first.readLines(2), [badName, noAuth]);
  // AUTH before a bad option: the syntax error, and the client is in.
  await using second = await RawConn.connect(server.port);
  await second.send(resp("HELLO", "2", "AUTH", "default", PASSWORD, "FOO") + resp("DBSIZE"));
  assertEquals(await second.readLines(2), ["-ERR Syntax error in HELLO option 'FOO'\r", ":0\r"]);
  // Before AUTH nothing changes: a name before a failed AUTH, or with none, is not kept.
  await using third = await RawConn.connect(server.port);
  await third.send(
    resp("HELLO", "2", "SETNAME", "early", "AUTH", "default", "wrong") +
      resp("HELLO", "3", "SETNAME", "early") + resp("AUTH", PASSWORD) +
      resp("CLIENT", "GETNAME"),
  );
  assertEquals(await third.readLines(4), [
    "-WRONGPASS invalid username-password pair or user is disabled.\r",
    "-NOAUTH HELLO must be called with the client already authenticated, otherwise the " +
    "HELLO AUTH <user> <pass> option can be used to authenticate the client and select the " +
    "RESP protocol version at the same time\r",
    "+OK\r",
    "$-1\r",
  ]);
  // Authenticated, a name comes with the AUTH that lets the client in, and stays before a bad option.
  await third.send(
    resp("HELLO", "2", "SETNAME", "later", "AUTH", "default", PASSWORD) +
      resp("HELLO", "2", "SETNAME", "last", "FOO") + resp("CLIENT", "GETNAME"),
  );
  let line = await third.readLine(); // HELLO's map, then the error.
  while (line !== null && !line.startsWith("-")) line = await third.readLine();
  assertEquals(line, "-ERR Syntax error in HELLO option 'FOO'\r");
  assertEquals(await third.readLine(), "$4\r");
  assertEquals(await third.readLine(), "last\r");
});

Deno.test("serve() over TLS: a round trip in both protocols; plaintext fails only its own connection", async () => {
  await using server = startTestServer({ tls: { cert: TEST_CERT, key: TEST_KEY } });
  // A plaintext client: its bytes are no TLS handshake.
  const plain = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await plain.write(new TextEncoder().encode("PING\n"));
  const buffer = new Uint8Array(1024);
  const got = await within(
    "the server ends the plaintext connection",
    plain.read(buffer).catch(() => null),
  );
  assert(
    got === null || new TextDecoder().decode(buffer.subarray(0, got)).startsWith("\x15"),
    "no PONG in plaintext",
  );
  plain.close();
  for (const [request, answer] of [["PING\n", "PONG\n"], [resp("PING"), "+PONG\r\n"]]) {
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: server.port,
      caCerts: [TEST_CA],
    });
    try {
      await conn.write(new TextEncoder().encode(request));
      const n = await within("a TLS answer", conn.read(buffer));
      assertEquals(new TextDecoder().decode(buffer.subarray(0, n!)), answer);
    } finally {
      conn.close();
    }
  }
});

Deno.test("serve() over TLS answers a client that half-closes right after its requests", async () => {
  // TLS 1.3: the client's Finished, its requests and its FIN may all come
  // before the server's side of the handshake is done; the FIN then must
  // not cut the connection (PROTOCOL.md, Ends of lines).
  await using server = startTestServer({ tls: { cert: TEST_CERT, key: TEST_KEY } });
  for (let i = 0; i < 30; i++) {
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: server.port,
      caCerts: [TEST_CA],
    });
    try {
      await conn.write(new TextEncoder().encode(`PUT, k${i}, v${i}\nGET, k${i}\n`));
      await conn.closeWrite();
      const answer = await within("the answers, then the end", readAll(conn));
      assertEquals(answer, `Success!\nv${i}\n`, `connection ${i}`);
    } finally {
      conn.close();
    }
  }
});

Deno.test("serve() over TLS ends a connection whose client half-closes mid-handshake, at once", async () => {
  // The handshake fails on the end of the stream: no waiting for the timeout.
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    handshakeTimeoutMs: 60_000,
  });
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  // The first bytes of a ClientHello record: the rest never comes.
  await conn.write(Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]));
  await conn.closeWrite();
  // Perhaps an alert first, then the end (or a reset): within 5 s, not 60.
  const ended = (async () => {
    const buffer = new Uint8Array(64);
    while ((await conn.read(buffer).catch(() => null)) !== null);
  })();
  await within("the server's end", ended, 5_000);
});

Deno.test("serve() over TLS logs a client's broken TLS record as the client's doing, not as a failure", async () => {
  // One line at error level per connection would let anyone fill the log.
  const logs = new LogCollector();
  await using server = startTestServer({ tls: { cert: TEST_CERT, key: TEST_KEY }, log: logs.log });
  // Between a TLS client and the server, a relay that can slip bytes in.
  using relay = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connecting = Deno.connectTls({
    hostname: "127.0.0.1",
    port: relay.addr.port,
    caCerts: [TEST_CA],
  });
  using near = await relay.accept();
  using far = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const copy = async (from: Deno.Conn, to: Deno.Conn) => {
    const buffer = new Uint8Array(16 * 1024);
    try {
      for (let n = await from.read(buffer); n !== null; n = await from.read(buffer)) {
        await to.write(buffer.subarray(0, n));
      }
      await to.closeWrite();
    } catch { /* A side closed: the relay is done. */ }
  };
  const relaying = Promise.all([copy(near, far), copy(far, near)]);
  using client = await connecting;
  await client.write(new TextEncoder().encode("PING\n"));
  const pong = new Uint8Array(5);
  assertEquals(await client.read(pong), 5, "the handshake is done on both sides");
  // An application-data record that does not decrypt.
  await far.write(Uint8Array.from([0x17, 0x03, 0x03, 0x00, 0x20, ...new Uint8Array(32)]));
  const ended = (async () => {
    const buffer = new Uint8Array(64);
    while ((await client.read(buffer).catch(() => null)) !== null);
  })();
  await within("the server closes the connection", ended);
  far.close();
  near.close();
  await relaying;
  assertEquals(logs.lines.filter((line) => line.level === "error"), []);
});

Deno.test("serve() over TLS: --idle-timeout ends a silent client before its handshake too", async () => {
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    handshakeTimeoutMs: 60_000,
    idleTimeoutMs: 100,
  });
  using silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const read = await within(
    "the idle timeout, not the handshake's",
    silent.read(new Uint8Array(16)).catch(() => null),
    5_000,
  );
  assertEquals(read, null);
});

Deno.test("serve() over TLS lets a client still sending past the limit finish, so it reads the error", async () => {
  // The server half-closes and reads on: through the TLS pipe too, the
  // client gets the error and the end, not a reset.
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    maxLineBytes: 1024,
  });
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [TEST_CA],
  });
  try {
    const value = new Uint8Array(4 * 1024 * 1024).fill(0x76);
    const request = new Uint8Array([
      ...new TextEncoder().encode(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n`),
      ...value,
      13,
      10,
    ]);
    const sending = (async () => {
      for (let at = 0; at < request.length;) at += await conn.write(request.subarray(at));
      await conn.closeWrite();
    })();
    const [, answer] = await Promise.all([
      sending,
      within("the error, then the end", readAll(conn)),
    ]);
    assertEquals(
      answer,
      "-ERR Protocol error: invalid bulk length (limit 1024 bytes a request: --max-line-bytes)\r\n",
    );
  } finally {
    conn.close();
  }
});

Deno.test("serve() over TLS cuts a handshake that never finishes", async () => {
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    handshakeTimeoutMs: 100,
  });
  using silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  // Sends nothing: the server's timer, not this test, ends the connection.
  const read = await within(
    "the handshake timeout",
    silent.read(new Uint8Array(16)).catch(() => null),
  );
  assertEquals(read, null);
});

Deno.test("serve() over TLS: a stray connection to the loopback pipe is never paired with a client", async () => {
  const front = listenTls({ hostname: "127.0.0.1", port: 0, cert: TEST_CERT, key: TEST_KEY });
  await using server = serveListener(front, { log: () => {} });
  const port = (server.addr as Deno.NetAddr).port;
  // Another local program on the inner port: one that leaves, one that stays silent.
  (await Deno.connect({ hostname: "127.0.0.1", port: front.pipeAddr.port })).close();
  using stray = await Deno.connect({ hostname: "127.0.0.1", port: front.pipeAddr.port });
  const buffer = new Uint8Array(64);
  for (let i = 0; i < 3; i++) {
    using conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [TEST_CA] });
    await conn.write(new TextEncoder().encode("PING\n"));
    const n = await within(`client ${i} answered through its own pipe`, conn.read(buffer));
    assertEquals(new TextDecoder().decode(buffer.subarray(0, n!)), "PONG\n");
  }
  assert(stray.remoteAddr.port === front.pipeAddr.port);
});

/** PING over `conn` (TLS), expecting PONG. */
async function pingPong(conn: Deno.Conn, what: string): Promise<void> {
  const buffer = new Uint8Array(64);
  await conn.write(new TextEncoder().encode("PING\n"));
  const n = await within(what, conn.read(buffer));
  assertEquals(new TextDecoder().decode(buffer.subarray(0, n!)), "PONG\n");
}

Deno.test("serve() over TLS: a local program that floods the loopback pipe does not stop TLS clients", async () => {
  const front = listenTls({ hostname: "127.0.0.1", port: 0, cert: TEST_CERT, key: TEST_KEY });
  await using server = serveListener(front, { log: () => {} });
  const port = (server.addr as Deno.NetAddr).port;
  // More silent connections than the inner listener's accept queue holds (511).
  const strays = await within(
    "600 strays connected",
    Promise.all(
      Array.from(
        { length: 600 },
        () => Deno.connect({ hostname: "127.0.0.1", port: front.pipeAddr.port }),
      ),
    ),
  );
  try {
    using conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [TEST_CA] });
    await pingPong(conn, "a TLS client is answered during the flood");
  } finally {
    for (const stray of strays) stray.close();
  }
});

Deno.test("serve() over TLS refuses over --max-connections within the handshake timeout", async () => {
  await using server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    maxConnections: 1,
    handshakeTimeoutMs: 200,
  });
  const buffer = new Uint8Array(64);
  using admitted = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [TEST_CA],
  });
  await admitted.write(new TextEncoder().encode("PING\n"));
  assertEquals(await within("PONG", admitted.read(buffer)), 5);
  // A TLS client over the limit reads the refusal once its handshake is done.
  {
    using refused = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: server.port,
      caCerts: [TEST_CA],
    });
    let text = "";
    for (let n = await within("the refusal", refused.read(buffer)); n !== null;) {
      text += new TextDecoder().decode(buffer.subarray(0, n));
      n = await within("the end", refused.read(buffer).catch(() => null));
    }
    assertEquals(text, "Error: too many connections\n");
  }
  // One that never starts its handshake is cut by the timeout.
  using silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  assertEquals(
    await within("the timeout cuts it", silent.read(buffer).catch(() => null)),
    null,
  );
});

Deno.test("serve() over TLS: a silent client over the limit does not hold the shutdown past its grace", async () => {
  const logs = new LogCollector();
  const server = startTestServer({
    tls: { cert: TEST_CERT, key: TEST_KEY },
    maxConnections: 1,
    handshakeTimeoutMs: 3_600_000,
    shutdownGraceMs: 50,
    log: logs.log,
  });
  using admitted = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  using silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await within("the refusal begins", logs.waitFor(/#2 refused/));
  const cut = silent.read(new Uint8Array(16)).catch(() => null);
  const result = await within("shutdown", server.shutdown());
  assertEquals(await within("the silent client is cut", cut), null);
  assertEquals(
    result.connectionsCut,
    0,
    "stop() closed the admitted one: its handshake had not begun",
  );
  assert(admitted.localAddr.port > 0);
});

Deno.test("serve() refuses a password too long for AUTH to carry before authenticating", async () => {
  assertThrows(
    () => serve({ port: 0, password: "p".repeat(16_378) }),
    RangeError,
    "Cannot use a password of 16378 bytes: AUTH could not carry it (at most 16377 bytes",
  );
  assertThrows(
    () => serve({ port: 0, password: "p".repeat(1_000), maxLineBytes: 1_000 }),
    RangeError,
    "at most 947 bytes fit in the 1000-byte requests allowed before it",
  );
  assertThrows(
    () => serve({ port: 0, password: "p", maxLineBytes: 20 }),
    RangeError,
    "Cannot use a password of 1 bytes: no password fits in the 20-byte requests allowed before AUTH",
  );
  // With small lines, the longest allowed fits RESP's longest form, HELLO 3 AUTH default, to the byte.
  {
    const pw = "q".repeat(48);
    await using small = startTestServer({ password: pw, maxLineBytes: 100 });
    await using conn = await RawConn.connect(small.port);
    const hello = resp("HELLO", "3", "AUTH", "default", pw);
    assertEquals(hello.length, 100);
    await conn.send(hello + resp("AUTH", "default", pw) + resp("AUTH", pw));
    assertEquals(await conn.readLine(), "%7\r");
    let line = await conn.readLine(); // HELLO's map, then the two AUTHs.
    while (line !== null && line !== "+OK\r") line = await conn.readLine();
    assertEquals(await conn.readLine(), "+OK\r");
    assertThrows(() => serve({ port: 0, password: `${pw}q`, maxLineBytes: 100 }), RangeError);
  }
  // The longest allowed works in every form: a line ending in \r\n, and RESP's HELLO 3 AUTH.
  const longest = "p".repeat(16_377);
  await using server = startTestServer({ password: longest });
  await using line = await RawConn.connect(server.port);
  await line.send(`AUTH, ${longest}\r\n`);
  assertEquals(await line.readLine(), "Success!");
  await using redis = await RawConn.connect(server.port);
  await redis.send(resp("HELLO", "3", "AUTH", "default", longest));
  assertEquals(await redis.readLine(), "%7\r");
});

Deno.test("serve() refuses to listen beyond loopback without a password or noAuth", () => {
  for (const hostname of ["0.0.0.0", "::", "192.0.2.1", "10.0.0.1"]) {
    assertThrows(() => serve({ hostname, port: 0 }), ExposureError, "without a password");
  }
  // The library's caller is told of serve()'s options, not kv serve's.
  assertThrows(() => serve({ hostname: "0.0.0.0", port: 0 }), ExposureError, "the password option");
  // With noAuth the guard lets it through (to an address this machine does not have).
  const error = assertThrows(() =>
    serve({ hostname: "192.0.2.1", port: 0, noAuth: true, log: () => {} })
  );
  assertFalse(error instanceof ExposureError);
  const withPassword = assertThrows(() => serve({ hostname: "192.0.2.1", port: 0, password: "x" }));
  assertFalse(withPassword instanceof ExposureError);
});

Deno.test({
  name: "isLoopback() knows 127.0.0.0/8, ::1 and localhost",
  permissions: "none",
  fn: () => {
    for (
      const host of [
        "127.0.0.1",
        "127.1.2.3",
        "localhost",
        "LOCALHOST",
        "::1",
        "[::1]",
        "::ffff:127.0.0.1",
      ]
    ) {
      assert(isLoopback(host), host);
    }
    for (
      const host of ["0.0.0.0", "::", "128.0.0.1", "192.168.1.1", "localhost.example", "1270.0.0.1"]
    ) {
      assertFalse(isLoopback(host), host);
    }
  },
});

Deno.test("main() serve: the exposure refusal and a password file it may not read are one line and exit 2", async (t) => {
  await t.step("--host 0.0.0.0 without a password", async () => {
    const fake = new FakeIo();
    assertEquals(await main(["serve", "--host", "0.0.0.0", "-p", "0"], fake.io), 2);
    assertEquals(fake.stdout, "");
    assert(
      fake.stderr.startsWith("kv: refusing to listen on 0.0.0.0 without a password"),
      fake.stderr,
    );
    assertStringIncludes(fake.stderr, "--password-file FILE, or pass --no-auth");
    assertEquals(
      fake.stderr.trimEnd().split("\n").length,
      2,
      "one line, and the pointer to --help",
    );
  });
  await t.step("--password-file without --allow-read", async () => {
    const fake = new FakeIo();
    assertEquals(await main(["serve", "--password-file", "pw.txt", "-p", "0"], fake.io), 2);
    assertEquals(
      fake.stderr.split("\n")[0],
      'kv: cannot read --password-file "pw.txt": permission denied (run with --allow-read=pw.txt)',
    );
  });
  await t.step("--tls-cert without --tls-key", async () => {
    const fake = new FakeIo();
    assertEquals(await main(["serve", "--tls-cert", "c.pem"], fake.io), 2);
    assertEquals(fake.stderr.split("\n")[0], "kv: --tls-cert and --tls-key go together: give both");
  });
});

Deno.test("serve() with a password still holds unauthenticated clients to the limits", async () => {
  await using server = startTestServer({
    password: PASSWORD,
    maxLineBytes: 80,
    idleTimeoutMs: 200,
  });
  await using conn = await RawConn.connect(server.port);
  await conn.send(`${"x".repeat(100)}\nPING\n`);
  assertEquals(await conn.readLines(2), ["Error: line too long (limit 80 bytes)", REQUIRED]);
  // Silent and unauthenticated: the idle timeout closes it.
  assertEquals(await conn.readToEnd(), "");
});

Deno.test("serve() with a password cuts a client that sends before AUTH and never reads its answers", async () => {
  const logs = new LogCollector();
  await using server = startTestServer({
    password: PASSWORD,
    maxConnections: 1,
    handshakeTimeoutMs: 200,
    verbose: true,
    log: logs.log,
  });
  // 100,000 requests, about 6 MB of answers: more than the sockets hold, so the server's writes wait.
  using flood = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await flood.write(new TextEncoder().encode("GET, a\n".repeat(100_000)));
  await within(
    "the cut",
    logs.waitFor(/#1 not authenticated and not reading its answers for 200 ms/),
  );
  await within("the slot freed", logs.waitFor(/#1 closed/));
  await using next = await RawConn.connect(server.port);
  await next.send(`AUTH, ${PASSWORD}\n`);
  assertEquals(await next.readLine(), "Success!");
});

Deno.test("serve() over TLS with a password cuts a client that never reads before AUTH, with no drain", async () => {
  // The TLS side's last bytes may take 5 s to drain to a client after a
  // close; not to one cut for not reading.
  const logs = new LogCollector();
  await using server = startTestServer({
    password: PASSWORD,
    tls: { cert: TEST_CERT, key: TEST_KEY },
    maxConnections: 1,
    handshakeTimeoutMs: 200,
    verbose: true,
    log: logs.log,
  });
  using flood = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [TEST_CA],
  });
  // Requests until the cut (its writes wait once the server stops reading):
  // the answers fill the sockets of the pipe and the client's.
  const chunk = new TextEncoder().encode("GET, a\n".repeat(10_000));
  const writing = (async () => {
    try {
      while (true) await flood.write(chunk);
    } catch { /* Cut. */ }
  })();
  await within(
    "the cut",
    logs.waitFor(/#1 not authenticated and not reading its answers for 200 ms/),
  );
  await within("the slot freed at once", logs.waitFor(/#1 closed/), 2_000);
  flood.close();
  await writing;
  const next = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [TEST_CA],
  });
  try {
    await next.write(new TextEncoder().encode(`AUTH, ${PASSWORD}\n`));
    const buffer = new Uint8Array(64);
    const n = await within("the next client's answer", next.read(buffer));
    assertEquals(new TextDecoder().decode(buffer.subarray(0, n!)), "Success!\n");
  } finally {
    next.close();
  }
});

Deno.test("serve() with a password holds line clients to 16 KiB lines until AUTH, then to --max-line-bytes", async () => {
  await using server = startTestServer({ password: PASSWORD });
  await using conn = await RawConn.connect(server.port);
  const put = (bytes: number) => `PUT, k, ${"x".repeat(bytes - "PUT, k, ".length)}\n`;
  await conn.send(put(16 * 1024) + put(16 * 1024 + 1) + "PING\n");
  assertEquals(await conn.readLines(3), [
    REQUIRED,
    "Error: line too long (limit 16384 bytes)",
    REQUIRED,
  ]);
  // AUTH and a long line in one read: the limit is raised between them.
  await conn.send(`AUTH, ${PASSWORD}\n${put(100_000)}GET, k\n`);
  assertEquals(await conn.readLines(3), ["Success!", "Success!", "x".repeat(100_000 - 8)]);
});

Deno.test("serve() with a password refuses big RESP requests before AUTH and closes, as Redis 7 does", async (t) => {
  await using server = startTestServer({ password: PASSWORD });
  const cases: [string, string][] = [
    ["*11\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"],
    ["*1\r\n$16385\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n"],
    [
      resp("GET", "k") + "*2\r\n$3\r\nGET\r\n$20000\r\n",
      "-NOAUTH Authentication required.\r\n" +
      "-ERR Protocol error: unauthenticated bulk length\r\n",
    ],
  ];
  for (const [request, error] of cases) {
    await t.step(JSON.stringify(request.slice(-20)), async () => {
      await using conn = await RawConn.connect(server.port);
      await conn.send(request);
      assertEquals(await conn.readToEnd(), error);
    });
  }
  await t.step("up to 10 strings of 16 KiB before AUTH; after it, --max-line-bytes", async () => {
    await using conn = await RawConn.connect(server.port);
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    await conn.send(
      resp("SET", "k", "x".repeat(16 * 1024)) + resp("MGET", ...keys.slice(0, 9)) +
        resp("AUTH", PASSWORD) + resp("MGET", ...keys) + resp("SET", "k", "x".repeat(100_000)),
    );
    assertEquals(await conn.readLines(3 + 21 + 1), [
      "-NOAUTH Authentication required.\r",
      "-NOAUTH Authentication required.\r",
      "+OK\r",
      "*20\r",
      ...Array(20).fill("$-1\r"),
      "+OK\r",
    ]);
  });
});

Deno.test("KvClient, kv bench and kv check reach a TLS server with a password", async () => {
  await using server = startTestServer({
    password: PASSWORD,
    tls: { cert: TEST_CERT, key: TEST_KEY },
  });
  await using client = await KvClient.connect({
    port: server.port,
    tls: { caCerts: [TEST_CA] },
    password: PASSWORD,
  });
  await client.put("over", "tls");
  assertEquals(await client.get("over"), "tls");
  await assertRejects(
    () => KvClient.connect({ port: server.port, tls: { caCerts: [TEST_CA] }, password: "nope" }),
    KvServerError,
    "wrong password",
  );
  await assertRejects(
    () => KvClient.connect({ port: server.port, password: PASSWORD }),
    KvConnectionError,
  );
  const fake = new FakeIo();
  const outcome = await runBench(
    {
      port: server.port,
      connections: 2,
      keys: 10,
      requests: 200,
      tls: { caCerts: [TEST_CA] },
      password: PASSWORD,
    },
    fake.io,
  );
  assertEquals(outcome, "ok", fake.stderr);
});

Deno.test("kv check speaks TLS with --tls-ca, and kv passes every rule over it", async () => {
  await using server = startTestServer({ tls: { cert: TEST_CERT, key: TEST_KEY } });
  const run = await runCheck({ port: server.port, level: "full", tls: { caCerts: [TEST_CA] } });
  assert(run.results.length > 0);
  assertEquals(run.results.filter((result) => result.status !== "pass"), []);
});
