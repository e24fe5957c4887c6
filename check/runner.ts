/**
 * {@linkcode runCheck}: a conformance run. It picks how to reach the server
 * (its {@linkcode Transport}: raw TCP, `tcp_transport.ts`, or with `udp`
 * datagrams, `udp_transport.ts`), reaches it once (or says it cannot),
 * plays each rule of the level in turn on connections of its own, and at
 * the end deletes the keys it wrote (`cleanup.ts`). It knows the server
 * only as an address, every wait bounded.
 *
 * @module
 */

import type { ClientTls } from "../net/connect.ts";
import { formatAddr } from "../net/addr.ts";
import {
  CheckerOutOfDescriptors,
  CheckHaltedError,
  Heard,
  type Outcome,
  outOfDescriptorsText,
  type PlayConfig,
  type Status,
} from "./context.ts";
import { encodeData, playRule } from "./play.ts";
import { answersWithNewline, greetingOf, servesOneAtATime } from "./questions.ts";
import type { Level, Rule, Text } from "./rule.ts";
import { isTimeout } from "./messages.ts";
import { cleanUp, type LeftKey } from "./cleanup.ts";
import { selectRules } from "./rules.ts";
import type { AnswerSource, Transport } from "./transport.ts";
import { TCP } from "./tcp_transport.ts";
import { UdpTransport } from "./udp_transport.ts";

// The type of CheckRun.left, exported from here as it was before cleanup.ts.
export type { LeftKey };
// Thrown by runCheck(), exported from here as it was before transport.ts.
export { CheckUnreachableError } from "./transport.ts";
// Thrown by runCheck() when the checker's own side stops it.
export { CheckHaltedError } from "./context.ts";

/** Whether every rule is the course's (sent as its client sends them). */
function textbookRun(rules: readonly Rule[]): boolean {
  return rules.every((rule) => rule.level === "assignment");
}

/** Options of {@linkcode runCheck}. */
export interface CheckOptions {
  /** The server's address. @default {"127.0.0.1"} */
  hostname?: string;
  /** The server's port. @default {12000} */
  port?: number;
  /** Which rules. @default {"contract"} */
  level?: Level;
  /** Only the rules whose ids match these patterns (`*` for anything), of any level. @default {[]} */
  only?: readonly string[];
  /** The longest any wait may take: "no answer within 2 s". @default {2000} */
  timeoutMs?: number;
  /** Quiet this long ends a textbook answer, or a line that will not get its `\n`. @default {200} */
  pauseMs?: number;
  /** The server's longest request line, for `load.long-line`. @default {1048576} */
  maxLineBytes?: number;
  /** Every key written starts with it. @default {"kvcheck:" and four random hex digits and ":"} */
  prefix?: string;
  /** Speak TLS, trusting these CA certificates besides the system's. */
  tls?: ClientTls;
  /** A password: every connection sends `AUTH` with it before its rule's requests. */
  password?: string;
  /**
   * Speak UDP: each request a datagram, its answer a datagram; the rules
   * about connections are left out. Not with `tls` or `password`.
   * @default {false}
   */
  udp?: boolean;
  /** With `udp`: how many times to send a request again when no answer comes in time. @default {2} */
  retries?: number;
  /** Called once the server is reached, before the first rule. */
  onStart?: (plan: CheckPlan) => void | Promise<void>;
  /**
   * Called before the first rule when the first request, sent as the
   * course's client sends it (without `\n`), was answered only once its
   * `\n` followed: every textbook rule will then wait out its timeout.
   */
  onWaitsForNewline?: () => void | Promise<void>;
  /** Called after each rule. */
  onResult?: (result: RuleResult) => void | Promise<void>;
  /** Once aborted, no rule starts: the run ends after the one under way, and still cleans up. */
  signal?: AbortSignal;
}

/** Defaults of {@linkcode CheckOptions}, shared with the command line's help. */
export const CHECK_DEFAULTS = {
  hostname: "127.0.0.1",
  port: 12000,
  level: "contract",
  timeoutMs: 2_000,
  pauseMs: 200,
  maxLineBytes: 1_048_576,
  retries: 2,
} as const;

