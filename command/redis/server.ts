/**
 * Redis's server commands: COMMAND (COUNT, INFO, DOCS, LIST, HELP), INFO,
 * CONFIG (GET, HELP), TIME, DBSIZE, FLUSHDB and FLUSHALL — what redis-cli, redis-benchmark and
 * client libraries ask at connect time, answered with real figures.
 *
 * @module
 */

import type { Context, RedisCommand } from "../command.ts";
import type { RedisReply } from "../reply.ts";
import type { Request } from "../request.ts";
import { argBytes, argIs, ERR } from "./args.ts";
import { REDIS_VERSION, replyHelp } from "./connection.ts";
import { VERSION } from "../../version.ts";
import { Glob } from "./glob.ts";
import { replyDocs } from "./command_docs.ts";

/** Every Redis command kv has, for COMMAND; filled in by mod.ts. */
export const COMMAND_LIST: RedisCommand[] = [];
/** Each command's group in Redis's docs (COMMAND DOCS); filled in by mod.ts. */
export const COMMAND_GROUPS: Map<RedisCommand, string> = new Map();

const encoder = new TextEncoder();

/** The ten fields COMMAND INFO gives for a command (key specs and tips left empty). */
function commandInfo(reply: RedisReply, command: RedisCommand): void {
  reply.array(10);
  reply.bulk(command.name.toLowerCase());
  reply.integer(command.arity);
  reply.set(command.flags.length);
  for (const flag of command.flags) reply.simple(flag);
  reply.integer(command.keys[0]);
  reply.integer(command.keys[1]);
  reply.integer(command.keys[2]);
  const categories = aclCategories(command);
  reply.set(categories.length);
  for (const category of categories) reply.simple(category);
  reply.set(0); // tips
  reply.array(0); // key specs
  reply.set(0); // subcommands
}

// Redis's order of ACL categories (its ACL_CATEGORY_* bits), which COMMAND INFO lists them in.
const ACL_ORDER = [
  ...["@keyspace", "@read", "@write", "@set", "@sortedset", "@list", "@hash", "@string"],
  ...["@bitmap", "@hyperloglog", "@geo", "@stream", "@pubsub", "@admin", "@fast", "@slow"],
  ...["@blocking", "@dangerous", "@connection", "@transaction", "@scripting"],
];

function aclCategories(command: RedisCommand): string[] {
  const categories = new Set(command.acl);
  if (command.flags.includes("write")) categories.add("@write");
  if (command.flags.includes("readonly")) categories.add("@read");
  const group = COMMAND_GROUPS.get(command);
  if (group === "string") categories.add("@string");
  if (group === "generic") categories.add("@keyspace");
  if (group === "connection") categories.add("@connection");
  if (group === "transactions") categories.add("@transaction");
  categories.add(command.flags.includes("fast") ? "@fast" : "@slow");
  return ACL_ORDER.filter((category) => categories.has(category));
}

function find(request: Request, i: number): RedisCommand | undefined {
  // Only A-Z fold, as in Redis: `ſet` is no SET (toUpperCase() made it one).
  return COMMAND_LIST.find((command) => argIs(request, i, command.name.toLowerCase()));
}

const COMMAND_HELP = [
  "(no subcommand)",
  "    Return details about all Redis commands.",
  "COUNT",
  "    Return the total number of commands in this Redis server.",
  "LIST",
  "    Return a list of all commands in this Redis server.",
  "INFO [<command-name> ...]",
  "    Return details about multiple Redis commands.",
  "    If no command names are given, documentation details for all",
  "    commands are returned.",
  "DOCS [<command-name> ...]",
  "    Return documentation details about multiple Redis commands.",
  "    If no command names are given, documentation details for all",
  "    commands are returned.",
];

const CONFIG_HELP = [
  "GET <pattern>",
  "    Return parameters matching the glob-like <pattern> and their values.",
];

/**
 * `COMMAND [COUNT | INFO name... | DOCS [name...] | LIST]`. Its subcommands
 * and their arities are checked before it runs (or is queued), as Redis
 * checks them: the handler finds a known subcommand, or none.
 */
export const COMMAND: RedisCommand = {
  name: "COMMAND",
  arity: -1,
  flags: ["loading", "stale"],
  acl: ["@connection"],
  keys: [0, 0, 0],
  writes: false,
  summary: "Get array of Redis command details",
  // Redis 7's arities, both words counted.
  subcommands: { count: 2, info: -2, docs: -2, list: -2, help: 2 },
  run(request, _context, reply) {
    if (request.count === 0) {
      reply.array(COMMAND_LIST.length);
      for (const command of COMMAND_LIST) commandInfo(reply, command);
      return;
    }
    if (argIs(request, 0, "help")) return replyHelp(reply, "COMMAND", COMMAND_HELP);
    if (argIs(request, 0, "count")) return reply.integer(COMMAND_LIST.length);
    if (argIs(request, 0, "list")) {
      const listed = commandList(request);
      if (listed === undefined) return reply.error(ERR.syntax);
      reply.array(listed.length);
      for (const command of listed) reply.bulk(command.name.toLowerCase());
      return;
    }
    if (argIs(request, 0, "info")) {
      // Redis 7: no names means every command; an unknown name, a nil.
      if (request.count === 1) {
        reply.array(COMMAND_LIST.length);
        for (const command of COMMAND_LIST) commandInfo(reply, command);
        return;
      }
      reply.array(request.count - 1);
      for (let i = 1; i < request.count; i++) {
        const command = find(request, i);
        if (command === undefined) reply.nil();
        else commandInfo(reply, command);
      }
      return;
    }
    // DOCS: the subcommand left (subcommands says which there are).
    const wanted = request.count === 1
      ? COMMAND_LIST
      : Array.from({ length: request.count - 1 }, (_, i) => find(request, i + 1))
        .filter((command) => command !== undefined);
    reply.map(wanted.length);
    for (const command of wanted) {
      replyDocs(reply, command, COMMAND_GROUPS.get(command) ?? "generic");
    }
  },
};

