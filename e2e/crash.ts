/**
 * Crash rounds: the proof that `kv serve --data` keeps what it
 * acknowledged. Each round loads a real server process with pipelined PUTs
 * and DELETEs from several connections, kills it with SIGKILL (kill -9) at
 * a random moment, restarts it on the same file, and checks every key
 * against what was acknowledged: an acknowledged PUT's value is there (or a
 * later one sent after it), an acknowledged DELETE stays deleted (unless a
 * later PUT was sent). Used by e2e/crash_e2e.ts (CI) and e2e/crash_soak.ts
 * (more rounds, by hand).
 *
 * @module
 */

import { Sfc32 } from "../bench/random.ts";
import { closeQuietly, writeAll } from "../net/conn.ts";
import type { FsyncMode } from "../store/log.ts";
import { type KvProcess, startKv, within } from "../testing/mod.ts";

/** Keys per connection. */
const KEYS_PER_CONNECTION = 64;
/** The earliest a kill comes after the load starts, in ms. */
const MIN_KILL_MS = 50;
/** `--compact-min-bytes` of the server: small, so kills land in compactions too. */
const COMPACT_MIN_BYTES = 65_536;

/** How crash rounds run. */
export interface CrashOptions {
  /** The data folder (the server gets read and write permission on it). */
  dir: string;
  fsync: FsyncMode;
  /** Kill points. */
  rounds: number;
  /** Client connections, each with its own keys. @default {4} */
  connections?: number;
  /** Requests in flight per connection. @default {16} */
  pipeline?: number;
  /** The kill comes between `MIN_KILL_MS` (50) and this many ms after the load starts. @default {500} */
  maxMs?: number;
  /** Seed of the kill times and the request mix. @default {1} */
  seed?: number;
  /** Environment of the servers (a test hook). @default {none} */
  env?: Record<string, string>;
  /**
   * When to kill, instead of a random moment: resolves (to a few words on
   * the moment) once the server is where the kill should land.
   */
  killWhen?: (server: KvProcess, acknowledged: Acknowledged) => Promise<string>;
  /** Receives a line per round. */
  progress?: (line: string) => void;
}

/** What the rounds saw, summed. */
export interface CrashReport {
  rounds: number;
  /** Writes answered (`Success!`, or `Not exist!` for a DELETE): each must survive. */
  acknowledged: number;
  acknowledgedPuts: number;
  acknowledgedDeletes: number;
  /** Keys checked after a restart against their last acknowledged write (one per key and round). */
  checked: number;
  /** Keys whose state after a restart no acknowledged history allows. Must be empty. */
  lost: string[];
  /** Writes sent but not answered when the kill came; each may or may not have been applied. */
  unanswered: number;
  /** Keys found in the state of an unanswered write. */
  unansweredApplied: number;
  /** Compactions the servers finished, and torn tails they dropped at start. */
  compactions: number;
  tornTails: number;
}

/** One write sent for a key: its value (`null`: a DELETE), and whether it was answered. */
interface Op {
  value: string | null;
  acked: boolean;
}

/** A key's history within a round, on top of the state found at the last restart. */
interface KeyState {
  base: string | null;
  ops: Op[];
}

const encoder = new TextEncoder();

/** Counts the writes answered in a round, and wakes whoever waits for a count. */
export class Acknowledged {
  count = 0;
  #waiters: { count: number; resolve: () => void }[] = [];

  /** One more write answered. */
  add(): void {
    this.count++;
    if (this.#waiters.length === 0) return;
    this.#waiters = this.#waiters.filter((waiter) => {
      if (this.count < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Resolves once `more` writes past the current count are answered. */
  more(more: number): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ count: this.count + more, resolve });
    return promise;
  }
}

/** Runs the rounds; the report says what was acknowledged and what was found. */
export async function crashRounds(options: CrashOptions): Promise<CrashReport> {
  const connections = options.connections ?? 4;
  const keysPer = KEYS_PER_CONNECTION;
  const random = new Sfc32(options.seed ?? 1, 0);
  const minMs = MIN_KILL_MS;
  const maxMs = options.maxMs ?? 500;
  const args = [
    "--data",
    `${options.dir}/kv.log`,
    "--fsync",
    options.fsync,
    "--compact-min-bytes",
    String(COMPACT_MIN_BYTES),
  ];
  const keys = new Map<string, KeyState>();
  for (let c = 0; c < connections; c++) {
    for (let k = 0; k < keysPer; k++) keys.set(`c${c}:k${k}`, { base: null, ops: [] });
  }
  const report: CrashReport = {
    rounds: 0,
    acknowledged: 0,
    acknowledgedPuts: 0,
    acknowledgedDeletes: 0,
    checked: 0,
    lost: [],
    unanswered: 0,
    unansweredApplied: 0,
    compactions: 0,
    tornTails: 0,
  };
  const start = () => startKv(args, { dir: options.dir, env: options.env });
  let server = await start();
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const killAfterMs = minMs + (random.next() % (maxMs - minMs + 1));
      const acknowledged = new Acknowledged();
      const loads = Array.from({ length: connections }, (_, c) =>
        load(server.port, {
          connection: c,
          keysPer,
          pipeline: options.pipeline ?? 16,
          keys,
          round,
          seed: random.next(),
          acknowledged,
        }));
      let moment = `after ${killAfterMs} ms`;
      if (options.killWhen !== undefined) moment = await options.killWhen(server, acknowledged);
      else await new Promise((resolve) => setTimeout(resolve, killAfterMs));
      await server.kill9();
      report.compactions += count(server.stderr, /compacted data file/g);
      await within("the clients to see the kill", Promise.all(loads));
      server = await start();
      report.tornTails += count(server.stderr, /dropped \d+ bytes at byte/g);
      const found = await list(server.port);
      const before = report.acknowledged;
      check(keys, found, report);
      report.rounds++;
      options.progress?.(
        `${options.fsync} round ${round}: killed ${moment}, ` +
          `${report.acknowledged - before} acknowledged, lost so far ${report.lost.length}`,
      );
    }
  } finally {
    const end = await server.stop();
    report.compactions += count(end.stderr, /compacted data file/g);
  }
  return report;
}

