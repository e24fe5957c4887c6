/**
 * `kv bench`: the command line of the load generator in bench/.
 *
 * @module
 */

import { BENCH_DEFAULTS, BENCH_LIMITS, runBench } from "../bench/run.ts";
import { EXIT } from "./exit.ts";
import { CLIENT_SECURITY_OPTIONS, clientSecurity } from "./secrets.ts";
import type { MainIo } from "./io.ts";
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

/** `kv bench`'s options, declared once: help, parsing and checks. */
export const BENCH_SPEC = command({
  name: "bench",
  summary: `load a kv server with PUTs and GETs, check every answer, and
report throughput and latency (like redis-benchmark)`,
  usage: ["[OPTIONS]"],
  options: {
    host: text({ value: "HOST", help: "server address", fallback: BENCH_DEFAULTS.hostname }),
    port: integer({
      short: "p",
      value: "PORT",
      help: "server port",
      fallback: BENCH_DEFAULTS.port,
      min: 1,
      max: 65_535,
    }),
    connections: integer({
      short: "c",
      value: "N",
      help: "connections",
      fallback: BENCH_DEFAULTS.connections,
      min: 1,
      max: BENCH_LIMITS.connections,
    }),
    pipeline: integer({
      short: "P",
      value: "N",
      help: "requests in flight per connection",
      fallback: BENCH_DEFAULTS.pipeline,
      min: 1,
      max: BENCH_LIMITS.pipeline,
    }),
    requests: integer({
      short: "n",
      value: "N",
      help: `requests to measure [default: ${BENCH_DEFAULTS.requests}, unless -d]`,
      fallback: undefined,
      min: 1,
    }),
    duration: decimal({
      short: "d",
      value: "SECONDS",
      help: "measure for this long instead of -n requests",
      fallback: undefined,
      min: 0,
      above: true,
      example: "seconds above 0, like 10 or 0.5",
    }),
    getRatio: decimal({
      short: "r",
      value: "R",
      help: "fraction of GETs, from 0 to 1; the rest are PUTs",
      fallback: BENCH_DEFAULTS.getRatio,
      min: 0,
      max: 1,
      example: "a number from 0 to 1, like 0.9",
    }),
    keys: integer({
      short: "k",
      value: "N",
      help: "key space key:0 .. key:N-1, at least -c",
      fallback: BENCH_DEFAULTS.keys,
      min: 1,
      max: BENCH_LIMITS.keys,
    }),
    valueBytes: integer({
      value: "N",
      help: "length of every value",
      fallback: BENCH_DEFAULTS.valueBytes,
      min: 1,
      max: BENCH_LIMITS.valueBytes,
    }),
    seed: integer({
      value: "N",
      help: "seed of the request mix",
      fallback: BENCH_DEFAULTS.seed,
      min: 0,
      max: BENCH_LIMITS.seed,
    }),
    json: flag("print one JSON object instead of the report"),
    ...CLIENT_SECURITY_OPTIONS,
  },
  footer: `Every key is PUT once first (not measured). Each connection writes only its
own keys, so the answer to every GET is known, and checked. Latency runs from
the write that carried a request to its answer.
Exit status: 0 when every answer was right, 1 when any was wrong or a
connection was lost, 2 for a usage error or when the server cannot be reached.`,
});

/** Runs `kv bench` with `args`; returns the exit status. */
export async function runBenchCommand(args: string[], io: MainIo): Promise<number> {
  const { values: options, help } = parseOptions(BENCH_SPEC, args);
  if (help) {
    await io.stdout(helpText(BENCH_SPEC));
    return EXIT.ok;
  }
  if (options.keys < options.connections) {
    throw new UsageError(
      `cannot use --keys ${options.keys} with --connections ${options.connections}: ` +
        "each connection writes keys of its own, so give at least as many keys",
    );
  }
  if (options.requests !== undefined && options.duration !== undefined) {
    throw new UsageError("cannot use --requests with --duration: give one");
  }
  const security = clientSecurity(options, (line) => io.stderr(`kv: ${line}\n`));
  const outcome = await runBench({
    hostname: options.host,
    port: options.port,
    connections: options.connections,
    pipeline: options.pipeline,
    requests: options.requests,
    durationMs: options.duration === undefined ? undefined : options.duration * 1000,
    getRatio: options.getRatio,
    keys: options.keys,
    valueBytes: options.valueBytes,
    seed: options.seed,
    json: options.json,
    ...security,
  }, io);
  return outcome === "ok" ? EXIT.ok : outcome === "errors" ? EXIT.failed : EXIT.unreachable;
}