/** What a run will do, known before its first rule. */
export interface CheckPlan {
  /** `host:port`. */
  readonly address: string;
  /** Over UDP (`--udp`). @default {false} */
  readonly udp?: boolean;
  /** What the transport says under the header (over UDP: the rules of the level left out), if anything. */
  readonly headerNote?: Text;
  readonly level: Level;
  readonly only: readonly string[];
  readonly rules: readonly Rule[];
  readonly prefix: string;
}

/** How one rule went. */
export interface RuleResult extends Outcome {
  readonly rule: Rule;
  /** How long it took. */
  readonly ms: number;
}

/** A whole run. */
export interface CheckRun extends CheckPlan {
  readonly startedAt: Date;
  readonly ms: number;
  readonly results: readonly RuleResult[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  /** Keys written, and how many of them are gone after the cleanup. */
  readonly written: number;
  readonly deleted: number;
  /** Of those gone, the keys the server did not hold (DELETE answered `Not exist!`). */
  readonly absent: number;
  /** The keys that may be left, and why the cleanup thinks so. */
  readonly left: readonly LeftKey[];
  /**
   * The textbook requests (no `\n`) mostly got no answer, and the same kind
   * of request with a `\n` did: the server frames by newline, as the
   * contract does, and does not take a paused line as a request.
   */
  readonly waitsForNewline: boolean;
  /** Rules that did not run because the run was stopped ({@linkcode CheckOptions.signal}). */
  readonly notRun: number;
  /**
   * The server serves one client at a time: a second client's request got
   * no answer while a first stayed connected, and one once it left. Asked
   * after an assignment-level run, and after conn.concurrent failed.
   */
  readonly oneAtATime: boolean;
  /**
   * The cleanup's requests, after the rules, got an answer: however many of
   * the last rules got none, the server had not stopped answering everyone.
   */
  readonly answeredCleanup: boolean;
  /**
   * The server answered nothing to the run's first request, and the run
   * stopped there, before any rule (none in `results`, all counted in
   * `notRun`) and before any write.
   */
  readonly noAnswer?: NoAnswer;
  /**
   * What the server sent a new connection before any request (a greeting,
   * taken for the first request's answer; or, if it holds an `Error:` line,
   * a refusal such as `Error: too many connections`, which the hints do not
   * take for one). Asked, after the rules, only when a rule got a wrong answer.
   */
  readonly greeting?: Uint8Array;
}

/**
 * The run's first request, one that writes nothing, got not a byte back
 * for twice the timeout, its connection staying open: most likely a server
 * that serves one client at a time while another client holds it (its
 * connections wait, taken by the kernel, unanswered), else one that reads
 * and never answers, or one slower than the timeout.
 */
export interface NoAnswer {
  /** The request, as first sent (with its `\n`, unless `newlineAfter`). */
  readonly request: string;
  /** It went without `\n` (as the course's client sends), then a `\n` after it, each waited for. */
  readonly newlineAfter: boolean;
  /** The request sent after it, on the same connection, in case only a missing key went unanswered. */
  readonly followUp: string;
  /** How long it waited, in all. */
  readonly ms: number;
}

/**
 * Runs the rules of a level against a server. Throws
 * {@linkcode CheckUnreachableError} if it cannot connect at all, and
 * `RangeError` for an `only` pattern that matches no rule.
 */
export async function runCheck(options: CheckOptions = {}): Promise<CheckRun> {
  const hostname = options.hostname ?? CHECK_DEFAULTS.hostname;
  const port = options.port ?? CHECK_DEFAULTS.port;
  const level = options.level ?? CHECK_DEFAULTS.level;
  const only = options.only ?? [];
  const transport = transportOf(options);
  const rules = selectRules(level, only, transport.name);
  if (
    options.password !== undefined &&
    rules.every((rule) => rule.level === "assignment" || rule.unframed)
  ) {
    // Each would be skipped: a run that checks nothing must not read as a pass.
    throw new RangeError(
      "with --password-file no rule of this selection can run: they need a connection that has " +
        "never sent \\n, and AUTH sends one (use --level contract or full)",
    );
  }
  const config: PlayConfig = {
    hostname,
    port,
    timeoutMs: options.timeoutMs ?? CHECK_DEFAULTS.timeoutMs,
    pauseMs: options.pauseMs ?? CHECK_DEFAULTS.pauseMs,
    maxLineBytes: options.maxLineBytes ?? CHECK_DEFAULTS.maxLineBytes,
    prefix: options.prefix ?? randomPrefix(),
    written: new Set(),
    tls: options.tls,
    password: options.password,
    heard: new Heard(),
    transport,
  };
  const address = formatAddr({ hostname, port });
  await transport.reach(config);
  const plan: CheckPlan = {
    address,
    udp: options.udp ?? false,
    headerNote: transport.headerNote(level, only),
    level,
    only,
    rules,
    prefix: config.prefix,
  };
  await options.onStart?.(plan);
  const startedAt = new Date();
  const start = performance.now();
  // A server that answers nobody would fail every rule, each after its
  // timeout, and take the rules' writes later, after the cleanup: one
  // request that writes nothing first. With a password, AUTH was answered; without
  // connections (UDP), reach() asked it already.
  const first = config.password === undefined && !options.signal?.aborted && transport.connections
    ? await askFirst(config, rules.some((rule) => rule.level === "assignment"))
    : undefined;
  const noAnswer = first === "after-newline" ? undefined : first;
  if (first === "after-newline") await options.onWaitsForNewline?.();
  if (noAnswer !== undefined) {
    return {
      ...plan,
      startedAt,
      ms: performance.now() - start,
      results: [],
      passed: 0,
      failed: 0,
      skipped: 0,
      written: 0,
      deleted: 0,
      absent: 0,
      left: [],
      waitsForNewline: false,
      notRun: rules.length,
      oneAtATime: false,
      answeredCleanup: false,
      noAnswer,
    };
  }
  const results: RuleResult[] = [];
  for (const rule of rules) {
    if (options.signal?.aborted) break;
    const ruleStart = performance.now();
    let outcome: Outcome;
    try {
      outcome = await playRule(rule, config);
    } catch (error) {
      if (!(error instanceof CheckerOutOfDescriptors)) throw error;
      // The rule's connections are closed by now: the keys written so far can go.
      const { left } = await cleanUp(config, !transport.connections || textbookRun(rules)).catch(
        () => ({ left: [] }),
      );
      throw new CheckHaltedError(outOfDescriptorsText(rule.id, error.message, left.length), {
        cause: error,
      });
    }
    const result = { rule, ms: performance.now() - ruleStart, ...outcome };
    results.push(result);
    await options.onResult?.(result);
  }
  const textbook = textbookRun(rules);
  // A server that got no answer out for most textbook requests may be
  // right by the contract and waiting for a \n: ask it once with one.
  const timedOut =
    results.filter((result) => result.failure !== undefined && isTimeout(result.failure.reason))
      .length;
  // Without connections (UDP), a datagram's end ends its last line: no line waits for its \n.
  const waitsForNewline = transport.connections && textbook && timedOut >= 1 &&
    timedOut * 2 >= results.length && await answersWithNewline(config);
  const concurrentFailed = results.some((result) =>
    result.rule.id === "conn.concurrent" && result.status === "fail"
  );
  // Not when most rules got nothing at all: that server is not serving anyone.
  const quiet = timedOut >= 2 && timedOut * 2 >= results.length;
  const oneAtATime = results.length > 0 && !options.signal?.aborted && !quiet &&
    transport.connections &&
    config.password === undefined && (textbook || concurrentFailed) &&
    await servesOneAtATime(config, textbook && !waitsForNewline);
  // A wrong answer may be a greeting the server sent before any request: asked only then.
  const wrongAnswer = results.some((result) => (result.failure?.got?.length ?? 0) > 0);
  const greeting = wrongAnswer && !options.signal?.aborted && !quiet && transport.connections &&
      config.password === undefined
    ? await greetingOf(config)
    : undefined;
  // Over UDP a datagram's end ends its last line: without \n, as the course's client sends.
  const unframed = !transport.connections || (textbook && !waitsForNewline);
  const { deleted, absent, left, answered } = await cleanUp(config, unframed);
  const count = (status: Status) => results.filter((result) => result.status === status).length;
  return {
    ...plan,
    startedAt,
    ms: performance.now() - start,
    results,
    passed: count("pass"),
    failed: count("fail"),
    skipped: count("skip"),
    written: config.written.size,
    deleted,
    absent,
    left,
    waitsForNewline,
    notRun: rules.length - results.length,
    oneAtATime,
    answeredCleanup: answered,
    greeting,
  };
}

/**
 * Asks `GET` of a key of the run's that does not exist, on a connection of
 * its own, and waits for any byte back: up to twice the timeout (a server
 * whose first answer is slow is still checked). `unframed`: as the course's
 * client sends it, without `\n`, then (for a server framed by `\n`) the
 * `\n`, each waited for one timeout. A server silent to that may only be
 * one that answers a missing key with nothing (a common mistake, for its
 * rule to tell): `LIST` and an unknown command follow, in one write on the
 * same connection, for one timeout more. {@linkcode NoAnswer} only if nothing came to either and the
 * connection stayed open; a refusal or a close is left to the rules to tell.
 * `"after-newline"` if the unframed request got nothing until its `\n`.
 */
async function askFirst(
  config: PlayConfig,
  unframed: boolean,
): Promise<NoAnswer | "after-newline" | undefined> {
  const request = `GET, ${config.prefix}nobody`;
  const sends: [string, number][] = unframed
    ? [[request, config.timeoutMs], ["\n", config.timeoutMs]]
    : [[`${request}\n`, 2 * config.timeoutMs]];
  sends.push([FOLLOW_UP, config.timeoutMs]);
  let probe: AnswerSource | undefined;
  try {
    probe = await config.transport.open(config);
    config.heard.add(probe); // Its answer is one heard since the first connection.
    for (const [index, [bytes, waitMs]] of sends.entries()) {
      if (await probe.write(encodeData(bytes, config.prefix), config.timeoutMs) !== "ok") {
        return undefined;
      }
      const end = await probe.readEnd(waitMs);
      if (end === "timeout") continue;
      // Something came once the \n was sent (not a close: that is the rules' to tell).
      return unframed && index === 1 && end !== "eof" ? "after-newline" : undefined;
    }
    return {
      request: sends[0]![0],
      newlineAfter: unframed,
      followUp: FOLLOW_UP,
      ms: sends.reduce((sum, [, waitMs]) => sum + waitMs, 0),
    };
  } catch {
    return undefined;
  } finally {
    await probe?.close();
  }
}

// The first request's second try, in one write: read-only, and answered by
// any server that lists, or that answers an unknown command (as the
// assignment asks: a.unknown-command). LIST alone is not enough: a server
// silent to a missing key is often silent to LIST of an empty store too
// ("\n".join() of no pairs sends nothing), and was taken for a held one.
const FOLLOW_UP = "LIST\nHELLO\n";

/**
 * The run's transport, as `options` say: over UDP with `udp` (neither TLS
 * nor a password then), else over TCP. A new transport is a line here.
 */
function transportOf(options: CheckOptions): Transport {
  if (!options.udp) return TCP;
  if (options.tls !== undefined || options.password !== undefined) {
    // PROTOCOL.md, Datagrams: no connection to authenticate or encrypt.
    throw new RangeError(`cannot use ${options.tls ? "TLS" : "a password"} with UDP`);
  }
  return new UdpTransport(options.retries ?? CHECK_DEFAULTS.retries);
}

function randomPrefix(): string {
  const digits = crypto.getRandomValues(new Uint8Array(2));
  return `kvcheck:${[...digits].map((byte) => byte.toString(16).padStart(2, "0")).join("")}:`;
}
