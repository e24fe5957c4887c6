/**
 * The `kv` command: parses the command line, then hands over to `serve()`
 * (server.ts), `runClient()` (client.ts) or `runBench()` (bench.ts). It also
 * owns what only a process has: signals, exit statuses, stdin/stdout/stderr.
 *
 * @module
 */

import { parseArgs } from "@std/cli";
import denoJson from "./deno.json" with { type: "json" };
import { BENCH_DEFAULTS, BENCH_LIMITS, runBench } from "./bench.ts";
import { CLIENT_DEFAULTS, type ClientIo, runClient } from "./client.ts";
import { formatAddr, type Logger, serve, SERVE_DEFAULTS } from "./server.ts";

/** Exit statuses of the `kv` command. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** The process's streams; tests pass their own. */
export interface MainIo extends ClientIo {
  /** Stops `kv serve` gracefully; without it, SIGINT and SIGTERM do. */
  signal?: AbortSignal;
  /** Whether `kv bench` may draw a live progress line on stderr. @default {false} */
  stderrIsTerminal?: boolean;
}

const VERSION: string = denoJson.version;

const MAIN_HELP = `kv ${VERSION}: an in-memory key-value server and its client, over TCP

USAGE:
  kv serve [OPTIONS]                  start a server
  kv client [OPTIONS] [REQUEST...]    send requests: the one given, each line
                                      of stdin, or typed at a prompt
  kv bench [OPTIONS]                  measure a server's throughput and latency

OPTIONS:
  -h, --help       print help (also: kv serve --help, kv client --help, kv bench --help)
  -V, --version    print the version

EXAMPLES:
  kv serve --port 12000
  kv client PUT, greeting, hello world
  kv client GET,greeting
  printf 'PUT,a,1\\nLIST\\n' | kv client
  kv bench -c 50 -P 16 -d 10
`;

const SERVE_HELP = `kv serve: keep key-value pairs in memory and answer requests over TCP

USAGE:
  kv serve [OPTIONS]

OPTIONS:
  --host HOST               address to listen on [default: ${SERVE_DEFAULTS.hostname}]
                            (0.0.0.0 exposes the server to the network)
  -p, --port PORT           port to listen on; 0 picks a free one [default: ${SERVE_DEFAULTS.port}]
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
  --host HOST        server address [default: ${CLIENT_DEFAULTS.hostname}]
  -p, --port PORT    server port [default: ${CLIENT_DEFAULTS.port}]
  -h, --help         print this help

Exit status: 0 when every request was answered, 1 when an answer was an
"Error:" line, 2 for a usage error or when the server cannot be reached.
`;

// Signals closer together than this count as one (see onSignal in runServe).
const REPEAT_SIGNAL_MS = 250;

const BENCH_HELP = `kv bench: load a kv server with PUTs and GETs, check every answer, and
report throughput and latency (like redis-benchmark)

USAGE:
  kv bench [OPTIONS]

OPTIONS:
  --host HOST               server address [default: ${BENCH_DEFAULTS.hostname}]
  -p, --port PORT           server port [default: ${BENCH_DEFAULTS.port}]
  -c, --connections N       connections [default: ${BENCH_DEFAULTS.connections}]
  -P, --pipeline N          requests in flight per connection [default: ${BENCH_DEFAULTS.pipeline}]
  -n, --requests N          requests to measure [default: ${BENCH_DEFAULTS.requests}, unless -d]
  -d, --duration SECONDS    measure for this long instead of -n requests
  -r, --get-ratio R         fraction of GETs, from 0 to 1; the rest are PUTs [default: ${BENCH_DEFAULTS.getRatio}]
  -k, --keys N              key space key:0 .. key:N-1, at least -c [default: ${BENCH_DEFAULTS.keys}]
  -v, --value-bytes N       length of every value [default: ${BENCH_DEFAULTS.valueBytes}]
  --seed N                  seed of the request mix [default: ${BENCH_DEFAULTS.seed}]
  --json                    print one JSON object instead of the report
  -h, --help                print this help

Every key is PUT once first (not measured). Each connection writes only its
own keys, so the answer to every GET is known, and checked. Latency runs from
the write that carried a request to its answer.
Exit status: 0 when every answer was right, 1 when any was wrong or a
connection was lost, 2 for a usage error or when the server cannot be reached.
`;

