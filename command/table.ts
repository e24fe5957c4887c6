/**
 * The command tables: every command kv answers, in the order its help lists
 * them. They drive the framers' parsing and usage errors, the REPL's help
 * and the client's encoding.
 *
 * To add a line-protocol command, write its entry and handler in the file of
 * its group and list it in {@linkcode LINE_TABLE}, after
 * {@linkcode LINE_COMMANDS} as AUTH is: LINE_COMMANDS are version 1's six,
 * whose names the unknown-command hint lists word for word (contract text,
 * PROTOCOL.md, Responses). A Redis command is listed in its group's list,
 * which command/redis/mod.ts gathers into {@linkcode REDIS_TABLE}.
 *
 * @module
 */

import type { Command, LineCommand, RedisCommand } from "./command.ts";
import { AUTH, PING, QUIT } from "./connection.ts";
import { DELETE, GET, LIST, PUT } from "./keys.ts";
import { REDIS_COMMANDS } from "./redis/mod.ts";

/** The line protocol's commands of version 1 (PROTOCOL.md, Requests), as its unknown-command hint lists them: add no command here. */
export const LINE_COMMANDS: readonly LineCommand[] = [PUT, GET, DELETE, LIST, PING, QUIT];

/**
 * Finds a command by its word in a request's bytes, folding ASCII case only
 * (`lıst` stays unknown), without making a string of the word.
 */
export class CommandTable<C extends Command = Command> {
  /** The commands, in table order. */
  readonly commands: readonly C[];
  // Names of up to 6 letters, by their letters packed into one small integer
  // (a = 1 ... z = 26, five bits each), in a small open-addressing table: a
  // lookup folds and packs the word's bytes and compares integers, with no
  // byte compare after it (a Map.get cost more than the rest of a GET's
  // parsing).
  readonly #packedKeys = new Int32Array(PACKED_SLOTS);
  readonly #packedCommands: (C | undefined)[] = new Array(PACKED_SLOTS).fill(undefined);
  // The other names (longer, or with a character that is not a letter), by length.
  readonly #byLength: { command: C; lower: Uint8Array }[][] = [];

  /** Builds the lookup over `commands`. */
  constructor(commands: readonly C[]) {
    if (commands.length * 2 > PACKED_SLOTS) throw new RangeError("too many commands for one table");
    this.commands = commands;
    const encoder = new TextEncoder();
    for (const command of commands) {
      const lower = encoder.encode(command.name.toLowerCase());
      const packed = pack(lower, 0, lower.length);
      if (packed > 0) this.#addPacked(packed, command);
      else (this.#byLength[lower.length] ??= []).push({ command, lower });
    }
  }

  /** The command whose name is `bytes[start, end)`, any ASCII case, or `undefined`. */
  lookup(bytes: Uint8Array, start: number, end: number): C | undefined {
    const packed = pack(bytes, start, end);
    if (packed > 0) {
      for (let slot = packedSlot(packed);; slot = (slot + 1) & (PACKED_SLOTS - 1)) {
        const key = this.#packedKeys[slot];
        if (key === packed) return this.#packedCommands[slot];
        if (key === 0) return undefined;
      }
    }
    // Longer, or short with a character that is not a letter (`SET2`).
    const candidates = this.#byLength[end - start];
    if (candidates === undefined) return undefined;
    for (let c = 0; c < candidates.length; c++) {
      const candidate = candidates[c]!;
      if (equalsFolded(bytes, start, candidate.lower)) return candidate.command;
    }
    return undefined;
  }

  /** Puts a command in the packed table (a free slot always remains: see PACKED_SLOTS). */
  #addPacked(packed: number, command: C): void {
    let slot = packedSlot(packed);
    while (this.#packedKeys[slot] !== 0) slot = (slot + 1) & (PACKED_SLOTS - 1);
    this.#packedKeys[slot] = packed;
    this.#packedCommands[slot] = command;
  }

  /** The command named `name` (any case), or `undefined`. */
  byName(name: string): C | undefined {
    const upper = name.toUpperCase();
    return this.commands.find((command) => command.name === upper);
  }
}

// Slots of the packed table: a power of two, at least twice the number of
// commands a table may have (the constructor checks), so probes stay short.
const PACKED_SLOTS = 256;

/** A packed name's home slot (Fibonacci hashing: the top 8 bits of a multiply). */
function packedSlot(packed: number): number {
  return Math.imul(packed, 0x9e3779b1) >>> 24;
}

/**
 * Packs a word of 1 to 6 ASCII letters (folded to lower case) into a
 * positive integer, unique for each word. Returns 0 for a word it cannot
 * pack (empty, or a character that is not a letter), and -1 for a longer
 * word; both are looked up by length instead.
 */
function pack(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (length > 6) return -1;
  let packed = 0;
  for (let i = start; i < end; i++) {
    // `| 0x20` folds A-Z onto a-z and sets no other byte into a-z (bit 7
    // stays), so only a letter lands in 1..26; one unsigned compare checks it.
    const letter = (bytes[i]! | 0x20) - 0x60;
    if ((letter - 1) >>> 0 > 25) return 0;
    packed = (packed << 5) | letter;
  }
  return packed;
}

/** The line protocol's table: version 1's commands, then the ones added since (a new command goes at the end). */
export const LINE_TABLE: CommandTable<LineCommand> = new CommandTable([...LINE_COMMANDS, AUTH]);

/** Redis's protocol's table (PROTOCOL.md, Redis clients). */
export const REDIS_TABLE: CommandTable<RedisCommand> = new CommandTable(REDIS_COMMANDS);

/** Compares bytes at `start` with a lowercase ASCII word, folding only A-Z to a-z. */
function equalsFolded(bytes: Uint8Array, start: number, lower: Uint8Array): boolean {
  for (let i = 0; i < lower.length; i++) {
    // Only A-Z fold: `| 0x20` alone would also take "\r" for "-".
    const byte = bytes[start + i]!;
    if (byte !== lower[i] && (byte < 0x41 || byte > 0x5a || (byte | 0x20) !== lower[i])) {
      return false;
    }
  }
  return true;
}
