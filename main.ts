/**
 * The `kv` command: parses the command line, then hands over to `serve()`
 * (server.ts) or `runClient()` (client.ts). It also owns what only a process
 * has: signals, exit statuses, stdin/stdout/stderr.
 *
 * @module
 */

import { parseArgs } from "@std/cli";
import denoJson from "./deno.json" with { type: "json" };
import { CLIENT_DEFAULTS, type ClientIo, runClient } from "./client.ts";
import { formatAddr, type Logger, serve, SERVE_DEFAULTS } from "./server.ts";

/** Exit statuses of the `kv` command. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** The process's streams; tests pass their own. */
export interface MainIo extends ClientIo {
  /** Stops `kv serve` gracefully; without it, SIGINT and SIGTERM do. */
  signal?: AbortSignal;
}

const VERSION: string = denoJson.version;

const MAIN_HELP = `kv ${VERSION}: an in-memory key-value server and its client, over TCP

USAGE:
  kv serve [OPTIONS]                  start a server
  kv client [OPTIONS] [REQUEST...]    send requests: the one given, each line
                                      of stdin, or typed at a prompt

OPTIONS:
  -h, --help       print help (also: kv serve --help, kv client --help)
  -V, --version    print the version

EXAMPLES:
  kv serve --port 12000
  kv client PUT, greeting, hello world
  kv client GET,greeting
  printf 'PUT,a,1\\nLIST\\n' | kv client
`;

const SERVE_HELP = `kv serve: keep key-value pairs in memory and answer requests over TCP

USAGE:
  kv serve [OPTIONS]

OPTIONS:
  --host HOST               address to listen on [default: ${SERVE_DEFAULTS.hostname}]
                            (0.0.0.0 exposes the server to the network)
  --port PORT               port to listen on; 0 picks a free one [default: ${SERVE_DEFAULTS.port}]
  --max-connections N       clients served at once [default: ${SERVE_DEFAULTS.maxConnections}]
  --max-line-bytes N        longest request line [default: ${SERVE_DEFAULTS.maxLineBytes}]
  --idle-timeout SECONDS    close a client silent this long; 0 = never [default: 0]
  --unframed-pause-ms MS    take a client's line with no \\n after this pause, until it
                            first sends \\n; 0 = never [default: ${SERVE_DEFAULTS.unframedPauseMs}]
  --shutdown-grace-ms MS    on SIGINT/SIGTERM, wait this long for clients [default: ${SERVE_DEFAULTS.shutdownGraceMs}]
  -v, --verbose             log every connection and request to stderr
  -q, --quiet               log only errors
  -h, --help                print this help

Prints "listening on HOST:PORT" on stdout once bound; logs go to stderr.
Exit status: 0 after a clean shutdown, 1 if it could not listen or had to cut
connections, 2 for a usage error.
`;

const CLIENT_HELP = `kv client: send requests to a kv server and print its answers

USAGE:
  kv client [OPTIONS] REQUEST...    send one request (its words joined by spaces)
  kv client [OPTIONS] < FILE        send every line of stdin, pipelined
  kv client [OPTIONS]               on a terminal: an interactive prompt

REQUESTS:
  PUT, key, value    GET, key    DELETE, key    LIST    PING    QUIT

OPTIONS:
  --host HOST    server address [default: ${CLIENT_DEFAULTS.hostname}]
  --port PORT    server port [default: ${CLIENT_DEFAULTS.port}]
  -h, --help     print this help

Exit status: 0 when every request was answered, 1 when an answer was an
"Error:" line, 2 for a usage error or when the server cannot be reached.
`;

const PORT_REGEXP = /^\d{1,5}$/;
const COUNT_REGEXP = /^\d{1,15}$/;
const SECONDS_REGEXP = /^\d{1,9}(\.\d{1,3})?$/;

/** A command line that cannot be run; reported with a pointer to `--help`. */
class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Runs the `kv` command with `args` (without the program name) and returns
 * its exit status. Only a second shutdown signal makes it call `Deno.exit`,
 * so tests run it in-process.
 */
