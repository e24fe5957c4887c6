/**
 * {@linkcode runCheck}: a conformance run. It reaches the server once (or
 * says it cannot), plays each rule of the level in turn on connections of
 * its own, and at the end deletes the keys it wrote. It knows the server
 * only as an address: raw TCP, every wait bounded.
 *
 * @module
 */

import type { ClientTls } from "../net/connect.ts";
import { describeConnectError } from "../client/errors.ts";
import { formatAddr } from "../net/addr.ts";
import { Heard, type Outcome, type PlayConfig, type Status } from "./context.ts";
import { encodeData, playRule } from "./play.ts";
import { AuthRefusedError, Probe } from "./probe.ts";
import type { Level, Rule } from "./rule.ts";
import { isTimeout } from "./messages.ts";
import { selectRules } from "./rules.ts";

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
  /** Called once the server is reached, before the first rule. */
  onStart?: (plan: CheckPlan) => void | Promise<void>;
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
} as const;

/** What a run will do, known before its first rule. */
export interface CheckPlan {
  /** `host:port`. */
  readonly address: string;
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
  /** Keys written, and how many of them the cleanup deleted. */
  readonly written: number;
  readonly deleted: number;
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
}

/** The server could not be reached at all: nothing was checked. */
export class CheckUnreachableError extends Error {
  /** `message` names the address and says why. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CheckUnreachableError";
  }
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
  const rules = selectRules(level, only);
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
  };
  const address = formatAddr({ hostname, port });
  try {
    await (await Probe.open(hostname, port, config)).close();
  } catch (error) {
    const why = error instanceof Deno.errors.ConnectionRefused
      ? "connection refused (is the server running, on that port?)"
      : error instanceof AuthRefusedError
      ? `${error.message} (is --password-file the server's password?)`
      : describeConnectError(error);
    throw new CheckUnreachableError(
      `cannot connect to ${address}: ${why}`,
      { cause: error },
    );
  }
  const plan: CheckPlan = { address, level, only, rules, prefix: config.prefix };
  await options.onStart?.(plan);
  const startedAt = new Date();
  const start = performance.now();
  const results: RuleResult[] = [];
  for (const rule of rules) {
    if (options.signal?.aborted) break;
    const ruleStart = performance.now();
    const outcome = await playRule(rule, config);
    const result = { rule, ms: performance.now() - ruleStart, ...outcome };
    results.push(result);
    await options.onResult?.(result);
  }
  const textbook = rules.every((rule) => rule.level === "assignment");
  // A server that got no answer out for most textbook requests may be
  // right by the contract and waiting for a \n: ask it once with one.
  const timedOut =
    results.filter((result) => result.failure !== undefined && isTimeout(result.failure.reason))
      .length;
  const waitsForNewline = textbook && timedOut >= 2 && timedOut * 2 >= results.length &&
    await answersWithNewline(config);
  const concurrentFailed = results.some((result) =>
    result.rule.id === "conn.concurrent" && result.status === "fail"
  );
  // Not when most rules got nothing at all: that server is not serving anyone.
  const quiet = timedOut >= 2 && timedOut * 2 >= results.length;
  const oneAtATime = results.length > 0 && !options.signal?.aborted && !quiet &&
    config.password === undefined && (textbook || concurrentFailed) &&
    await servesOneAtATime(config, textbook && !waitsForNewline);
  const deleted = await cleanUp(config, textbook && !waitsForNewline);
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
    waitsForNewline,
    notRun: rules.length - results.length,
    oneAtATime,
  };
}

/** Whether a fresh connection gets an answer line to a request that ends with `\n`. */
async function answersWithNewline(config: PlayConfig): Promise<boolean> {
  let probe: Probe | undefined;
  try {
    probe = await Probe.open(config.hostname, config.port, config);
    const request = encodeData("GET, {k}nobody\n", config.prefix);
    if (await probe.write(request, config.timeoutMs) !== "ok") return false;
    const read = await probe.readLine(config.timeoutMs, config.pauseMs);
    return read.kind === "line";
  } catch {
    return false;
  } finally {
    await probe?.close();
  }
}

/**
 * Whether a second client's request waits, unanswered, while a first client
 * stays connected saying nothing, and is answered once the first leaves:
 * a server that serves one client at a time (accept, then that client until
 * it goes). A server that answers neither is not one; it is only stuck.
 */
async function servesOneAtATime(config: PlayConfig, textbook: boolean): Promise<boolean> {
  let first: Probe | undefined;
  let second: Probe | undefined;
  const whole = (got: Uint8Array) => got.at(-1) === 0x0a;
  try {
    first = await Probe.open(config.hostname, config.port, config);
    second = await Probe.open(config.hostname, config.port, config);
    const request = encodeData(`GET, {k}nobody${textbook ? "" : "\n"}`, config.prefix);
    if (await second.write(request, config.timeoutMs) !== "ok") return false;
    // As long as any rule waits: a slow server that serves many at once is not one.
    const early = await second.readQuiet(config.timeoutMs, config.pauseMs, whole);
    if (early.kind !== "timeout" || early.got.length > 0) return false;
    await first.close();
    first = undefined;
    const late = await second.readQuiet(config.timeoutMs, config.pauseMs, whole);
    return late.got.length > 0;
  } catch {
    return false;
  } finally {
    await first?.close();
    await second?.close();
  }
}

function randomPrefix(): string {
  const digits = crypto.getRandomValues(new Uint8Array(2));
  return `kvcheck:${[...digits].map((byte) => byte.toString(16).padStart(2, "0")).join("")}:`;
}

/**
 * Deletes every key the run wrote, the way its rules talk (a fresh
 * connection per request for a textbook server). Returns how many are
 * gone. `Success!` and `Not exist!` mean so, and so does any other answer
 * that is not an error (`Sucess!`, `Success! ` with print's space): the
 * server took the DELETE. A key that got no answer, because the server
 * closed the connection, is asked again once on a new one; one that got an
 * error stays, and the report counts it. Two keys in a row with no answer
 * end the cleanup: the server has stopped answering. The empty key (err.empty-key's PUT)
 * goes last, and only if the server holds one; if not, it was never
 * written. Then one LIST: a key of ours it still shows was not deleted,
 * whatever its DELETE got (a server that stores " key" answers `Not exist!`
 * to `DELETE, key`).
 */
async function cleanUp(config: PlayConfig, textbook: boolean): Promise<number> {
  let deleted = 0;
  let probe: Probe | undefined;
  // `list`: the answer is many lines, up to an empty one (or a pause).
  const askOnce = async (request: string, list = false): Promise<string | undefined> => {
    if (textbook) await probe?.close();
    if (probe === undefined || textbook) {
      probe = await Probe.open(config.hostname, config.port, config);
    }
    const bytes = encodeData(`${request}${textbook ? "" : "\n"}`, config.prefix);
    if (await probe.write(bytes, config.timeoutMs) !== "ok") return undefined;
    const read = list
      ? await probe.readQuiet(config.timeoutMs, config.pauseMs, wholeList())
      : textbook
      ? await probe.readQuiet(config.timeoutMs, config.pauseMs, (got) => got.at(-1) === 0x0a)
      : await probe.readLine(config.timeoutMs, config.pauseMs);
    const answer = "raw" in read ? read.raw : read.got;
    if (answer.length === 0) return undefined;
    return new TextDecoder().decode(answer).replace(/(\r?\n)+$/, "");
  };
  // A server that closes after each answer (or dropped us) is asked again on a new connection.
  const ask = async (request: string): Promise<string | undefined> => {
    const answer = await askOnce(request).catch(() => undefined);
    if (answer !== undefined || textbook) return answer;
    await probe?.close();
    probe = undefined;
    return await askOnce(request).catch(() => undefined);
  };
  const keys = [...config.written].sort((a, b) => Number(a === "") - Number(b === ""));
  // Two keys in a row with no answer at all: the server has stopped answering.
  let unanswered = 0;
  try {
    for (const key of keys) {
      if (unanswered >= 2) break;
      if (key === "") {
        const held = await ask("GET, ");
        if (held === undefined) break;
        if (held === "Not exist!" || isError(held)) {
          config.written.delete(key); // Refused: it holds none.
          continue;
        }
      }
      const answer = await ask(`DELETE, ${key}`);
      unanswered = answer === undefined ? unanswered + 1 : 0;
      if (answer !== undefined && !isError(answer)) deleted++;
    }
    // A server may answer a DELETE and keep the key (one that looks up
    // " key" where we sent "key"): what LIST still shows of ours is left.
    if (unanswered < 2 && deleted > 0) {
      // On a fresh connection: the server may have closed the last one.
      await probe?.close();
      probe = undefined;
      const listed = await askOnce("LIST", true).catch(() => undefined);
      if (listed !== undefined) {
        const ours = new Set(listed.split(/\r?\n/).filter((line) => line.includes(config.prefix)));
        deleted = Math.max(0, Math.min(deleted, config.written.size - ours.size));
      }
    }
  } finally {
    await probe?.close();
  }
  return deleted;
}

/**
 * A test of whether a LIST's answer is whole: its first empty line is its
 * last. One with an empty line between pairs (a textbook server's) ends at a
 * pause. Each call looks only at the bytes that came since the last.
 */
function wholeList(): (bytes: Uint8Array) => boolean {
  let scanned = 0; // Bytes before this hold no "\n\n" or "\n\r\n".
  let end = -1; // Where the first empty line ends.
  return (bytes) => {
    for (let i = Math.max(1, scanned); end === -1 && i < bytes.length; i++) {
      if (bytes[i] !== 0x0a) continue;
      if (bytes[i - 1] === 0x0a || (i >= 2 && bytes[i - 1] === 0x0d && bytes[i - 2] === 0x0a)) {
        end = i + 1;
      }
    }
    scanned = bytes.length;
    return end === bytes.length;
  };
}

/** An answer that says the request was refused: `Error: ...`, or a textbook `Wrong request!`. */
function isError(answer: string): boolean {
  return /^\s*(error|wrong)/i.test(answer);
}