const PORT_REGEXP = /^\d{1,5}$/;
const COUNT_REGEXP = /^\d{1,15}$/;
const SECONDS_REGEXP = /^\d{1,9}(\.\d{1,3})?$/;
const RATIO_REGEXP = /^(0|1|0?\.\d{1,9}|[01]\.\d{1,9})$/;

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
  // Named in the pointer to help after a usage error: `kv serve --help`.
  let subcommand: string | undefined;
  try {
    const top = parse(args, {
      boolean: ["help", "version"],
      alias: { h: "help", V: "version" },
    }, true);
    const [command, ...rest] = top._;
    subcommand = command === "serve" || command === "client" || command === "bench"
      ? command
      : undefined;
    if (top.version) return print(io, `kv ${VERSION}\n`);
    if (top.help || command === "help") return print(io, MAIN_HELP);
    switch (command) {
      case "serve":
        return await runServe(rest, io);
      case "client":
        return await runClientCommand(rest, io);
      case "bench":
        return await runBenchCommand(rest, io);
      case undefined:
        throw new UsageError("missing command: expected serve, client or bench");
      default:
        throw new UsageError(
          `unknown command ${JSON.stringify(command)}: expected serve, client or bench`,
        );
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const help = subcommand === undefined ? "kv --help" : `kv ${subcommand} --help`;
    await io.stderr(`kv: ${error.message}\nRun "${help}" for usage.\n`);
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
    alias: { h: "help", p: "port", v: "verbose", q: "quiet" },
  });
  if (flags.help) return print(io, SERVE_HELP);
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
  const idleText = text(flags, "idle-timeout", "0");
  if (!SECONDS_REGEXP.test(idleText)) {
    throw new UsageError(
      `cannot use --idle-timeout ${JSON.stringify(idleText)}: expected seconds, like 30 or 0.5`,
    );
  }
  const idleSeconds = Number(idleText);
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
  // Checked before serve(): a bad value is a usage error (exit 2), not a
  // failure to listen.
  const maxConnections = integer(
    flags,
    "max-connections",
    SERVE_DEFAULTS.maxConnections,
    COUNT_REGEXP,
    1,
  );
  const maxLineBytes = integer(
    flags,
    "max-line-bytes",
    SERVE_DEFAULTS.maxLineBytes,
    COUNT_REGEXP,
    1,
  );
  const unframedPauseMs = integer(
    flags,
    "unframed-pause-ms",
    SERVE_DEFAULTS.unframedPauseMs,
    COUNT_REGEXP,
    0,
  );
  // After the options: `--port ""` leaves "" here, and "--port needs a
  // value" says more than "unexpected argument".
  if (flags._.length > 0) {
    throw new UsageError(
      `unexpected argument ${JSON.stringify(flags._[0])} for kv serve`,
    );
  }
  const stop = new AbortController();
  let server;
  try {
    server = serve({
      hostname,
      port,
      maxConnections,
      maxLineBytes,
      idleTimeoutMs: Math.round(idleSeconds * 1000),
      unframedPauseMs,
      shutdownGraceMs,
      signal: io.signal ?? stop.signal,
      log,
      verbose,
    });
  } catch (error) {
    const address = formatAddr({ transport: "tcp", hostname, port });
    await io.stderr(
      `kv: cannot listen on ${address}: ${describeListenError(error, port)}\n`,
    );
    return EXIT.failure;
  }
  await print(io, `listening on ${formatAddr(server.addr)}\n`);

  // First SIGINT/SIGTERM: shut down gracefully. A second: leave now, like
  // redis's "You insist... exiting now".
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  let firstSignalAt = 0;
  const onSignal = () => {
    if (stop.signal.aborted) {
      // Ctrl-C under `deno task` arrives twice at once: from the terminal to
      // the process group, and forwarded by the task runner. Only a signal
      // sent later is the user insisting.
      if (Date.now() - firstSignalAt < REPEAT_SIGNAL_MS) return;
      io.stderr("second signal: exiting now\n");
      Deno.exit(EXIT.failure);
    }
    firstSignalAt = Date.now();
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
    alias: { h: "help", p: "port" },
  }, true);
  if (flags.help) return print(io, CLIENT_HELP);
  if (flags._.length > 0 && flags._.join("").trim() === "") {
    throw new UsageError("empty request: give one such as PING, or none for a prompt");
  }
  return await runClient(flags._, {
    hostname: text(flags, "host", CLIENT_DEFAULTS.hostname),
    port: integer(flags, "port", CLIENT_DEFAULTS.port, PORT_REGEXP, 1, 65_535),
  }, io);
}

