/**
 * Redis's connection commands: PING, ECHO, HELLO, QUIT, SELECT and
 * CLIENT (SETNAME, GETNAME, ID, INFO, SETINFO, HELP), with Redis 7's
 * replies. AUTH is in auth.ts.
 *
 * @module
 */

import { AUTH_FAILURES, authenticate, failAuth } from "../auth.ts";
import type { Context, RedisCommand } from "../command.ts";
import type { RedisReply } from "../reply.ts";
import { argBytes, argEquals, argInt, argIs, ERR } from "./args.ts";
import { unknownSubcommand } from "./subcommands.ts";

/**
 * The Redis version kv answers to (HELLO, INFO): clients enable features by
 * it, and kv answers the commands it has as Redis 7 does.
 */
export const REDIS_VERSION = "7.0.0";

/** `PING [message]`: PONG, or the message. */
export const PING: RedisCommand = {
  name: "PING",
  arity: -1,
  flags: ["fast"],
  keys: [0, 0, 0],
  writes: false,
  summary: "Ping the server",
  run(request, _context, reply) {
    if (request.count > 1) return reply.error({ kind: "usage", command: PING });
    if (request.count === 1) {
      return reply.bytes(request.bytes, request.starts[0]!, request.ends[0]!);
    }
    reply.pong();
  },
};

/** `ECHO message`. */
export const ECHO: RedisCommand = {
  name: "ECHO",
  arity: 2,
  flags: ["loading", "stale", "fast"],
  keys: [0, 0, 0],
  writes: false,
  summary: "Echo the given string",
  run: (request, _context, reply) =>
    reply.bytes(request.bytes, request.starts[0]!, request.ends[0]!),
};

/** `QUIT`: OK, then the server closes the connection. */
export const QUIT: RedisCommand = {
  name: "QUIT",
  arity: -1,
  flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
  keys: [0, 0, 0],
  noAuth: true,
  controlsTransaction: true, // Inside MULTI too it closes at once, as in Redis.
  writes: false,
  summary: "Close the connection",
  run(_request, { session }, reply) {
    reply.bye();
    session.closing = "quit";
  },
};

// Redis's getIntFromObjectOrReply(), for a 64-bit integer that is not a 32-bit one.
const OUT_OF_INT_RANGE = {
  kind: "redis",
  text: "ERR value is out of range, value must between -2147483648 and 2147483647",
} as const;

/** `SELECT index`: kv has one database, 0. */
export const SELECT: RedisCommand = {
  name: "SELECT",
  arity: 2,
  flags: ["loading", "stale", "fast"],
  keys: [0, 0, 0],
  writes: false,
  summary: "Change the selected database for the current connection",
  run(request, _context, reply) {
    const index = argInt(request, 0);
    if (index === undefined) return reply.error(ERR.notInteger);
    if (index < -(2n ** 31n) || index >= 2n ** 31n) return reply.error(OUT_OF_INT_RANGE);
    if (index !== 0n) return reply.error({ kind: "redis", text: "ERR DB index is out of range" });
    reply.ok();
  },
};

/** The map HELLO answers with. */
function helloReply(reply: RedisReply, { session }: Context): void {
  reply.map(7);
  reply.bulk("server");
  reply.bulk("kv");
  reply.bulk("version");
  reply.bulk(REDIS_VERSION);
  reply.bulk("proto");
  reply.integer(session.resp);
  reply.bulk("id");
  reply.integer(session.id);
  reply.bulk("mode");
  reply.bulk("standalone");
  reply.bulk("role");
  reply.bulk("master");
  reply.bulk("modules");
  reply.array(0);
}

/** Whether a client name is allowed (Redis: no spaces, newlines or other non-printing bytes). */
function validName(name: Uint8Array): boolean {
  for (const byte of name) if (byte < 0x21 || byte > 0x7e) return false;
  return true;
}

