/**
 * `kv bench`: a redis-benchmark for kv. It opens raw connections, PUTs every
 * key once, then keeps up to `pipeline` requests in flight on each connection
 * and checks every answer byte for byte, and reports throughput and latency
 * percentiles. The workload and the checks follow shared/perf/loadgen.c.
 *
 * @module
 */

import { describeConnectError } from "./client.ts";
import { ERROR_PREFIX, NOT_EXIST, SUCCESS } from "./protocol.ts";
import { formatAddr } from "./server.ts";

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
}

/** Defaults of {@linkcode BenchOptions}, shared with main.ts's help text. */
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
} as const;

/** The largest value of each option, checked by main.ts (as loadgen.c does). */
export const BENCH_LIMITS = {
  connections: 10_000,
  pipeline: 4_096,
  keys: 100_000_000,
  valueBytes: 1_000_000,
  seed: 2 ** 32 - 1,
} as const;

/** Where `kv bench` writes; main.ts passes the real streams. */
export interface BenchIo {
  stdout(text: string): void | Promise<void>;
  stderr(text: string): void | Promise<void>;
  /** Show a live progress line on stderr. @default {false} */
  stderrIsTerminal?: boolean;
}

/** Exit statuses of `kv bench`. */
export const BENCH_EXIT = { ok: 0, errors: 1, failure: 2 } as const;

/** What `--json` prints. */
export interface BenchReport {
  host: string;
  port: number;
  connections: number;
  pipeline: number;
  /** Measured requests that were answered. */
  requests: number;
  /** From the start of the measurement to its last answer. */
  seconds: number;
  ops_per_s: number;
  /** Every kind of error, the preload's included. */
  errors: number;
  get_ratio: number;
  keys: number;
  value_bytes: number;
  latency_us: { p50: number; p90: number; p99: number; p999: number; max: number };
}

type Config = Required<Omit<BenchOptions, "durationMs">> & { durationMs: number | undefined };

// Each connection PUTs its keys this many at a time while preloading.
const PRELOAD_DEPTH = 64;
const READ_BUFFER_BYTES = 64 * 1024;
// Room for `PUT, key:N, ` and the `\n` around a value.
const REQUEST_OVERHEAD_BYTES = 32;
const CONNECT_TIMEOUT_MS = 5_000;
// Connections are opened this many at a time, so that a big -c does not
// overflow the server's accept backlog.
const CONNECT_BATCH = 64;
const TICK_MS = 250;
// What the report quotes of a wrong answer.
const SAMPLE_CHARS = 80;

const LF = 0x0a;
const DOT = 0x2e;
const ZERO = 0x30;
// Values are padded with `v`, as loadgen.c pads them.
const PAD = 0x76;
const OP_GET = 0;
const OP_PUT = 1;
const TWO_TO_32 = 2 ** 32;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PUT_PREFIX = encoder.encode("PUT, key:");
const GET_PREFIX = encoder.encode("GET, key:");
const SUCCESS_BYTES = encoder.encode(SUCCESS);
const NOT_EXIST_BYTES = encoder.encode(NOT_EXIST);
const ERROR_PREFIX_BYTES = encoder.encode(ERROR_PREFIX);

/**
 * Runs `kv bench` and returns its exit status: 0 when every answer was
 * right, 1 when any was not (or a connection was lost), 2 when it cannot
 * connect. Throws `RangeError` for options out of range.
 */
export async function runBench(options: BenchOptions, io: BenchIo): Promise<number> {
  const config = resolveConfig(options);
  const address = formatAddr({ transport: "tcp", hostname: config.hostname, port: config.port });
  let conns: Deno.TcpConn[];
  try {
    conns = await connectAll(config);
  } catch (error) {
    await io.stderr(`kv: cannot connect to ${address}: ${describeConnectError(error)}\n`);
    return BENCH_EXIT.failure;
  }
  const run = new Run(config);
  const connections = conns.map((conn, id) => new BenchConnection(conn, id, run));
  const progress = io.stderrIsTerminal === true;
  let shown = false;
  const ticker = setInterval(() => {
    const now = performance.now();
    run.checkStall(now, connections);
    if (progress) {
      io.stderr(`\r${run.progressLine(now)}\x1b[K`);
      shown = true;
    }
  }, TICK_MS);
  try {
    run.startPreload(performance.now());
    await Promise.all(connections.map((connection) => connection.pump(false)));
    run.startMeasure(performance.now());
    await Promise.all(connections.map((connection) => connection.pump(true)));
  } finally {
    clearInterval(ticker);
    await Promise.all(connections.map((connection) => connection.close()));
    if (shown) await io.stderr("\r\x1b[K");
  }
  const report = run.report();
  if (config.json) await io.stdout(`${JSON.stringify(report)}\n`);
  else await io.stdout(run.formatReport(report));
  if (run.firstError !== "") await io.stderr(`kv bench: first error: ${run.firstError}\n`);
  return report.errors > 0 ? BENCH_EXIT.errors : BENCH_EXIT.ok;
}