async function runBenchCommand(args: string[], io: MainIo): Promise<number> {
  const flags = parse(args, {
    string: [
      "host",
      "port",
      "connections",
      "pipeline",
      "requests",
      "duration",
      "get-ratio",
      "keys",
      "value-bytes",
      "seed",
    ],
    boolean: ["help", "json"],
    alias: {
      h: "help",
      p: "port",
      c: "connections",
      P: "pipeline",
      n: "requests",
      d: "duration",
      r: "get-ratio",
      k: "keys",
      v: "value-bytes",
    },
  });
  if (flags.help) return print(io, BENCH_HELP);
  const connections = integer(
    flags,
    "connections",
    BENCH_DEFAULTS.connections,
    COUNT_REGEXP,
    1,
    BENCH_LIMITS.connections,
  );
  const keys = integer(flags, "keys", BENCH_DEFAULTS.keys, COUNT_REGEXP, 1, BENCH_LIMITS.keys);
  if (keys < connections) {
    throw new UsageError(
      `cannot use --keys ${keys} with --connections ${connections}: ` +
        "each connection writes keys of its own, so give at least as many keys",
    );
  }
  if (flags.requests !== undefined && flags.duration !== undefined) {
    throw new UsageError("cannot use --requests with --duration: give one");
  }
  let durationMs: number | undefined;
  if (flags.duration !== undefined) {
    const seconds = text(flags, "duration", "");
    if (!SECONDS_REGEXP.test(seconds) || Number(seconds) === 0) {
      throw new UsageError(
        `cannot use --duration ${
          JSON.stringify(seconds)
        }: expected seconds above 0, like 10 or 0.5`,
      );
    }
    durationMs = Number(seconds) * 1000;
  }
  const getRatio = text(flags, "get-ratio", String(BENCH_DEFAULTS.getRatio));
  if (!RATIO_REGEXP.test(getRatio) || Number(getRatio) > 1) {
    throw new UsageError(
      `cannot use --get-ratio ${JSON.stringify(getRatio)}: expected a number from 0 to 1, like 0.9`,
    );
  }
  const options = {
    hostname: text(flags, "host", BENCH_DEFAULTS.hostname),
    port: integer(flags, "port", BENCH_DEFAULTS.port, PORT_REGEXP, 1, 65_535),
    connections,
    pipeline: integer(
      flags,
      "pipeline",
      BENCH_DEFAULTS.pipeline,
      COUNT_REGEXP,
      1,
      BENCH_LIMITS.pipeline,
    ),
    requests: integer(flags, "requests", BENCH_DEFAULTS.requests, COUNT_REGEXP, 1),
    durationMs,
    getRatio: Number(getRatio),
    keys,
    valueBytes: integer(
      flags,
      "value-bytes",
      BENCH_DEFAULTS.valueBytes,
      COUNT_REGEXP,
      1,
      BENCH_LIMITS.valueBytes,
    ),
    seed: integer(flags, "seed", BENCH_DEFAULTS.seed, COUNT_REGEXP, 0, BENCH_LIMITS.seed),
    json: flags.json === true,
  };
  if (flags._.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(flags._[0])} for kv bench`);
  }
  return await runBench(options, io);
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
    // "_" keeps positional words as typed: parseArgs would turn `1e3` into 1000.
    string: [...(options.string ?? []), "_"],
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
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
    throw new UsageError(
      `cannot use --${name} ${JSON.stringify(value)}: expected an integer ${range}`,
    );
  }
  return number;
}

function describeListenError(error: unknown, port: number): string {
  if (error instanceof Deno.errors.AddrInUse) {
    return "address already in use (is another server running? try --port 0)";
  }
  if (error instanceof Deno.errors.NotCapable) return "permission denied (run with --allow-net)";
  if (error instanceof Deno.errors.PermissionDenied) {
    return port > 0 && port < 1024
      ? "permission denied (ports below 1024 need privileges)"
      : "permission denied";
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
    stderrIsTerminal: Deno.stderr.isTerminal(),
    stdout: (text) => writeAllSync(Deno.stdout, text),
    stderr: (text) => writeAllSync(Deno.stderr, text),
  };
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
