/**
 * Unit tests of the command lookup (command/table.ts): ASCII case folding
 * only, and names of every shape found, packed or not.
 *
 * @module
 */

import { assertEquals, assertStrictEquals } from "@std/assert";
import type { Command } from "./command.ts";
import { CommandTable } from "./table.ts";

const test = (name: string, fn: () => void) => Deno.test({ name, permissions: "none", fn });
const bytes = (text: string) => new TextEncoder().encode(text);

function command(name: string): Command {
  return { name, writes: false, summary: name, run: () => {} };
}

test("lookup() finds short, long and non-letter names in any ASCII case, and nothing else", () => {
  const names = ["GET", "A", "SETRANGE", "SET2", "X-Y", "CLIENT", "PEXPIREAT"];
  const table = new CommandTable(names.map(command));
  for (const name of names) {
    for (const word of [name, name.toLowerCase()]) {
      const found = table.lookup(bytes(` ${word} `), 1, word.length + 1);
      assertStrictEquals(found?.name, name, word);
    }
  }
  for (const word of ["", "GE", "GETT", "SET3", "X_Y", "set\r", "lıst", "CLIENTS", "Get\0"]) {
    const input = bytes(word);
    assertEquals(table.lookup(input, 0, input.length), undefined, JSON.stringify(word));
  }
});
