/**
 * Redis's commands that kv has (PROTOCOL.md, Redis clients), by group: the
 * connection, keys and expiry, strings (SET's expiring cousins in
 * string_expiry.ts, GETRANGE and SETRANGE in string_range.ts, the counters
 * in string_counters.ts),
 * transactions, the server. To add one, write its entry and handler in the
 * file of its group and list it in that file's list; it then appears in
 * REDIS_TABLE, COMMAND and COMMAND DOCS.
 *
 * @module
 */

import type { RedisCommand } from "../command.ts";
import { AUTH } from "./auth.ts";
import { CONNECTION_COMMANDS } from "./connection.ts";
import { KEY_COMMANDS } from "./keys.ts";
import { COMMAND_GROUPS, COMMAND_LIST, SERVER_COMMANDS } from "./server.ts";
import { STRING_EXPIRY_COMMANDS } from "./string_expiry.ts";
import { STRING_RANGE_COMMANDS } from "./string_range.ts";
import { STRING_COMMANDS } from "./strings.ts";
import { STRING_COUNTER_COMMANDS } from "./string_counters.ts";
import { TRANSACTION_COMMANDS } from "./transaction.ts";

const GROUPS: [string, readonly RedisCommand[]][] = [
  ["connection", [...CONNECTION_COMMANDS, AUTH]],
  ["generic", KEY_COMMANDS],
  [
    "string",
    [
      ...STRING_COMMANDS,
      ...STRING_COUNTER_COMMANDS,
      ...STRING_EXPIRY_COMMANDS,
      ...STRING_RANGE_COMMANDS,
    ],
  ],
  ["server", SERVER_COMMANDS],
  ["transactions", TRANSACTION_COMMANDS],
];

/** Every Redis command kv answers. */
export const REDIS_COMMANDS: readonly RedisCommand[] = GROUPS.flatMap(([, commands]) => commands);

for (const [group, commands] of GROUPS) {
  for (const command of commands) {
    COMMAND_LIST.push(command);
    COMMAND_GROUPS.set(command, group);
  }
}