/** `COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]`; undefined: a syntax error. */
function commandList(request: Request): readonly RedisCommand[] | undefined {
  if (request.count === 1) return COMMAND_LIST;
  if (request.count !== 4 || !argIs(request, 1, "filterby")) return undefined;
  if (argIs(request, 2, "module")) return []; // kv has no modules.
  if (argIs(request, 2, "aclcat")) {
    const category = `@${asciiLower(request.text(3))}`;
    return COMMAND_LIST.filter((command) => aclCategories(command).includes(category));
  }
  if (argIs(request, 2, "pattern")) {
    // Case-insensitive, as Redis matches command names.
    const pattern = new Glob(
      argBytes(request, 3).map((byte) => byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte),
    );
    return COMMAND_LIST.filter((command) =>
      pattern.match(encoder.encode(command.name.toLowerCase()))
    );
  }
  return undefined;
}

/** The parameters CONFIG GET knows, with their values now. */
function configValues({ stats }: Context): [string, string][] {
  return [
    ["appendonly", stats.persistent ? "yes" : "no"],
    ["save", ""],
    ["databases", "1"],
    ["maxclients", String(stats.maxClients)],
    ["maxmemory", "0"],
    ["maxmemory-policy", "noeviction"],
    ["port", String(stats.port)],
    // The longest string a request can carry here is --max-line-bytes.
    ["proto-max-bulk-len", String(Math.min(stats.maxRequestBytes, 512 * 1024 * 1024))],
  ];
}

/** `text` with A-Z folded to a-z, and nothing else changed. */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

/**
 * `CONFIG GET parameter [parameter ...]` (CONFIG SET and the rest are not
 * kv's). Its subcommands and their arities are checked before it runs (or
 * is queued), as Redis checks them: the handler finds GET or HELP.
 */