const BAD_NAME = {
  kind: "redis",
  text: "ERR Client names cannot contain spaces, newlines or special characters.",
} as const;

/**
 * The longest name a connection may take. Redis takes any length; a name is
 * kept for as long as its connection lasts, and 10,000 connections named
 * with a 1 MiB request each held 10 GB that no budget counted (400 of them:
 * 400 MB of RSS, measured).
 */
export const MAX_NAME_BYTES = 4096;
const NAME_TOO_LONG = {
  kind: "redis",
  text: `ERR kv: a client name may hold at most ${MAX_NAME_BYTES} bytes`,
} as const;

/** Why `name` cannot be a connection's name, or `undefined` if it can. */
function nameFailure(name: Uint8Array): typeof BAD_NAME | typeof NAME_TOO_LONG | undefined {
  if (name.length > MAX_NAME_BYTES) return NAME_TOO_LONG;
  return validName(name) ? undefined : BAD_NAME;
}

/**
 * `HELLO [protover [AUTH username password] [SETNAME clientname]]`: switches
 * to RESP2 or RESP3 and describes the server. It may run before AUTH: its
 * own AUTH option authenticates (command/auth.ts checks the password).
 */
export const HELLO: RedisCommand = {
  name: "HELLO",
  arity: -1,
  flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
  keys: [0, 0, 0],
  noAuth: true,
  writes: false,
  summary: "Handshake with Redis",
  secret: true,
  run(request, context, reply) {
    let version: bigint | undefined;
    if (request.count > 0) {
      version = argInt(request, 0);
      if (version === undefined) {
        return reply.error({
          kind: "redis",
          text: "ERR Protocol version is not an integer or out of range",
        });
      }
      if (version !== 2n && version !== 3n) {
        return reply.error({ kind: "redis", text: "NOPROTO unsupported protocol version" });
      }
    }
    // Redis 7.0's order: each option is checked as it comes (an AUTH before
    // a bad option holds), then the client must be authenticated, then the
    // version switches. A name takes effect only for a client that is
    // authenticated when HELLO ends, however it ends: before AUTH nothing
    // changes (PROTOCOL.md, Authentication; Redis 7.0 kept a name set
    // before a failed AUTH).
    const { session, guard } = context;
    let name: string | undefined;
    try {
      for (let i = 1; i < request.count; i++) {
        const more = request.count - i - 1;
        if (argIs(request, i, "auth") && more >= 2) {
          const user = argEquals(request, i + 1, "default");
          if (guard.password !== undefined) {
            if (!user || authenticate(context, request, i + 2) !== "ok") {
              if (!user) failAuth(context);
              return reply.error(AUTH_FAILURES.wrong);
            }
          } else if (!user) {
            return reply.error(AUTH_FAILURES.wrong);
          }
          i += 2;
        } else if (argIs(request, i, "setname") && more >= 1) {
          const bytes = argBytes(request, ++i);
          const failure = nameFailure(bytes);
          if (failure !== undefined) return reply.error(failure);
          name = new TextDecoder().decode(bytes);
        } else {
          return reply.error({
            kind: "redis",
            text: `ERR Syntax error in HELLO option '${request.cString(i)}'`,
          });
        }
      }
    } finally {
      // However HELLO ends: the name only for an authenticated client.
      if (name !== undefined && session.authenticated) session.name = name;
    }
    if (!session.authenticated) {
      return reply.error({
        kind: "redis",
        text: "NOAUTH HELLO must be called with the client already authenticated, otherwise the " +
          "HELLO AUTH <user> <pass> option can be used to authenticate the client and select the " +
          "RESP protocol version at the same time",
      });
    }
    if (version !== undefined) session.resp = version === 3n ? 3 : 2;
    helloReply(reply, context);
  },
};

