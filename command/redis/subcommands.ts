/**
 * Redis's container commands (CLIENT, COMMAND, CONFIG): their subcommands
 * are entries of Redis 7's command table, each with its own arity, and
 * Redis looks one up and checks its arity before anything else, as it does
 * a command's (`processCommand()`): before AUTH's gate, and when MULTI
 * queues it. kv declares them once, in the command's
 * {@linkcode Command.subcommands}; `execute()` checks them with
 * {@linkcode subcommandFailure} before the handler runs or the command is
 * queued, so a handler finds its subcommand known and its arity right.
 *
 * @module
 */

import type { Command } from "../command.ts";
import type { Failure } from "../reply.ts";
import type { Request } from "../request.ts";
import { argIs } from "./args.ts";

/**
 * Why `request` of a container `command` cannot run (Redis's words): a
 * subcommand it has not, or one with the wrong number of arguments.
 * `undefined` when it may run, or when there is no subcommand word (the
 * command's own arity decides then: COMMAND alone is every command).
 */
export function subcommandFailure(request: Request, command: Command): Failure | undefined {
  const subcommands = command.subcommands;
  if (subcommands === undefined || request.count === 0) return undefined;
  const words = request.count + 1;
  for (const name in subcommands) {
    if (!argIs(request, 0, name)) continue;
    const arity = subcommands[name]!;
    if (arity > 0 ? words === arity : words >= -arity) return undefined;
    return {
      kind: "redis",
      text: `ERR wrong number of arguments for '${command.name.toLowerCase()}|${name}' command`,
    };
  }
  return unknownSubcommand(request, command.name);
}

/** Redis's error for a subcommand it does not know: its name as `%.128s` prints it (up to a NUL, 128 bytes at most). */
export function unknownSubcommand(request: Request, command: string): Failure {
  const shown = request.cString(0).slice(0, 128);
  return { kind: "redis", text: `ERR unknown subcommand '${shown}'. Try ${command} HELP.` };
}
