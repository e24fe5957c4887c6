/**
 * The `kv` command: one table of subcommands, each in its own file here.
 * `main()` parses the top level, dispatches, and turns a usage error into
 * one line on stderr and exit status 2.
 *
 * @module
 */

import { VERSION } from "../version.ts";
import { runBenchCommand } from "./bench.ts";
import { runCheckCommand } from "./check.ts";
import { runClient } from "./client.ts";
import { EXIT } from "./exit.ts";
import { type MainIo, processIo } from "./io.ts";
import { FileAccessError, UsageError } from "./options.ts";
import { runRepair } from "./repair.ts";
import { runServe } from "./serve.ts";

/** A subcommand: its runner, and its line in `kv --help`. */
interface Subcommand {
  readonly run: (args: string[], io: MainIo) => Promise<number>;
  /** What follows its name in the usage line. */
  readonly usage: string;
  /** What it does, in a few words. */
  readonly summary: string;
}

/** The subcommands, in `kv --help`'s order. To add one, write cli/NAME.ts and list it here. */
const SUBCOMMANDS: Record<string, Subcommand> = {
  serve: { run: runServe, usage: "[OPTIONS]", summary: "start a server" },
  client: {
    run: runClient,
    usage: "[OPTIONS] [REQUEST...]",
    summary: "send requests: the one given, each line of stdin, or typed at a prompt",
  },
  bench: {
    run: runBenchCommand,
    usage: "[OPTIONS]",
    summary: "measure a server's throughput and latency",
  },
  check: {
    run: runCheckCommand,
    usage: "[OPTIONS]",
    summary: "test any server against the protocol, rule by rule (a student's server too)",
  },
  repair: {
    run: runRepair,
    usage: "[OPTIONS] FILE",
    summary: "write a loadable copy of a damaged data file beside it (FILE.repaired)",
  },
};

const NAMES = Object.keys(SUBCOMMANDS);
const EXPECTED = `${NAMES.slice(0, -1).join(", ")} or ${NAMES.at(-1)}`;

// The usage lines: each summary in a column, lines of at most 80 characters.
const SUMMARY_COLUMN = 38;
const WIDTH = 80;
const USAGE_LINES = Object.entries(SUBCOMMANDS).map(([name, { usage, summary }]) => {
  const lines = [`  kv ${name} ${usage}`.padEnd(SUMMARY_COLUMN)];
  for (const word of summary.split(" ")) {
    const last = lines.length - 1;
    if (lines[last]!.length > SUMMARY_COLUMN && lines[last]!.length + 1 + word.length > WIDTH) {
      lines.push(" ".repeat(SUMMARY_COLUMN) + word);
    } else {
      lines[last] += (lines[last]!.length > SUMMARY_COLUMN ? " " : "") + word;
    }
  }
  return lines.join("\n");
}).join("\n");

const MAIN_HELP = `kv ${VERSION}: an in-memory key-value server and its client, over TCP

USAGE:
${USAGE_LINES}

OPTIONS:
  -h, --help       print help (also: kv serve --help, kv client --help, ...)
  -V, --version    print the version

EXAMPLES:
  kv serve --port 12000
  kv serve --data data/kv.log --fsync always
  kv client PUT, greeting, hello world
  kv client GET,greeting
  printf 'PUT,a,1\\nLIST\\n' | kv client
  kv serve --trace --udp              watch every socket event; answer UDP too
  kv client --udp --trace GET,greeting
  kv bench -c 50 -P 16 -d 10
  kv check --level assignment --port 12345
`;

/**
 * Runs the `kv` command with `args` (without the program name) and returns
 * its exit status. Only a second shutdown signal makes it call `Deno.exit`,
 * so tests run it in-process.
 */
export async function main(args: string[], io: MainIo = processIo()): Promise<number> {
  const [first, ...rest] = args;
  const run = first === undefined ? undefined : SUBCOMMANDS[first]?.run;
  try {
    if (run !== undefined) return await run(rest, io);
    if (first === "--version" || first === "-V") return await print(io, `kv ${VERSION}\n`);
    if (first === "--help" || first === "-h" || first === "help") return await print(io, MAIN_HELP);
    if (first === undefined) throw new UsageError(`missing command: expected ${EXPECTED}`);
    if (first.startsWith("-")) {
      throw new UsageError(`unknown option ${JSON.stringify(first.split("=")[0])}`);
    }
    throw new UsageError(`unknown command ${JSON.stringify(first)}: expected ${EXPECTED}`);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const help = run === undefined ? "kv --help" : `kv ${first} --help`;
    const pointer = error instanceof FileAccessError ? "" : `Run "${help}" for usage.\n`;
    await io.stderr(`kv: ${error.message}\n${pointer}`);
    return EXIT.usage;
  }
}

async function print(io: MainIo, text: string): Promise<number> {
  await io.stdout(text);
  return EXIT.ok;
}