/** The report in one paragraph. */
export function describeReport(fsync: FsyncMode, report: CrashReport): string {
  return `--fsync ${fsync}: ${report.rounds} kill -9 points; ${report.acknowledged} writes ` +
    `acknowledged (${report.acknowledgedPuts} PUT, ${report.acknowledgedDeletes} DELETE); ` +
    `after each restart the last acknowledged write of each key was checked: ` +
    `${report.checked} checks, ${report.checked - report.lost.length} found, ` +
    `${report.lost.length} lost. ${report.unanswered} writes were unanswered at the kills ` +
    `(${report.unansweredApplied} of them found applied); the servers compacted ` +
    `${report.compactions} times and dropped ${report.tornTails} torn tails.`;
}

function count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

/**
 * One connection's load until the server dies: PUTs (3 in 4) and DELETEs of
 * its own keys, `pipeline` in flight, each answer matched to its request.
 */
async function load(
  port: number,
  { connection, keysPer, pipeline, keys, round, seed, acknowledged }: {
    connection: number;
    keysPer: number;
    pipeline: number;
    keys: Map<string, KeyState>;
    round: number;
    seed: number;
    acknowledged: Acknowledged;
  },
): Promise<void> {
  const random = new Sfc32(seed, connection + 1);
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch {
    return; // Killed before this connection got in.
  }
  const inFlight: Op[] = [];
  const buffer = new Uint8Array(64 * 1024);
  let carry = "";
  let sequence = 0;
  const decoder = new TextDecoder();
  try {
    while (true) {
      let requests = "";
      while (inFlight.length < pipeline) {
        const key = `c${connection}:k${random.next() % keysPer}`;
        const state = keys.get(key)!;
        const op: Op = { value: null, acked: false };
        if (random.next() % 4 === 0) {
          requests += `DELETE, ${key}\n`;
        } else {
          op.value = `r${round}c${connection}n${sequence++}`;
          requests += `PUT, ${key}, ${op.value}\n`;
        }
        state.ops.push(op);
        inFlight.push(op);
      }
      await writeAll(conn, encoder.encode(requests));
      const n = await conn.read(buffer);
      if (n === null) return;
      const lines = (carry + decoder.decode(buffer.subarray(0, n), { stream: true })).split("\n");
      carry = lines.pop()!;
      for (const line of lines) {
        const op = inFlight.shift()!;
        if (
          op.value === null ? line === "Success!" || line === "Not exist!" : line === "Success!"
        ) {
          op.acked = true;
          acknowledged.add();
        } else {
          throw new Error(`unexpected answer ${JSON.stringify(line)}`);
        }
      }
    }
  } catch (error) {
    // The kill: the connection is reset or closed mid-stream.
    if (
      !(error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe)
    ) {
      throw error;
    }
  } finally {
    closeQuietly(conn);
  }
}

/** Every pair the server holds, by LIST. */
async function list(port: number): Promise<Map<string, string>> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, encoder.encode("LIST\n"));
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(64 * 1024);
    let text = "";
    while (!text.endsWith("\n\n")) {
      const n = await within("the LIST", conn.read(buffer));
      if (n === null) throw new Error("the server closed during LIST");
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
    const pairs = new Map<string, string>();
    for (const line of text.slice(0, -2).split("\n")) {
      if (line === "Not exist!") continue;
      const comma = line.indexOf(", ");
      pairs.set(line.slice(0, comma), line.slice(comma + 2));
    }
    return pairs;
  } finally {
    conn.close();
  }
}

/**
 * Checks each key: the state found must be the state after its last
 * acknowledged write or after a later one (a write may be applied and not
 * answered; a log applies a connection's writes in order). Then the found
 * state is the base of the next round.
 */
function check(keys: Map<string, KeyState>, found: Map<string, string>, report: CrashReport): void {
  for (const [key, state] of keys) {
    const value = found.get(key) ?? null;
    let lastAcked = -1;
    state.ops.forEach((op, i) => {
      if (op.acked) {
        lastAcked = i;
        report.acknowledged++;
        if (op.value === null) report.acknowledgedDeletes++;
        else report.acknowledgedPuts++;
      }
    });
    if (lastAcked !== -1) report.checked++;
    const allowed = lastAcked === -1 ? [state.base] : [state.ops[lastAcked]!.value];
    for (let i = lastAcked + 1; i < state.ops.length; i++) allowed.push(state.ops[i]!.value);
    report.unanswered += state.ops.length - 1 - lastAcked;
    const at = allowed.indexOf(value);
    if (at === -1) {
      const last = lastAcked === -1 ? "none" : JSON.stringify(state.ops[lastAcked]!.value);
      report.lost.push(`${key}: found ${JSON.stringify(value)}, last acknowledged ${last}`);
    } else if (at > 0) {
      report.unansweredApplied++;
    }
    state.base = value;
    state.ops = [];
  }
}
