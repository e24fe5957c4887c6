/**
 * `kv bench`'s runner, a redis-benchmark for kv: it opens raw connections,
 * PUTs every key once, then keeps up to `pipeline` requests in flight on
 * each connection, checks every answer, and reports throughput and latency
 * percentiles. The workload and the checks follow shared/perf/loadgen.c.
 *
 * @module
 */

import { describeConnectError } from "../client/errors.ts";
import { formatAddr } from "../net/addr.ts";
import { type ClientTls, connectTcp } from "../net/connect.ts";
import { closeQuietly, PAUSED_LATE_MS, quiet, writeAll } from "../net/conn.ts";
import { encodeRequest } from "../wire/line/encode.ts";
import { ERROR_PREFIX, failureText, SUCCESS } from "../wire/line/reply.ts";
import { BenchConnection } from "./connection.ts";
import { Tally, TICK_MS } from "./report.ts";
import { decode, quote } from "./workload.ts";
import { maskSecret } from "../client/trace.ts";

const AUTH_REQUIRED = `${ERROR_PREFIX}${failureText({ kind: "authRequired" })}`;

/** Options of {@linkcode runBench}. */
export interface BenchOptions {
  /** The server's address. @default {"127.0.0.1"} */
  hostname?: string;
  /** The server's port. @default {12000} */
  port?: number;
  /** Connections to open. @default {50} */
  connections?: number;
  /** Requests each connection keeps in flight. @default {1} */
  pipeline?: number;
  /** Requests to measure; ignored when `durationMs` is given. @default {100000} */
  requests?: number;
  /** Measure for this long instead of a number of requests. */
  durationMs?: number;
  /** The fraction of requests that are GETs; the rest are PUTs. @default {0.5} */
  getRatio?: number;
  /** The key space `key:0` to `key:N-1`; at least `connections`. @default {10000} */
  keys?: number;
  /** The length of every value, in bytes. @default {16} */
  valueBytes?: number;
  /** Seeds the request mix, so that a run can be repeated. @default {1} */
  seed?: number;
  /** Print one JSON object instead of the report. @default {false} */
  json?: boolean;
  /** With requests in flight and no answer for this long, give up on them. @default {10000} */
  stallTimeoutMs?: number;
  /** Give up connecting (TCP, TLS, AUTH's answer) after this long. @default {5000} */
  connectTimeoutMs?: number;
  /** Speak TLS, trusting these CA certificates besides the system's. */
  tls?: ClientTls;
  /** Send `AUTH, password` on each connection first. */
  password?: string;
}

/** Defaults of {@linkcode BenchOptions}, shared with the command line's help. */
export const BENCH_DEFAULTS = {
  hostname: "127.0.0.1",
  port: 12000,
  connections: 50,
  pipeline: 1,
  requests: 100_000,
  getRatio: 0.5,
  keys: 10_000,
  valueBytes: 16,
  seed: 1,
  json: false,
  stallTimeoutMs: 10_000,
  connectTimeoutMs: 5_000,
} as const;

/** The largest value of each option, checked by the command line (as loadgen.c does). */
export const BENCH_LIMITS = {
  connections: 10_000,
  pipeline: 4_096,
  keys: 100_000_000,
  valueBytes: 1_000_000,
  seed: 2 ** 32 - 1,
} as const;

/** Where `kv bench` writes; the command line passes the real streams. */
export interface BenchIo {
  stdout(text: string): void | Promise<void>;
  stderr(text: string): void | Promise<void>;
  /** Show a live progress line on stderr. @default {false} */
  stderrIsTerminal?: boolean;
}
/** How a bench run ended: every answer right, some wrong, or no server to load. */
export type BenchOutcome = "ok" | "errors" | "unreachable";

/** {@linkcode BenchOptions} with every default filled in. */
export type BenchConfig = Required<Omit<BenchOptions, "durationMs" | "tls" | "password">> & {
  durationMs: number | undefined;
  tls: ClientTls | undefined;
  password: string | undefined;
};

const encoder = new TextEncoder();
// Connections are opened this many at a time, so that a big -c does not
// overflow the server's accept backlog.
const CONNECT_BATCH = 64;