export async function main(
  args: string[],
  io: MainIo = processIo(),
): Promise<number> {
  try {
    const top = parse(args, {
      boolean: ["help", "version"],
      alias: { h: "help", V: "version" },
    }, true);
    const [command, ...rest] = top._;
    if (top.version) return print(io, `kv ${VERSION}\n`);
    if (top.help || command === "help") return print(io, MAIN_HELP);
    switch (command) {
      case "serve":
        return await runServe(rest, io);
      case "client":
        return await runClientCommand(rest, io);
      case undefined:
        throw new UsageError("missing command: expected serve or client");
      default:
        throw new UsageError(
          `unknown command ${JSON.stringify(command)}: expected serve or client`,
        );
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await io.stderr(`kv: ${error.message}\nRun "kv --help" for usage.\n`);
    return EXIT.usage;
  }
}

async function runServe(args: string[], io: MainIo): Promise<number> {
  const flags = parse(args, {
    string: [
      "host",
      "port",
      "max-connections",
      "max-line-bytes",
      "idle-timeout",
      "unframed-pause-ms",
      "shutdown-grace-ms",
    ],
    boolean: ["help", "verbose", "quiet"],
    alias: { h: "help", v: "verbose", q: "quiet" },
  });
  if (flags.help) return print(io, SERVE_HELP);
  if (flags._.length > 0) {
    throw new UsageError(
      `unexpected argument ${JSON.stringify(flags._[0])} for kv serve`,
    );
  }
  if (flags.verbose && flags.quiet) {
    throw new UsageError("cannot use --verbose with --quiet");
  }
  const hostname = text(flags, "host", SERVE_DEFAULTS.hostname);
  const port = integer(
    flags,
    "port",
    SERVE_DEFAULTS.port,
    PORT_REGEXP,
    0,
    65_535,
  );
  const idleSeconds = Number(text(flags, "idle-timeout", "0"));
  if (!SECONDS_REGEXP.test(text(flags, "idle-timeout", "0"))) {
    throw new UsageError(
      `cannot use --idle-timeout ${
        JSON.stringify(flags["idle-timeout"])
      }: expected seconds, like 30 or 0.5`,
    );
  }
  const verbose = flags.verbose === true;
  const quiet = flags.quiet === true;
  const log: Logger = (level, message) => {
    if (level === "debug" && !verbose) return;
    if (level === "info" && quiet) return;
    io.stderr(`${new Date().toISOString().slice(11, 23)} ${message}\n`);
  };

  const shutdownGraceMs = integer(
    flags,
    "shutdown-grace-ms",
    SERVE_DEFAULTS.shutdownGraceMs,
    COUNT_REGEXP,
    0,
  );
  const stop = new AbortController();
  let server;
  try {
    server = serve({
      hostname,
      port,
      maxConnections: integer(
        flags,
        "max-connections",
        SERVE_DEFAULTS.maxConnections,
        COUNT_REGEXP,
        1,
      ),
      maxLineBytes: integer(
        flags,
        "max-line-bytes",
        SERVE_DEFAULTS.maxLineBytes,
        COUNT_REGEXP,
        1,
      ),
      idleTimeoutMs: Math.round(idleSeconds * 1000),
      unframedPauseMs: integer(
        flags,
        "unframed-pause-ms",
        SERVE_DEFAULTS.unframedPauseMs,
        COUNT_REGEXP,
        0,
      ),
      shutdownGraceMs,
      signal: io.signal ?? stop.signal,
      log,
      verbose,
    });
  } catch (error) {
    const address = formatAddr({ transport: "tcp", hostname, port });
    await io.stderr(
      `kv: cannot listen on ${address}: ${describeListenError(error)}\n`,
    );
    return EXIT.failure;
  }
  await print(io, `listening on ${formatAddr(server.addr)}\n`);

  // First SIGINT/SIGTERM: shut down gracefully. A second: leave now, like
  // redis's "You insist... exiting now".
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const onSignal = () => {
    if (stop.signal.aborted) {
      io.stderr("second signal: exiting now\n");
      Deno.exit(EXIT.failure);
    }
    log(
      "info",
      `shutting down: finishing answers (up to ${shutdownGraceMs} ms; signal again to exit now)`,
    );
    stop.abort();
  };
  if (io.signal === undefined) {
    for (const name of signals) Deno.addSignalListener(name, onSignal);
  }
  try {
    const { connectionsCut } = await server.finished;
    if (connectionsCut > 0) {
      log(
        "error",
        `shutdown grace ran out: cut ${connectionsCut} connection(s)`,
      );
      return EXIT.failure;
    }
    log("info", "stopped");
    return EXIT.ok;
  } finally {
    if (io.signal === undefined) {
      for (const name of signals) Deno.removeSignalListener(name, onSignal);
    }
  }
}

async function runClientCommand(args: string[], io: MainIo): Promise<number> {
  const flags = parse(args, {
    string: ["host", "port"],
    boolean: ["help"],
    alias: { h: "help" },
  }, true);
  if (flags.help) return print(io, CLIENT_HELP);
  return await runClient(flags._, {
    hostname: text(flags, "host", CLIENT_DEFAULTS.hostname),
    port: integer(flags, "port", CLIENT_DEFAULTS.port, PORT_REGEXP, 1, 65_535),
  }, io);
}

interface Flags {
  _: string[];
  [flag: string]: unknown;
}

interface ParseOptions {
  string?: string[];
  boolean?: string[];
  alias?: Record<string, string>;
}

/**
 * parseArgs with the strictness a CLI needs: unknown flags fail, and
 * `stopEarly` keeps everything from the first word on (such as a request's
 * `-5`) as positional.
 */
function parse(
  args: string[],
  options: ParseOptions,
  stopEarly = false,
): Flags {
  const known = new Set([
    ...(options.string ?? []),
    ...(options.boolean ?? []),
    ...Object.keys(options.alias ?? {}),
  ]);
  const parsed = parseArgs(args, {
    ...options,
    stopEarly,
    unknown: (arg: string, key?: string) => {
      if (key === undefined || !arg.startsWith("-")) return true;
      if (known.has(key)) return true;
      throw new UsageError(
        `unknown option ${JSON.stringify(arg.split("=")[0])}`,
      );
    },
  });
  return { ...parsed, _: parsed._.map(String) };
}

function text(flags: Flags, name: string, fallback: string): string {
  const value = flags[name];
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value === "") {
    throw new UsageError(`option --${name} needs a value`);
  }
  return value;
}

