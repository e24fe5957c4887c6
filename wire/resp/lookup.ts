/**
 * The command a RESP request names, found in {@linkcode REDIS_TABLE} once
 * the framer (framer.ts) has framed the request, and Redis's errors when
 * it names none (`ERR unknown command 'FOO', with args beginning with:`)
 * or gives the wrong number of arguments. Runs once for every request.
 *
 * @module
 */

import type { RedisCommand } from "../../command/command.ts";
import type { Failure } from "../../command/reply.ts";
import { byteString, type Request } from "../../command/request.ts";
import { REDIS_TABLE } from "../../command/table.ts";

// How much of an unknown command's name and arguments the error quotes.
const ECHO_CHARS = 128;

/**
 * Finds the command named `bytes[start, end)` and checks its arity (the
 * arguments are set in `into`): sets `into.command`, or fails `into`.
 */
export function resolveCommand(into: Request, bytes: Uint8Array, start: number, end: number): void {
  const args = into.count;
  const command = REDIS_TABLE.lookup(bytes, start, end);
  if (command === undefined) {
    into.fails(unknownCommand(into, bytes, start, end));
    return;
  }
  const words = args + 1;
  if (command.arity > 0 ? words !== command.arity : words < -command.arity) {
    into.fails(arityFailure(command));
    return;
  }
  into.command = command;
  into.failure = undefined;
}

const arityFailures = new Map<RedisCommand, Failure>();

function arityFailure(command: RedisCommand): Failure {
  let failure = arityFailures.get(command);
  if (failure === undefined) {
    failure = { kind: "usage", command };
    arityFailures.set(command, failure);
  }
  return failure;
}

/**
 * Redis's unknown-command error keeps the name and the first arguments, 128
 * characters in all at most, each as C's `%.*s` prints it: up to its first
 * NUL byte (`FO\0O` is shown as `FO`).
 */
function unknownCommand(into: Request, bytes: Uint8Array, start: number, end: number): Failure {
  const word = cBytes(bytes, start, end, ECHO_CHARS);
  const args: string[] = [];
  let length = 0;
  for (let i = 0; i < into.count && length < ECHO_CHARS; i++) {
    const arg = cBytes(into.bytes, into.starts[i]!, into.ends[i]!, ECHO_CHARS - length);
    args.push(arg);
    length += arg.length + 3; // The quotes and the space after it.
  }
  return { kind: "unknownCommand", word, args };
}

/** `bytes[start, end)` up to its first NUL byte and `max` bytes at most, one character per byte. */
function cBytes(bytes: Uint8Array, start: number, end: number, max: number): string {
  let stop = start;
  const limit = Math.min(end, start + max);
  while (stop < limit && bytes[stop] !== 0) stop++;
  return byteString(bytes, start, stop);
}
