/**
 * What a bench run counts and how it reports: the shared tally of every
 * connection ({@linkcode Tally}), the latency histogram, the live progress
 * line and the final report (text or JSON).
 *
 * @module
 */

import { formatAddr } from "../net/addr.ts";
import { Histogram } from "./histogram.ts";
import type { BenchConfig } from "./run.ts";
import { equalBytes } from "../net/bytes.ts";
import {
  decode,
  ERROR_PREFIX_BYTES,
  NOT_EXIST_BYTES,
  OP_PUT,
  quote,
  startsWith,
} from "./workload.ts";

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

/**
 * Whether an answer is a RESP error, `-` and a capital (`-ERR unknown command
 * 'PUT,'`, `-NOAUTH ...`): how Redis answers a line of kv's protocol. No
 * answer of kv's starts with `-`, and no value kv bench writes does.
 */
function isRespError(answer: Uint8Array): boolean {
  const second = answer[1];
  return answer[0] === 0x2d && second !== undefined && second >= 0x41 && second <= 0x5a;
}

/** `1 key`, `2 keys`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** How often the progress line is redrawn, and stalls are looked for. */
export const TICK_MS = 250;

/** What every connection shares: the stop rule, the counts and the histogram. */
export class Tally {
  readonly config: BenchConfig;
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
  /** Whether a wrong answer was a RESP error (`-ERR ...`): the server speaks Redis's protocol. */
  respAnswered = false;
  #measuring = false;
  #phaseStart = 0;
  #measureStart = 0;
  #preloadSeconds = 0;
  #lastTickAt = 0;
  #lastTickCompleted = 0;
  #lastRate = 0;

  constructor(config: BenchConfig) {
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

  /** Notes an answer that is not the one expected. */
  wrong(op: number, key: number, expected: string, answer: Uint8Array): void {
    const request = `${op === OP_PUT ? "PUT" : "GET"} key:${key}`;
    if (isRespError(answer)) this.respAnswered = true;
    if (startsWith(answer, ERROR_PREFIX_BYTES)) this.errorAnswers++;
    else if (op === OP_PUT) this.unexpectedAnswers++;
    else if (equalBytes(answer, 0, answer.length, NOT_EXIST_BYTES)) this.missingKeys++;
    else this.wrongValues++;
    this.noteError(`${request}: expected ${quote(expected)}, got ${quote(decode(answer))}`);
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
    const address = formatAddr({ hostname: report.host, port: report.port });
    const { p50, p90, p99, p999, max } = report.latency_us;
    const lines = [
      `kv bench ${address}: ${
        count(report.connections, "connection")
      }, pipeline ${report.pipeline}, ` +
      `${Math.round(report.get_ratio * 1000) / 10}% GET, ${report.keys} keys, ` +
      `${report.value_bytes}-byte values, seed ${config.seed}`,
      `preload: ${count(this.preloaded, "key")} in ${this.#preloadSeconds.toFixed(3)} s`,
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