function integer(
  flags: Flags,
  name: string,
  fallback: number,
  pattern: RegExp,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const value = text(flags, name, String(fallback));
  const number = Number(value);
  if (!pattern.test(value) || number < min || number > max) {
    throw new UsageError(
      `cannot use --${name} ${JSON.stringify(value)}: expected an integer from ${min} to ${max}`,
    );
  }
  return number;
}

function describeListenError(error: unknown): string {
  if (error instanceof Deno.errors.AddrInUse) {
    return "address already in use (is another server running? try --port 0)";
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return "permission denied (run with --allow-net; ports below 1024 need privileges)";
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return "address not available on this machine";
  }
  return error instanceof Error ? error.message : String(error);
}

async function print(io: MainIo, text: string): Promise<number> {
  await io.stdout(text);
  return EXIT.ok;
}

const encoder = new TextEncoder();

function writeAllSync(
  file: { writeSync(bytes: Uint8Array): number },
  text: string,
): void {
  const bytes = encoder.encode(text);
  for (let written = 0; written < bytes.length;) {
    written += file.writeSync(bytes.subarray(written));
  }
}

/** The real process streams. */
function processIo(): MainIo {
  return {
    stdin: Deno.stdin.readable,
    stdinIsTerminal: Deno.stdin.isTerminal(),
    stdout: (text) => writeAllSync(Deno.stdout, text),
    stderr: (text) => writeAllSync(Deno.stderr, text),
  };
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