export const CONFIG: RedisCommand = {
  name: "CONFIG",
  arity: -2,
  flags: ["admin", "noscript", "loading", "stale"],
  keys: [0, 0, 0],
  writes: false,
  summary: "A container for server configuration commands",
  // Redis 7's arities, both words counted.
  subcommands: { get: -3, help: 2 },
  run(request, context, reply) {
    if (argIs(request, 0, "help")) return replyHelp(reply, "CONFIG", CONFIG_HELP);
    // As Redis's configGetCommand(): a name without [*? is looked up in any
    // case and answered as it was asked; a pattern matches in any case.
    // Each parameter once, under the first spelling it matched.
    const found = new Map<string, [shown: string, value: string]>();
    const values = configValues(context);
    for (let i = 1; i < request.count; i++) {
      const asked = request.text(i);
      if (!/[[*?]/.test(asked)) {
        const name = asciiLower(asked);
        const value = values.find(([known]) => known === name)?.[1];
        if (value !== undefined && !found.has(name)) found.set(name, [asked, value]);
        continue;
      }
      const pattern = new Glob(encoder.encode(asciiLower(asked)));
      for (const [name, value] of values) {
        if (!found.has(name) && pattern.match(encoder.encode(name))) {
          found.set(name, [name, value]);
        }
      }
    }
    reply.map(found.size);
    for (const [name, value] of found.values()) {
      reply.bulk(name);
      reply.bulk(value);
    }
  },
};

/**
 * `TIME`: the server's clock (the one expiries are counted by) as Unix
 * seconds and the microseconds within that second, as two strings. kv's
 * clock counts milliseconds: the microseconds are a multiple of 1000.
 */
export const TIME: RedisCommand = {
  name: "TIME",
  arity: 1,
  flags: ["loading", "stale", "fast"],
  keys: [0, 0, 0],
  writes: false,
  summary: "Return the current server time",
  run(_request, { clock }, reply) {
    const ms = clock.now();
    reply.array(2);
    reply.bulk(String(Math.floor(ms / 1000)));
    reply.bulk(String((ms % 1000) * 1000));
  },
};

/** `DBSIZE`: the number of keys. */
export const DBSIZE: RedisCommand = {
  name: "DBSIZE",
  arity: 1,
  flags: ["readonly", "fast"],
  acl: ["@keyspace"],
  keys: [0, 0, 0],
  writes: false,
  summary: "Return the number of keys in the selected database",
  run: (_request, { store }, reply) => reply.integer(store.size),
};

function flushCommand(name: string, summary: string): RedisCommand {
  return {
    name,
    arity: -1,
    flags: ["write"],
    acl: ["@keyspace", "@dangerous"],
    keys: [0, 0, 0],
    writes: true,
    summary,
    run(request, { store }, reply) {
      if (
        request.count > 1 ||
        (request.count === 1 && !argIs(request, 0, "sync") && !argIs(request, 0, "async"))
      ) {
        return reply.error(ERR.syntax);
      }
      store.clear();
      reply.ok();
    },
  };
}

/** `FLUSHDB [ASYNC|SYNC]`. */
export const FLUSHDB: RedisCommand = flushCommand(
  "FLUSHDB",
  "Remove all keys from the current database",
);
/** `FLUSHALL [ASYNC|SYNC]` (kv has one database). */
export const FLUSHALL: RedisCommand = flushCommand(
  "FLUSHALL",
  "Remove all keys from all databases",
);

function human(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`;
  const units = ["K", "M", "G", "T"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(2)}${units[unit]}`;
}

/** INFO's sections, each a list of `field:value` lines, with real figures. */
function infoSections(context: Context): Record<string, [string, string | number][]> {
  const { stats, store, clock } = context;
  const uptime = Math.floor((clock.now() - stats.startedAt) / 1000);
  const memory = Deno.memoryUsage();
  const used = memory.heapUsed + memory.external;
  const storeInfo = store.info?.();
  return {
    server: [
      ["redis_version", REDIS_VERSION],
      ["kv_version", VERSION],
      ["redis_mode", "standalone"],
      ["os", `${Deno.build.os} ${Deno.build.arch}`],
      ["arch_bits", 64],
      ["multiplexing_api", "deno"],
      ["process_id", Deno.pid],
      ["tcp_port", stats.port],
      ["uptime_in_seconds", uptime],
      ["uptime_in_days", Math.floor(uptime / 86_400)],
    ],
    clients: [
      ["connected_clients", stats.connectedClients()],
      ["maxclients", stats.maxClients],
      ["blocked_clients", 0],
    ],
    memory: [
      ["used_memory", used],
      ["used_memory_human", human(used)],
      ["used_memory_rss", memory.rss],
      ["used_memory_rss_human", human(memory.rss)],
      ["used_memory_dataset", storeInfo?.datasetBytes ?? 0],
      ["maxmemory", 0],
      ["maxmemory_human", "0B"],
      ["maxmemory_policy", "noeviction"],
    ],
    persistence: [
      ["loading", 0],
      ["aof_enabled", stats.persistent ? 1 : 0],
    ],
    stats: [
      ["total_connections_received", stats.connectionsReceived],
      ["total_commands_processed", stats.commandsProcessed],
      ["rejected_connections", stats.connectionsRejected],
      ["expired_keys", storeInfo?.expiredKeys ?? 0],
      ["evicted_keys", 0],
      ["keyspace_hits", stats.keyspaceHits],
      ["keyspace_misses", stats.keyspaceMisses],
      ["acl_access_denied_auth", stats.authFailures],
    ],
    replication: [
      ["role", "master"],
      ["connected_slaves", 0],
    ],
    keyspace: store.size === 0 ? [] : [[
      "db0",
      `keys=${store.size},expires=${storeInfo?.expiringKeys ?? 0},avg_ttl=${
        storeInfo?.avgTtlMs ?? 0
      }`,
    ]],
  };
}

/** `INFO [section ...]`: the sections asked for (default: all of kv's). */
export const INFO: RedisCommand = {
  name: "INFO",
  arity: -1,
  flags: ["loading", "stale"],
  acl: ["@dangerous"],
  keys: [0, 0, 0],
  writes: false,
  summary: "Get information and statistics about the server",
  run(request, context, reply) {
    const sections = infoSections(context);
    const names = Object.keys(sections);
    const wanted = new Set<string>();
    for (let i = 0; i < request.count; i++) {
      const name = asciiLower(request.text(i)); // Not Unicode's folding: "\u212Aeyspace" is no section.
      if (name === "all" || name === "everything" || name === "default") {
        names.forEach((n) => wanted.add(n));
      } else if (name in sections) wanted.add(name);
    }
    if (request.count === 0) names.forEach((n) => wanted.add(n));
    const text = names.filter((name) => wanted.has(name)).map((name) => {
      const title = `# ${name[0]!.toUpperCase()}${name.slice(1)}\r\n`;
      return title + sections[name]!.map(([field, value]) => `${field}:${value}\r\n`).join("");
    }).join("\r\n");
    reply.verbatim(text);
  },
};

/** The server commands, in the order COMMAND lists them. */
export const SERVER_COMMANDS: readonly RedisCommand[] = [
  COMMAND,
  INFO,
  CONFIG,
  TIME,
  DBSIZE,
  FLUSHDB,
  FLUSHALL,
];
