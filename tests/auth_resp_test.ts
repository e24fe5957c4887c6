/**
 * Passwords for Redis clients (PROTOCOL.md, Authentication), over real
 * sockets, in Redis 7.0's order of checks: NOAUTH until AUTH or HELLO ...
 * AUTH, a malformed subcommand refused before NOAUTH, and HELLO's options
 * checked in order, changing nothing before AUTH.
 */

import { assertEquals } from "@std/assert";
import { RawConn, startTestServer } from "../testing/mod.ts";
import { PASSWORD } from "./auth_fixtures.ts";
import { resp } from "../testing/resp.ts";

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
