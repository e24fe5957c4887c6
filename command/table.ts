/**
 * The command table: every command kv answers, in the order its help and
 * its unknown-command hint list them. It drives the framers' parsing and
 * usage errors, the REPL's help and the client's encoding. To add a command,
 * write its entry and handler in the file of its group and list it here.
 *
 * @module
 */

import type { Command } from "./command.ts";
import { PING, QUIT } from "./connection.ts";
import { DELETE, GET, LIST, PUT } from "./keys.ts";
import type { Reply } from "./reply.ts";
import type { Context, Continuation } from "./command.ts";
import type { Request } from "./request.ts";

/** The line protocol's commands (PROTOCOL.md, Requests). */
export const LINE_COMMANDS: readonly Command[] = [PUT, GET, DELETE, LIST, PING, QUIT];

/**
 * Finds a command by its word in a request's bytes, folding ASCII case only
 * (`lıst` stays unknown), without making a string of the word.
 */
export class CommandTable {
  /** The commands, in table order. */
  readonly commands: readonly Command[];
  // Candidates by word length, each with its lower-case name in bytes.
  readonly #byLength: { command: Command; lower: Uint8Array }[][] = [];

  /** Builds the lookup over `commands`. */
  constructor(commands: readonly Command[]) {
    this.commands = commands;
    const encoder = new TextEncoder();
    for (const command of commands) {
      const lower = encoder.encode(command.name.toLowerCase());
      (this.#byLength[lower.length] ??= []).push({ command, lower });
    }
  }

  /** The command whose name is `bytes[start, end)`, any ASCII case, or `undefined`. */
  lookup(bytes: Uint8Array, start: number, end: number): Command | undefined {
    const candidates = this.#byLength[end - start];
    if (candidates === undefined) return undefined;
    for (const { command, lower } of candidates) {
      if (equalsFolded(bytes, start, lower)) return command;
    }
    return undefined;
  }

  /** The command named `name` (any case), or `undefined`. */
  byName(name: string): Command | undefined {
    const upper = name.toUpperCase();
    return this.commands.find((command) => command.name === upper);
  }
}

/** The line protocol's table. */
export const LINE_TABLE: CommandTable = new CommandTable(LINE_COMMANDS);

/** Compares bytes at `start` with a lowercase ASCII word, folding only A-Z to a-z. */
function equalsFolded(bytes: Uint8Array, start: number, lower: Uint8Array): boolean {
  for (let i = 0; i < lower.length; i++) {
    // `| 0x20` maps A-Z onto a-z; for any other byte the result can equal a
    // lowercase letter only if the byte already was that letter.
    if ((bytes[start + i]! | 0x20) !== lower[i]) return false;
  }
  return true;
}

/**
 * Runs one framed request: its command's handler, or the error that the
 * framer found. Returns the continuation of an answer not complete yet.
 */
export function execute(
  request: Request,
  context: Context,
  reply: Reply,
): Continuation | undefined {
  const command = request.command;
  if (command === undefined) {
    reply.error(request.failure!);
    return undefined;
  }
  return command.run(request, context, reply) ?? undefined;
}
