/**
 * Redis's connection commands (connection.ts, auth.ts), reply for reply:
 * PING, ECHO, SELECT, HELLO (and RESP3), CLIENT, QUIT and AUTH without a
 * password, each with the exact bytes Redis 7.0 answers (checked against
 * Debian's redis-server). Run in-process through the RESP framer and reply,
 * as commands_test.ts runs the key and string commands. Pure.
 */

import { assertEquals } from "@std/assert";
import { respAt } from "../../testing/mod.ts";

const NOW = 1_700_000_000_000;
const harness = () => respAt(NOW);

Deno.test({
  name: "Redis connection commands: PING, ECHO, SELECT, HELLO, CLIENT, QUIT, AUTH",
  permissions: "none",
  fn: async (t) => {
    const { kv } = harness();
    await kv.conversation(t, [
      [["PING"], "+PONG\r\n"],
      [["PING", "hi"], "$2\r\nhi\r\n"],
      [["PING", "a", "b"], "-ERR wrong number of arguments for 'ping' command\r\n"],
      [["ECHO", "hello"], "$5\r\nhello\r\n"],
      [["SELECT", "0"], "+OK\r\n"],
      [["SELECT", "1"], "-ERR DB index is out of range\r\n"],
      [["SELECT", "x"], "-ERR value is not an integer or out of range\r\n"],
      [["SELECT", "99999999999999999999"], "-ERR value is not an integer or out of range\r\n"],
      [["SELECT", "2147483647"], "-ERR DB index is out of range\r\n"],
      [
        ["SELECT", "2147483648"],
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
      ],
      [
        ["SELECT", "-2147483649"],
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
      ],
      [["CLIENT", "ID"], ":1\r\n"],
      [["CLIENT", "GETNAME"], "$-1\r\n"],
      [
        ["CLIENT", "SETNAME", "a b"],
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
      ],
      [["CLIENT", "SETNAME", "me"], "+OK\r\n"],
      [["CLIENT", "GETNAME"], "$2\r\nme\r\n"],
      [["CLIENT", "SETINFO", "LIB-NAME", "x"], "+OK\r\n"],
      // Only letters fold: "\r" | 0x20 is "-", and must not make "lib-name".
      [
        ["CLIENT", "SETINFO", "lib\rname", "x"],
        "-ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.\r\n",
      ],
      [["CLIENT", "NOPE"], "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n"],
      // Redis 7.2's arity of SETINFO: its option and value.
      [
        ["CLIENT", "SETINFO", "LIB-NAME"],
        "-ERR wrong number of arguments for 'client|setinfo' command\r\n",
      ],
      [["CLIENT", "ID", "x"], "-ERR wrong number of arguments for 'client|id' command\r\n"],
      [["client", "Id", "x"], "-ERR wrong number of arguments for 'client|id' command\r\n"],
      [["CLIENT", "SETNAME"], "-ERR wrong number of arguments for 'client|setname' command\r\n"],
      [
        ["CLIENT", "GETNAME", "x"],
        "-ERR wrong number of arguments for 'client|getname' command\r\n",
      ],
      [["CLIENT", "INFO", "x"], "-ERR wrong number of arguments for 'client|info' command\r\n"],
      [["HELLO", "4"], "-NOPROTO unsupported protocol version\r\n"],
      [["HELLO", "x"], "-ERR Protocol version is not an integer or out of range\r\n"],
      [["HELLO", "3", "bogus"], "-ERR Syntax error in HELLO option 'bogus'\r\n"],
      [
        ["AUTH", "secret"],
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
      ],
      [["AUTH", "default", "anything"], "+OK\r\n"],
      [["AUTH", "bob", "x"], "-WRONGPASS invalid username-password pair or user is disabled.\r\n"],
      // User names are case-sensitive, as in Redis.
      [
        ["AUTH", "Default", "x"],
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
      ],
      [
        ["NOSUCH", "a", "b"],
        "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n",
      ],
    ]);
    await t.step("HELLO 3 switches to RESP3: maps, nulls", () => {
      assertEquals(
        kv.command("HELLO", "3"),
        "%7\r\n$6\r\nserver\r\n$2\r\nkv\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:3\r\n" +
          "$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n" +
          "$7\r\nmodules\r\n*0\r\n",
      );
      assertEquals(kv.command("GET", "nope"), "_\r\n");
      assertEquals(kv.command("MGET", "nope"), "*1\r\n_\r\n");
      assertEquals(kv.command("CONFIG", "GET", "save"), "%1\r\n$4\r\nsave\r\n$0\r\n\r\n");
      assertEquals(kv.command("HELLO", "2").startsWith("*14\r\n"), true);
      assertEquals(kv.command("GET", "nope"), "$-1\r\n");
    });
    await t.step("QUIT answers OK and ends the connection", () => {
      assertEquals(kv.command("QUIT"), "+OK\r\n");
      assertEquals(kv.context.session.closing, "quit");
    });
  },
});