/**
 * Runs a bench: prints the report on `io.stdout`, errors on `io.stderr`, and
 * says how it went. Throws `RangeError` for options out of range.
 */
export async function runBench(options: BenchOptions, io: BenchIo): Promise<BenchOutcome> {
  const config = resolveConfig(options);
  const address = formatAddr({ hostname: config.hostname, port: config.port });
  let conns: Deno.Conn[];
  try {
    conns = await connectAll(config);
  } catch (error) {
    await io.stderr(`kv: cannot connect to ${address}: ${describeConnectError(error)}\n`);
    return "unreachable";
  }
  const run = new Tally(config);
  const connections = conns.map((conn, id) => new BenchConnection(conn, id, run));
  const progress = io.stderrIsTerminal === true;
  let shown = false;
  let tickedAt = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    // A tick a second late: this process was stopped (Ctrl-Z, kill -STOP, a
    // debugger), and the answers that came meanwhile wait unread, to be read
    // after this tick. The server's silence counts again from the resume.
    if (now - tickedAt >= TICK_MS + PAUSED_LATE_MS) {
      for (const connection of connections) {
        connection.lastReadAt = Math.max(connection.lastReadAt, now);
      }
    }
    tickedAt = now;
    checkStall(config.stallTimeoutMs, now, connections);
    if (progress) {
      io.stderr(`\r${run.progressLine(now)}\x1b[K`);
      shown = true;
    }
  }, TICK_MS);
  try {
    run.startPreload(performance.now());
    await Promise.all(connections.map((connection) => connection.pump(false)));
    run.startMeasure(performance.now());
    // No PUT of the preload was taken, for want of AUTH or from a server that
    // speaks only RESP: every measured request would be refused the same way,
    // and its numbers would mean nothing.
    const refused = run.firstError.includes(AUTH_REQUIRED) || run.respAnswered;
    if (!(run.preloaded === 0 && refused)) {
      await Promise.all(connections.map((connection) => connection.pump(true)));
    }
  } finally {
    clearInterval(ticker);
    await Promise.all(connections.map((connection) => connection.close()));
    if (shown) await io.stderr("\r\x1b[K");
  }
  const report = run.report();
  if (config.json) await io.stdout(`${JSON.stringify(report)}\n`);
  else await io.stdout(run.formatReport(report));
  if (run.firstError !== "") {
    await io.stderr(`kv bench: first error: ${run.firstError}\n`);
    // Every answer an error because nobody authenticated: say how to.
    if (config.password === undefined && run.firstError.includes(AUTH_REQUIRED)) {
      await io.stderr("kv bench: the server wants a password: give it with --password-file FILE\n");
    } else if (run.respAnswered) {
      await io.stderr(
        "kv bench: the server answers in RESP, as Redis does: kv bench speaks kv's line " +
          "protocol (measure a Redis server with redis-benchmark)\n",
      );
    }
  }
  return report.errors > 0 ? "errors" : "ok";
}

/** Gives up on each connection that has waited too long for an answer. */
function checkStall(limitMs: number, now: number, connections: BenchConnection[]): void {
  for (const connection of connections) {
    if (connection.inFlight > 0 && now - connection.lastReadAt >= limitMs) {
      connection.lose(
        `no answer for ${limitMs / 1000} s (${stallCause(connection.partialAnswer)})`,
      );
    }
  }
}

/** The likely cause of a stall, from what did arrive. */
function stallCause(partial: Uint8Array): string {
  if (partial.length > 0) {
    return `got ${quote(decode(partial))} with no \\n after it: answers must end with \\n`;
  }
  return "nothing arrived: a server that serves one client at a time cannot serve " +
    "several connections (try -c 1), one that reads one request per recv() " +
    "cannot take a pipeline, one out of file descriptors leaves the connections " +
    'past its limit unaccepted (kv serve logs "out of file descriptors"), and a stopped one ' +
    "(Ctrl-Z in its terminal; fg there resumes it) answers nobody";
}