/**
 * The line CLIENT INFO (and CLIENT LIST) gives for a connection. Inside EXEC,
 * Redis's shows the transaction: `flags=x`, `multi=` the number of commands,
 * and `cmd=exec`. Outside it, `flags=d` once a watched key has changed or
 * expired (the next EXEC will fail; UNWATCH, DISCARD or EXEC clears it), as
 * Redis's CLIENT_DIRTY_CAS, which its expiry sets when it deletes the key.
 */
function clientLine({ session, clock, watches }: Context): string {
  const age = Math.floor((clock.now() - session.createdAt) / 1000);
  const exec = session.executing > 0;
  const flags = exec ? "x" : watches.changed(session) ? "d" : "N";
  const multi = exec ? session.executing : -1;
  const cmd = exec ? "exec" : "client|info";
  return `id=${session.id} addr=${session.peer} laddr=${session.local} fd=-1 name=${session.name} ` +
    `age=${age} idle=0 flags=${flags} db=0 sub=0 psub=0 ssub=0 multi=${multi} qbuf=0 qbuf-free=0 ` +
    `argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=${cmd} ` +
    `user=default redir=-1 resp=${session.resp}\n`;
}

/**
 * `CLIENT SETNAME|GETNAME|ID|INFO|SETINFO ...`. Its subcommands and their
 * arities are checked before it runs (or is queued), as Redis checks them:
 * the handler finds a known subcommand with the right number of arguments.
 */
export const CLIENT: RedisCommand = {
  name: "CLIENT",
  arity: -2,
  flags: [],
  keys: [0, 0, 0],
  writes: false,
  summary: "A container for client connection commands",
  // Redis 7's arities, both words counted (SETINFO's is Redis 7.2's).
  subcommands: { id: 2, getname: 2, info: 2, setname: 3, setinfo: 4, help: 2 },
  run(request, context, reply) {
    const { session } = context;
    const sub = (word: string) => argIs(request, 0, word);
    if (sub("help")) return replyHelp(reply, "CLIENT", CLIENT_HELP);
    if (sub("id")) return reply.integer(session.id);
    if (sub("getname")) return session.name === "" ? reply.nil() : reply.bulk(session.name);
    if (sub("info")) return reply.verbatim(clientLine(context));
    if (sub("setname")) {
      const name = argBytes(request, 1);
      const failure = nameFailure(name);
      if (failure !== undefined) return reply.error(failure);
      session.name = new TextDecoder().decode(name);
      return reply.ok();
    }
    // Redis 7.2 added SETINFO; clients send it at connect time.
    if (sub("setinfo") && (argIs(request, 1, "lib-name") || argIs(request, 1, "lib-ver"))) {
      return reply.ok();
    }
    // SETINFO with an option kv does not know.
    reply.error(unknownSubcommand(request, "CLIENT"));
  },
};

/**
 * `<COMMAND> HELP`: as Redis's addReplyHelp(), a status line per line of
 * `lines` (the subcommands kv has, in Redis's words), framed as Redis frames it.
 */
export function replyHelp(reply: RedisReply, command: string, lines: readonly string[]): void {
  reply.array(lines.length + 3);
  reply.simple(`${command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`);
  for (const line of lines) reply.simple(line);
  reply.simple("HELP");
  reply.simple("    Prints this help.");
}

const CLIENT_HELP = [
  "GETNAME",
  "    Return the name of the current connection.",
  "ID",
  "    Return the ID of the current connection.",
  "INFO",
  "    Return information about the current client connection.",
  "SETINFO <option> <value>",
  "    Set client meta attr. Options are:",
  "    * LIB-NAME: the client lib name.",
  "    * LIB-VER: the client lib version.",
  "SETNAME <name>",
  "    Assign the name <name> to the current connection.",
];

/** The commands about the connection, in the order COMMAND lists them. */
export const CONNECTION_COMMANDS: readonly RedisCommand[] = [
  PING,
  ECHO,
  HELLO,
  QUIT,
  SELECT,
  CLIENT,
];
