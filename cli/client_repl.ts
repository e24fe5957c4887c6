/**
 * `kv client`'s interactive prompt. On a real terminal it reads through a
 * line editor (arrow keys, history: cli/line_editor.ts); otherwise (tests,
 * a terminal it cannot drive) it reads stdin plainly, line by line.
 *
 * @module
 */

import { TextLineStream } from "@std/streams";
import type { KvClient } from "../client/client.ts";
import { usage } from "../command/command.ts";
import { LINE_TABLE } from "../command/table.ts";
import { EXIT } from "./exit.ts";
import type { MainIo } from "./io.ts";

/** The REPL's help, from the command table. */
const REPL_HELP = [
  "Type a request and press Enter; the server's answer is printed below it.",
  ...LINE_TABLE.commands.map((entry) =>
    entry.name === "QUIT"
      ? `  ${"quit".padEnd(18)} ${entry.summary} (exit or Ctrl-D: leave without it)`
      : `  ${usage(entry).padEnd(18)} ${entry.summary}`
  ),
  "Command words are case-insensitive; spaces around commas are ignored.",
  "Up and down recall earlier requests; left and right move in the line.",
  "AUTH alone asks for the password without showing it.",
  "",
].join("\n");

const AUTH_ALONE_REGEXP = /^[ \t]*auth[ \t]*,?[ \t]*$/i;
const AUTH_REGEXP = /^[ \t]*auth[ \t]*,/i;

/** The interactive prompt, for a person at a terminal. */
export async function runRepl(client: KvClient, io: MainIo): Promise<number> {
  const prompt = `kv ${client.address}> `;
  await io.stdout(`Connected to kv at ${client.address}. Type "help" for the commands.\n`);
  const editor = await io.openLineEditor?.();
  const plain = editor === undefined ? plainLines(io, prompt) : undefined;
  try {
    while (true) {
      const line = editor === undefined
        ? (await plain!.next()).value
        : await editor.readLine(prompt);
      if (line === null || line === undefined) break;
      const word = line.trim().toLowerCase();
      if (word === "help" || word === "?") {
        await io.stdout(REPL_HELP);
        continue;
      }
      if (word === "exit") return EXIT.ok;
      let request = line;
      if (AUTH_ALONE_REGEXP.test(line)) {
        // The password is asked for apart, and never shown as it is typed.
        const password = editor === undefined
          ? (await plain!.next()).value
          : await editor.readSecret("Password: ");
        if (password === null || password === undefined) break;
        request = `AUTH, ${password}`;
      } else if (AUTH_REGEXP.test(line)) {
        // Typed with the password: keep it out of the history at least.
        editor?.forgetLast();
        await io.stderr("kv: tip: type AUTH alone to enter the password without showing it\n");
      }
      const answer = await client.request(request);
      await io.stdout(answer.map((text) => `${text}\n`).join(""));
      if (word === "quit") return EXIT.ok;
    }
  } finally {
    editor?.close();
    await plain?.return(undefined);
  }
  await io.stdout("\n");
  return EXIT.ok;
}

/** Lines of stdin, each after its prompt: for input that is not a terminal we drive. */
async function* plainLines(io: MainIo, prompt: string): AsyncGenerator<string, undefined> {
  // @std/streams comes untyped from the npm mirror; this is its real type.
  const lines: ReadableStream<string> = io.stdin
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new TextLineStream());
  await io.stdout(prompt);
  for await (const line of lines) {
    yield line;
    await io.stdout(prompt);
  }
  return undefined;
}
