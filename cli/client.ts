/**
 * `kv client`: the command line's three ways to use {@linkcode KvClient}:
 * one request given as words, a batch of stdin lines (pipelined), or an
 * interactive prompt.
 *
 * @module
 */

import { TextLineStream } from "@std/streams";
import { CLIENT_DEFAULTS, KvClient } from "../client/client.ts";
import { UDP_CLIENT_DEFAULTS } from "../client/udp.ts";
import { usage } from "../command/command.ts";
import { LINE_COMMANDS } from "../command/table.ts";
import { concat } from "../net/bytes.ts";
import { errorMessage } from "../net/conn.ts";
import { ERROR_PREFIX } from "../wire/line/reply.ts";
import { runUdpClient } from "./client_udp.ts";
import { EXIT } from "./exit.ts";
import { type MainIo, traceTo } from "./io.ts";
import {
  command,
  decimal,
  flag,
  helpText,
  integer,
  parseOptions,
  text,
  UsageError,
} from "./options.ts";

/** `kv client`'s options, declared once: help, parsing and checks. */
export const CLIENT_SPEC = command({
  name: "client",
  summary: "send requests to a kv server and print its answers",
  usage: [
    "[OPTIONS] REQUEST...    send one request (its words joined by spaces)",
    "[OPTIONS] < FILE        send every line of stdin, pipelined",
    "[OPTIONS]               on a terminal: an interactive prompt",
  ],
  options: {
    host: text({ value: "HOST", help: "server address", fallback: CLIENT_DEFAULTS.hostname }),
    port: integer({
      short: "p",
      value: "PORT",
      help: "server port",
      fallback: CLIENT_DEFAULTS.port,
      min: 1,
      max: 65_535,
    }),
    udp: flag("send each request in a UDP datagram (the server needs --udp)"),
    timeout: decimal({
      value: "SECONDS",
      help: "with --udp: wait this long for an answer before sending again",
      fallback: UDP_CLIENT_DEFAULTS.timeoutMs / 1000,
      min: 0,
      above: true,
      example: "seconds, like 1 or 0.2",
    }),
    retries: integer({
      value: "N",
      help: "with --udp: send again this many times before giving up",
      fallback: UDP_CLIENT_DEFAULTS.retries,
      min: 0,
      max: 10,
    }),
    trace: flag("print every socket event to stderr: connect, send, recv, close, ..."),
  },
  words: true,
  footer: `REQUESTS:
  ${LINE_COMMANDS.map(usage).join("    ")}

Exit status: 0 when every request was answered, 1 when an answer was an
"Error:" line, 2 for a usage error or when the server cannot be reached.`,
});

// At most this many batch requests wait for answers at once, so a huge
// stdin does not pile up in memory.
const MAX_IN_FLIGHT = 4_096;
const FLUSH_OUTPUT_CHARS = 64 * 1024;
const OPTION_IN_REQUEST_REGEXP = /(^|\s)(--(host|port|help)\b|-[hp]\b)/;
const QUIT_REGEXP = /^[ \t]*quit[ \t]*\r?$/i;

/** Runs `kv client` with `args`; returns the exit status. */
export async function runClient(args: string[], io: MainIo): Promise<number> {
  const { values: options, words, help, given } = parseOptions(CLIENT_SPEC, args);
  if (help) {
    await io.stdout(helpText(CLIENT_SPEC));
    return EXIT.ok;
  }
  if (words.length > 0 && words.join("").trim() === "") {
    throw new UsageError("empty request: give one such as PING, or none for a prompt");
  }
  if (given.has("retries") && !options.udp) throw new UsageError("--retries needs --udp");
  if (options.udp) return await runUdpClient(words, options, io);
  let client: KvClient;
  try {
    client = await KvClient.connect({
      hostname: options.host,
      port: options.port,
      trace: options.trace ? traceTo(io) : undefined,
    });
  } catch (error) {
    await io.stderr(`kv: ${errorMessage(error)}\n`);
    return EXIT.unreachable;
  }
  try {
    if (words.length > 0) return await runOnce(client, words.join(" "), io);
    if (!io.stdinIsTerminal) return await runBatch(client, io);
    return await runRepl(client, io);
  } catch (error) {
    await io.stderr(`kv: ${errorMessage(error)}\n`);
    return EXIT.unreachable;
  } finally {
    await client.close();
  }
}