function resolveConfig(options: BenchOptions): Config {
  const config: Config = { ...BENCH_DEFAULTS, durationMs: undefined };
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
async function connectAll(config: Config): Promise<Deno.TcpConn[]> {
  const conns: Deno.TcpConn[] = [];
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

async function connect(config: Config): Promise<Deno.TcpConn> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), CONNECT_TIMEOUT_MS);
  try {
    const conn = await Deno.connect({
      hostname: config.hostname,
      port: config.port,
      transport: "tcp",
      signal: timeout.signal,
    });
    conn.setNoDelay(true);
    return conn;
  } catch (error) {
    throw timeout.signal.aborted ? new Deno.errors.TimedOut("timed out") : error;
  } finally {
    clearTimeout(timer);
  }
}

function closeQuietly(conn: Deno.TcpConn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** What every connection shares: the stop rule, the counts and the histogram. */
class Run {
  readonly config: Config;
  readonly histogram = new Histogram();
  /** Measured requests still to send; Infinity with a duration. */
  remaining = 0;
  /** When sending stops; Infinity with a number of requests. */
  deadline = Infinity;
  /** Answers to measured requests, right or wrong. */
  completed = 0;
  preloaded = 0;
  lastAnswerAt = 0;
  wrongValues = 0;
  errorAnswers = 0;
  unexpectedAnswers = 0;
  missingKeys = 0;
  connectionsLost = 0;
  unanswered = 0;
  firstError = "";
  #measuring = false;
  #phaseStart = 0;
  #measureStart = 0;
  #preloadSeconds = 0;
  #lastTickAt = 0;
  #lastTickCompleted = 0;
  #lastRate = 0;

  constructor(config: Config) {
    this.config = config;
  }

  get errors(): number {
    return this.wrongValues + this.errorAnswers + this.unexpectedAnswers + this.missingKeys +
      this.connectionsLost + this.unanswered;
  }

  startPreload(now: number): void {
    this.#phaseStart = now;
  }

  startMeasure(now: number): void {
    this.#preloadSeconds = (now - this.#phaseStart) / 1000;
    this.#measuring = true;
    this.#measureStart = now;
    this.lastAnswerAt = now;
    this.#lastTickAt = now;
    const { durationMs, requests } = this.config;
    this.remaining = durationMs === undefined ? requests : Infinity;
    this.deadline = durationMs === undefined ? Infinity : now + durationMs;
  }

  /** Gives up on each connection that has waited too long for an answer. */
  checkStall(now: number, connections: BenchConnection[]): void {
    const limit = this.config.stallTimeoutMs;
    for (const connection of connections) {
      if (connection.inFlight > 0 && now - connection.lastReadAt >= limit) {
        connection.lose(`no answer for ${limit / 1000} s`);
      }
    }
  }

  /** Notes an answer that is not the one expected. */
  wrong(op: number, key: number, expected: string, answer: Uint8Array): void {
    const request = `${op === OP_PUT ? "PUT" : "GET"} key:${key}`;
    if (startsWith(answer, ERROR_PREFIX_BYTES)) this.errorAnswers++;
    else if (op === OP_PUT) this.unexpectedAnswers++;
    else if (equalBytes(answer, 0, answer.length, NOT_EXIST_BYTES)) this.missingKeys++;
    else this.wrongValues++;
    this.noteError(`${request}: expected ${quote(expected)}, got ${quote(decoder.decode(answer))}`);
  }

  noteError(text: string): void {
    if (this.firstError === "") this.firstError = text;
  }

  progressLine(now: number): string {
    if (!this.#measuring) {
      return `kv bench: preloading ${this.preloaded}/${this.config.keys} keys`;
    }
    if (now - this.#lastTickAt >= TICK_MS / 2) {
      this.#lastRate = (this.completed - this.#lastTickCompleted) /
        ((now - this.#lastTickAt) / 1000);
      this.#lastTickAt = now;
      this.#lastTickCompleted = this.completed;
    }
    const elapsed = ((now - this.#measureStart) / 1000).toFixed(1);
    const errors = this.errors;
    return `kv bench: ${elapsed} s, ${Math.round(this.#lastRate)} ops/s` +
      (errors > 0 ? `, ${errors} errors` : "");
  }

  report(): BenchReport {
    const { config, histogram } = this;
    const seconds = this.#measuring ? (this.lastAnswerAt - this.#measureStart) / 1000 : 0;
    const us = (ns: number) => Math.round(ns / 100) / 10;
    return {
      host: config.hostname,
      port: config.port,
      connections: config.connections,
      pipeline: config.pipeline,
      requests: this.completed,
      seconds: Math.round(seconds * 1000) / 1000,
      ops_per_s: seconds > 0 ? Math.round(this.completed / seconds) : 0,
      errors: this.errors,
      get_ratio: config.getRatio,
      keys: config.keys,
      value_bytes: config.valueBytes,
      latency_us: {
        p50: us(histogram.percentile(0.5)),
        p90: us(histogram.percentile(0.9)),
        p99: us(histogram.percentile(0.99)),
        p999: us(histogram.percentile(0.999)),
        max: us(histogram.max),
      },
    };
  }

  formatReport(report: BenchReport): string {
    const { config } = this;
    const address = formatAddr({ transport: "tcp", hostname: report.host, port: report.port });
    const { p50, p90, p99, p999, max } = report.latency_us;
    const lines = [
      `kv bench ${address}: ${report.connections} connections, pipeline ${report.pipeline}, ` +
      `${Math.round(report.get_ratio * 1000) / 10}% GET, ${report.keys} keys, ` +
      `${report.value_bytes}-byte values, seed ${config.seed}`,
      `preload: ${this.preloaded} keys in ${this.#preloadSeconds.toFixed(3)} s`,
      `requests: ${report.requests} in ${report.seconds.toFixed(3)} s, errors: ${report.errors}`,
      `throughput: ${report.ops_per_s} ops/s`,
      `latency (us): p50 ${p50}  p90 ${p90}  p99 ${p99}  p99.9 ${p999}  max ${max}`,
    ];
    if (report.errors > 0) {
      lines.push(
        `errors: wrong values ${this.wrongValues}, error answers ${this.errorAnswers}, ` +
          `unexpected answers ${this.unexpectedAnswers}, missing keys ${this.missingKeys}, ` +
          `connections lost ${this.connectionsLost}, unanswered ${this.unanswered}`,
      );
    }
    if (config.pipeline > 1) {
      lines.push(
        `(latency runs from the write that carried a request to its own answer, ` +
          `so it includes waiting behind the ${config.pipeline - 1} before it)`,
      );
    }
    return `${lines.join("\n")}\n`;
  }
}

/**
 * One connection and its share of the work: it owns the keys `id`,
 * `id + connections`, `id + 2 * connections`, ..., and only it writes them,
 * so it knows what each GET must return. The hot loop (read, check answers,
 * refill, one write) works on bytes and typed arrays only.
 */
class BenchConnection {
  readonly #conn: Deno.TcpConn;
  readonly #run: Run;
  readonly #id: number;
  readonly #stride: number;
  readonly #valueBytes: number;
  /** How many keys this connection owns. */
  readonly #owned: number;
  /** The version of each owned key that the last PUT sent holds. */
  readonly #versions: Uint32Array;
  readonly #getThreshold: number;
  readonly #rng: Sfc32;
  // The requests in flight, oldest at #head: the ring's size is a power of two.
  readonly #mask: number;
  readonly #ringOp: Uint8Array;
  readonly #ringIndex: Uint32Array;
  readonly #ringVersion: Uint32Array;
  readonly #ringSentAt: Float64Array;
  #head = 0;
  #count = 0;
  #depth = PRELOAD_DEPTH;
  #measuring = false;
  #preloadNext = 0;
  #in = new Uint8Array(READ_BUFFER_BYTES);
  #inLength = 0;
  // Requests are encoded into #out; while it is being written, new ones go
  // into the other buffer, which it then swaps with.
  #out = new Uint8Array(READ_BUFFER_BYTES);
  #spare = new Uint8Array(READ_BUFFER_BYTES);
  #outLength = 0;
  #writing = false;
  #written: Promise<void> = Promise.resolve();
  #alive = true;

  constructor(conn: Deno.TcpConn, id: number, run: Run) {
    const { connections, keys, valueBytes, pipeline, getRatio, seed } = run.config;
    this.#conn = conn;
    this.#run = run;
    this.#id = id;
    this.#stride = connections;
    this.#valueBytes = valueBytes;
    this.#owned = Math.floor((keys - 1 - id) / connections) + 1;
    this.#versions = new Uint32Array(this.#owned);
    this.#getThreshold = getRatio * TWO_TO_32;
    this.#rng = new Sfc32(seed, id);
    const size = 2 ** Math.ceil(Math.log2(Math.max(pipeline, PRELOAD_DEPTH)));
    this.#mask = size - 1;
    this.#ringOp = new Uint8Array(size);
    this.#ringIndex = new Uint32Array(size);
    this.#ringVersion = new Uint32Array(size);
    this.#ringSentAt = new Float64Array(size);
  }

  /** When this connection last read anything, or its phase began. */
  lastReadAt = 0;

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#count;
  }

  /**
   * Runs one phase until this connection may send no more and has every
   * answer: the preload (each owned key PUT once), or the measurement.
   * Never rejects: a lost connection is counted, not thrown.
   */
  async pump(measuring: boolean): Promise<void> {
    this.#measuring = measuring;
    this.#depth = measuring ? this.#run.config.pipeline : PRELOAD_DEPTH;
    const run = this.#run;
    this.lastReadAt = performance.now();
    this.#refill();
    while (this.#alive && this.#count > 0) {
      let n: number | null;
      try {
        n = await this.#conn.read(
          this.#inLength === 0 ? this.#in : this.#in.subarray(this.#inLength),
        );
      } catch (error) {
        this.lose(error instanceof Error ? error.message : String(error));
        break;
      }
      if (n === null) {
        this.lose("closed by the server");
        break;
      }
      const now = performance.now();
      this.lastReadAt = now;
      this.#inLength += n;
      this.#takeAnswers(now);
      if (measuring) run.lastAnswerAt = now;
      if (this.#alive) this.#refill();
    }
  }

  /** Gives up on this connection: what is in flight is counted as unanswered. */
  lose(reason: string): void {
    if (!this.#alive) return;
    this.#alive = false;
    const run = this.#run;
    run.connectionsLost++;
    run.unanswered += this.#count;
    run.noteError(`connection ${this.#id + 1} lost: ${reason}`);
    this.#count = 0;
    closeQuietly(this.#conn);
  }

  async close(): Promise<void> {
    if (this.#alive) {
      this.#alive = false;
      closeQuietly(this.#conn);
    }
    await this.#written;
  }

  /** Checks every complete answer in the read buffer, keeping a partial one. */
  #takeAnswers(now: number): void {
    const buffer = this.#in;
    const length = this.#inLength;
    const data = length === buffer.length ? buffer : buffer.subarray(0, length);
    let start = 0;
    while (true) {
      const nl = data.indexOf(LF, start);
      if (nl === -1) break;
      this.#answer(buffer, start, nl, now);
      start = nl + 1;
    }
    if (start > 0) {
      if (start < length) buffer.copyWithin(0, start, length);
      this.#inLength = length - start;
    } else if (length === buffer.length) {
      // No right answer is longer than a value, so a line past that is
      // wrong already: stop there rather than buffer it without end.
      if (length > this.#valueBytes + READ_BUFFER_BYTES) {
        this.lose(`an answer line of over ${length} bytes`);
        return;
      }
      const grown = new Uint8Array(buffer.length * 2);
      grown.set(buffer);
      this.#in = grown;
    }
  }

  #answer(buffer: Uint8Array, start: number, end: number, now: number): void {
    const run = this.#run;
    if (this.#count === 0) {
      run.unexpectedAnswers++;
      run.noteError(
        `an answer with no request in flight: ${
          quote(decoder.decode(buffer.subarray(start, end)))
        }`,
      );
      return;
    }
    const slot = this.#head;
    this.#head = (slot + 1) & this.#mask;
    this.#count--;
    const op = this.#ringOp[slot]!;
    const index = this.#ringIndex[slot]!;
    const key = this.#id + this.#stride * index;
    let right: boolean;
    if (op === OP_PUT) {
      right = equalBytes(buffer, start, end, SUCCESS_BYTES);
    } else {
      right = valueMatches(buffer, start, end, this.#valueBytes, key, this.#ringVersion[slot]!);
    }
    if (this.#measuring) {
      run.completed++;
      run.histogram.record(Math.round((now - this.#ringSentAt[slot]!) * 1e6));
    } else if (right) {
      run.preloaded++;
    }
    if (!right) {
      const expected = op === OP_PUT
        ? SUCCESS
        : expectedValue(this.#valueBytes, key, this.#ringVersion[slot]!);
      run.wrong(op, key, expected, buffer.subarray(start, end));
    }
  }

  /** Tops the connection up to its depth with new requests, sent in one write. */
  #refill(): void {
    const run = this.#run;
    const depth = this.#depth;
    if (this.#count >= depth) return;
    const now = performance.now();
    const mask = this.#mask;
    const valueBytes = this.#valueBytes;
    const versions = this.#versions;
    while (this.#count < depth) {
      let op: number;
      let index: number;
      if (this.#measuring) {
        if (run.remaining <= 0 || now >= run.deadline) break;
        run.remaining--;
        op = this.#rng.next() < this.#getThreshold ? OP_GET : OP_PUT;
        index = this.#rng.next() % this.#owned;
      } else {
        if (this.#preloadNext >= this.#owned) break;
        op = OP_PUT;
        index = this.#preloadNext++;
      }
      const key = this.#id + this.#stride * index;
      if (this.#outLength + valueBytes + REQUEST_OVERHEAD_BYTES > this.#out.length) {
        this.#growOut(valueBytes + REQUEST_OVERHEAD_BYTES);
      }
      const out = this.#out;
      let at = this.#outLength;
      let version: number;
      if (op === OP_PUT) {
        version = versions[index]! + 1;
        versions[index] = version;
        out.set(PUT_PREFIX, at);
        at = writeDigits(out, at + PUT_PREFIX.length, key);
        out[at++] = 0x2c; // ","
        out[at++] = 0x20; // " "
        writeValue(out, at, valueBytes, key, version);
        at += valueBytes;
      } else {
        version = versions[index]!;
        out.set(GET_PREFIX, at);
        at = writeDigits(out, at + GET_PREFIX.length, key);
      }
      out[at++] = LF;
      this.#outLength = at;
      const slot = (this.#head + this.#count) & mask;
      this.#ringOp[slot] = op;
      this.#ringIndex[slot] = index;
      this.#ringVersion[slot] = version;
      this.#ringSentAt[slot] = now;
      this.#count++;
    }
    if (!this.#writing && this.#outLength > 0) {
      this.#writing = true;
      this.#written = this.#drain();
    }
  }

  #growOut(need: number): void {
    const grown = new Uint8Array(Math.max(this.#out.length * 2, this.#outLength + need));
    grown.set(this.#out.subarray(0, this.#outLength));
    this.#out = grown;
  }

  /**
   * Writes #out until nothing is left. It runs beside the read loop, not in
   * it: a loop that awaited its writes could deadlock with a server that
   * waits to write big answers we are not reading.
   */
  async #drain(): Promise<void> {
    try {
      while (this.#outLength > 0 && this.#alive) {
        const bytes = this.#out;
        const length = this.#outLength;
        this.#out = this.#spare;
        this.#spare = bytes;
        this.#outLength = 0;
        for (let written = 0; written < length;) {
          written += await this.#conn.write(bytes.subarray(written, length));
        }
      }
    } catch (error) {
      this.lose(error instanceof Error ? error.message : String(error));
    } finally {
      this.#writing = false;
    }
  }
}

/**
 * Writes the value of `key` at `version`: `v` padding, then `VERSION.KEY`,
 * `valueBytes` long in all; when that is too short, only its last bytes.
 */
function writeValue(
  out: Uint8Array,
  at: number,
  valueBytes: number,
  key: number,
  version: number,
): void {
  let p = digitsBefore(out, at, at + valueBytes, key);
  if (p === at) return;
  out[--p] = DOT;
  p = digitsBefore(out, at, p, version);
  out.fill(PAD, at, p);
}

/**
 * Writes the decimal digits of `n` so that they end just before `end`, but
 * none before `at`; returns where they start.
 */
function digitsBefore(out: Uint8Array, at: number, end: number, n: number): number {
  let p = end;
  do {
    if (p === at) return p;
    const digit = n % 10;
    out[--p] = ZERO + digit;
    n = (n - digit) / 10;
  } while (n > 0);
  return p;
}

/**
 * Whether `buffer[start, end)` is the value {@linkcode writeValue} writes:
 * it writes the expected value and compares, so the two cannot drift apart.
 */
function valueMatches(
  buffer: Uint8Array,
  start: number,
  end: number,
  valueBytes: number,
  key: number,
  version: number,
): boolean {
  if (end - start !== valueBytes) return false;
  if (expected.length < valueBytes) expected = new Uint8Array(valueBytes);
  writeValue(expected, 0, valueBytes, key, version);
  for (let i = 0; i < valueBytes; i++) if (buffer[start + i] !== expected[i]) return false;
  return true;
}

// valueMatches()'s scratch space, grown to the largest value checked.
let expected = new Uint8Array(64);

function expectedValue(valueBytes: number, key: number, version: number): string {
  const bytes = new Uint8Array(valueBytes);
  writeValue(bytes, 0, valueBytes, key, version);
  return decoder.decode(bytes);
}

/** Writes `n` in decimal at `at`; returns where it ends. */
function writeDigits(out: Uint8Array, at: number, n: number): number {
  let digits = 1;
  for (let power = 10; power <= n; power *= 10) digits++;
  const end = at + digits;
  let p = end;
  do {
    const digit = n % 10;
    out[--p] = ZERO + digit;
    n = (n - digit) / 10;
  } while (n > 0);
  return end;
}

function equalBytes(buffer: Uint8Array, start: number, end: number, expected: Uint8Array): boolean {
  if (end - start !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) {
    if (buffer[start + i] !== expected[i]) return false;
  }
  return true;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && equalBytes(bytes, 0, prefix.length, prefix);
}

function quote(text: string): string {
  return JSON.stringify(text.length > SAMPLE_CHARS ? `${text.slice(0, SAMPLE_CHARS)}...` : text);
}

/**
 * sfc32, a small fast PRNG on 32-bit integers (JS has no cheap 64-bit ones):
 * each connection gets its own stream from the seed and its number, so a
 * run's request mix does not depend on the order answers arrive in.
 */
class Sfc32 {
  #a: number;
  #b: number;
  #c: number;
  #d = 1;

  constructor(seed: number, stream: number) {
    this.#a = 0x9e3779b9;
    this.#b = seed >>> 0;
    this.#c = (stream * 0x85ebca6b) >>> 0;
    for (let i = 0; i < 16; i++) this.next(); // Mixes the seed in.
  }

  /** The next number, an integer from 0 to 2^32 - 1. */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }
}

// Log-linear buckets: exact below SUB_BUCKETS ns, then SUB_BUCKETS buckets
// per power of two, so a bucket's midpoint is within 0.4% of any value in it.
const SUB_BITS = 7;
const SUB_BUCKETS = 2 ** SUB_BITS;

/** A latency histogram in nanoseconds, with the exact maximum beside it. */
class Histogram {
  #counts = new Float64Array((64 - SUB_BITS) * SUB_BUCKETS);
  #total = 0;
  #max = 0;

  get max(): number {
    return this.#max;
  }

  record(ns: number): void {
    if (ns > this.#max) this.#max = ns;
    this.#total++;
    this.#counts[bucketOf(ns)]!++;
  }

  /** The value at quantile `q` (0 to 1): its bucket's midpoint, at most the max. */
  percentile(q: number): number {
    if (this.#total === 0) return 0;
    const target = Math.max(1, Math.ceil(q * this.#total));
    let seen = 0;
    for (let index = 0; index < this.#counts.length; index++) {
      seen += this.#counts[index]!;
      if (seen >= target) return Math.min(bucketMid(index), this.#max);
    }
    return this.#max;
  }
}

function bucketOf(ns: number): number {
  if (ns < SUB_BUCKETS) return ns < 0 ? 0 : ns;
  if (ns < 2 ** 31) {
    const shift = 31 - Math.clz32(ns) - SUB_BITS;
    return ((shift + 1) << SUB_BITS) + (ns >>> shift) - SUB_BUCKETS;
  }
  const shift = Math.floor(Math.log2(ns)) - SUB_BITS;
  return (shift + 1) * SUB_BUCKETS + Math.floor(ns / 2 ** shift) - SUB_BUCKETS;
}

function bucketMid(index: number): number {
  if (index < SUB_BUCKETS) return index;
  const shift = (index >> SUB_BITS) - 1;
  const low = ((index & (SUB_BUCKETS - 1)) + SUB_BUCKETS) * 2 ** shift;
  return low + (2 ** shift - 1) / 2;
}