function resolveConfig(options: BenchOptions): BenchConfig {
  const config: BenchConfig = {
    ...BENCH_DEFAULTS,
    durationMs: undefined,
    tls: undefined,
    password: undefined,
  };
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined) Object.assign(config, { [name]: value });
  }
  const { connections, pipeline, keys, valueBytes, getRatio, requests, durationMs } = config;
  const integers: [string, number, number, number][] = [
    ["connections", connections, 1, BENCH_LIMITS.connections],
    ["pipeline", pipeline, 1, BENCH_LIMITS.pipeline],
    ["keys", keys, 1, BENCH_LIMITS.keys],
    ["valueBytes", valueBytes, 1, BENCH_LIMITS.valueBytes],
    ["requests", requests, 1, Number.MAX_SAFE_INTEGER],
    ["seed", config.seed, 0, BENCH_LIMITS.seed],
  ];
  for (const [name, value, min, max] of integers) {
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(
        `Cannot use ${name} ${value}: expected an integer from ${min} to ${max}`,
      );
    }
  }
  if (!(getRatio >= 0 && getRatio <= 1)) {
    throw new RangeError(`Cannot use getRatio ${getRatio}: expected a number from 0 to 1`);
  }
  if (durationMs !== undefined && !(durationMs > 0 && Number.isFinite(durationMs))) {
    throw new RangeError(`Cannot use durationMs ${durationMs}: expected a positive number`);
  }
  if (keys < connections) {
    throw new RangeError(
      `Cannot use ${keys} keys for ${connections} connections: each connection needs a key of its own`,
    );
  }
  return config;
}

/** Opens every connection, or none: on a failure the ones opened are closed. */
async function connectAll(config: BenchConfig): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  try {
    // The first alone: if the server is not there, that is one clean error.
    conns.push(await connect(config));
    while (conns.length < config.connections) {
      const batch = Math.min(CONNECT_BATCH, config.connections - conns.length);
      const results = await Promise.allSettled(
        Array.from({ length: batch }, () => connect(config)),
      );
      for (const result of results) {
        if (result.status === "fulfilled") conns.push(result.value);
      }
      const failed = results.find((result) => result.status === "rejected");
      if (failed) throw failed.reason;
    }
    return conns;
  } catch (error) {
    for (const conn of conns) closeQuietly(conn);
    throw error;
  }
}

async function connect(config: BenchConfig): Promise<Deno.Conn> {
  const startedAt = performance.now();
  const conn = await connectTcp(config.hostname, config.port, {
    timeoutMs: config.connectTimeoutMs,
    tls: config.tls,
  });
  if (config.password === undefined) return conn;
  try {
    await writeAll(conn, encoder.encode(encodeRequest("AUTH", config.password)));
    // AUTH's answer counts against the connect time: a server that never
    // answers, or never ends its answer with \n, must not hold the run.
    const answer = await readAnswerLine(conn, startedAt + config.connectTimeoutMs);
    if (answer !== SUCCESS) {
      // A server that is not kv may echo the request: the password is never shown.
      const shown = maskSecret(answer, config.password);
      throw new Error(`AUTH was answered ${JSON.stringify(shown)}`);
    }
    return conn;
  } catch (error) {
    closeQuietly(conn);
    throw error;
  }
}

/**
 * Reads one answer line (AUTH's), byte by byte: nothing after it may be
 * taken. Throws `Deno.errors.TimedOut` if the line has not ended by
 * `deadline` (a `performance.now()` time).
 */
async function readAnswerLine(conn: Deno.Conn, deadline: number): Promise<string> {
  const bytes: number[] = [];
  const one = new Uint8Array(1);
  while (true) {
    const read = conn.read(one);
    if (await quiet(read, Math.max(0, deadline - performance.now()))) {
      read.catch(() => {}); // Rejects once the caller closes the connection.
      throw new Deno.errors.TimedOut(
        bytes.length === 0
          ? "no answer to AUTH in time"
          : "the answer to AUTH did not end with \\n in time (a server that ends its answers without \\n)",
      );
    }
    if ((await read) === null) throw new Error("the server closed the connection");
    if (one[0] === 0x0a) return new TextDecoder().decode(Uint8Array.from(bytes)).replace(/\r$/, "");
    bytes.push(one[0]!);
  }
}