async function runOnce(client: KvClient, line: string, io: MainIo): Promise<number> {
  const lines = await client.request(line);
  await io.stdout(lines.map((answer) => `${answer}\n`).join(""));
  if (!lines.some(isErrorLine)) return EXIT.ok;
  // `kv client PING --port 1` sends "PING --port 1": say why it failed.
  if (OPTION_IN_REQUEST_REGEXP.test(line)) {
    await io.stderr("kv: note: options go before the request (kv client --port 1 PING)\n");
  }
  return EXIT.failed;
}

/** Pipelines every stdin line; prints the answers in order as they come. */
async function runBatch(client: KvClient, io: MainIo): Promise<number> {
  const answers: Promise<string[]>[] = [];
  let output = "";
  let sawError = false;
  const printOldest = async () => {
    for (const line of await answers.shift()!) {
      output += `${line}\n`;
      if (isErrorLine(line)) sawError = true;
    }
    if (output.length >= FLUSH_OUTPUT_CHARS) {
      await io.stdout(output);
      output = "";
    }
  };
  try {
    for await (const line of byteLines(io.stdin)) {
      const quit = isQuit(line);
      const answer = client.request(line);
      answer.catch(() => {}); // Awaited in order below; this only keeps an early failure from being "unhandled".
      answers.push(answer);
      if (quit) break; // The server closes after QUIT: nothing more is read.
      if (answers.length >= MAX_IN_FLIGHT) await printOldest();
    }
    // Nothing more to send: say so (our FIN), as `nc -N` does; the answers still come.
    await client.closeWrite();
    while (answers.length > 0) await printOldest();
  } finally {
    await io.stdout(output);
  }
  return sawError ? EXIT.failed : EXIT.ok;
}

function isQuit(line: Uint8Array): boolean {
  return line.length <= 16 && QUIT_REGEXP.test(String.fromCharCode(...line));
}

/** Splits a byte stream on `\n`, keeping each line's bytes as they are. */
async function* byteLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  let rest = new Uint8Array(0);
  for await (const chunk of stream) {
    const data = rest.length > 0 ? concat([rest, chunk]) : chunk;
    let start = 0;
    while (true) {
      const nl = data.indexOf(0x0a, start);
      if (nl === -1) break;
      yield data.subarray(start, nl);
      start = nl + 1;
    }
    rest = data.slice(start);
  }
  if (rest.length > 0) yield rest;
}

/** The REPL's help, from the command table. */
const REPL_HELP = [
  "Type a request and press Enter; the server's answer is printed below it.",
  ...LINE_COMMANDS.map((entry) =>
    entry.name === "QUIT"
      ? `  ${"quit".padEnd(18)} ${entry.summary} (also: exit, Ctrl-D)`
      : `  ${usage(entry).padEnd(18)} ${entry.summary}`
  ),
  "Command words are case-insensitive; spaces around commas are ignored.",
  "",
].join("\n");

/** The interactive prompt, for a person at a terminal. */
async function runRepl(client: KvClient, io: MainIo): Promise<number> {
  const prompt = `kv ${client.address}> `;
  await io.stdout(`Connected to kv at ${client.address}. Type "help" for the commands.\n${prompt}`);
  // @std/streams comes untyped from the npm mirror; this is its real type.
  const lines: ReadableStream<string> = io.stdin
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new TextLineStream());
  for await (const line of lines) {
    const word = line.trim().toLowerCase();
    if (word === "help" || word === "?") {
      await io.stdout(REPL_HELP + prompt);
      continue;
    }
    if (word === "exit") return EXIT.ok;
    const answer = await client.request(line);
    await io.stdout(answer.map((text) => `${text}\n`).join("") + (word === "quit" ? "" : prompt));
    if (word === "quit") return EXIT.ok;
  }
  await io.stdout("\n");
  return EXIT.ok;
}

function isErrorLine(line: string): boolean {
  return line.startsWith(ERROR_PREFIX);
}
