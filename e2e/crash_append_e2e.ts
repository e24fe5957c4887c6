/**
 * Crash tests of APPEND with real processes: `kv serve --data` under
 * pipelined APPENDs (with a SET or a DEL now and then) from several Redis
 * connections, killed with SIGKILL at random moments, then restarted on the
 * same file. A log records an APPEND as the bytes it added and the value's
 * old length (store/log/format.ts), and a compaction copies the appends
 * made while it walks the store: after each restart every key must hold
 * the value of its last acknowledged write, or of a later one (a write may
 * be applied and not answered), whatever the kills cut.
 *
 * Needs: --allow-run (the Deno binary), --allow-net=127.0.0.1,
 * --allow-read=.e2e-tmp --allow-write=.e2e-tmp (see .ci/run).
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { Sfc32 } from "../bench/random.ts";
import { closeQuietly, writeAll } from "../net/conn.ts";
import { e2eDir, resp, startKv, within } from "../testing/mod.ts";

/** A write to a key: APPEND of `bytes`, SET to `bytes`, or DEL; and whether it was answered. */
interface Op {
  kind: "append" | "set" | "del";
  bytes: string;
  acked: boolean;
}

const CONNECTIONS = 4;
const KEYS_PER = 8;
const PIPELINE = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function apply(value: string | null, op: Op): string | null {
  if (op.kind === "del") return null;
  if (op.kind === "set") return op.bytes;
  return (value ?? "") + op.bytes;
}

/** One connection's APPENDs (and a SET or DEL in 20) to its own keys, until the kill. */
async function load(port: number, c: number, seed: number, ops: Map<string, Op[]>, round: number) {
  const random = new Sfc32(seed, c + 1);
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch {
    return; // Killed before this connection got in.
  }
  const inFlight: Op[] = [];
  const buffer = new Uint8Array(64 * 1024);
  let carry = "";
  let n = 0;
  try {
    while (true) {
      let requests = "";
      while (inFlight.length < PIPELINE) {
        const key = `c${c}:k${random.next() % KEYS_PER}`;
        const roll = random.next() % 20;
        const bytes = `r${round}n${n++},`;
        const op: Op = {
          kind: roll === 0 ? "set" : roll === 1 ? "del" : "append",
          bytes,
          acked: false,
        };
        requests += op.kind === "set"
          ? resp("SET", key, bytes)
          : op.kind === "del"
          ? resp("DEL", key)
          : resp("APPEND", key, bytes);
        ops.get(key)!.push(op);
        inFlight.push(op);
      }
      await writeAll(conn, encoder.encode(requests));
      const read = await conn.read(buffer);
      if (read === null) return;
      const lines = (carry + decoder.decode(buffer.subarray(0, read), { stream: true })).split(
        "\r\n",
      );
      carry = lines.pop()!;
      for (const line of lines) {
        const op = inFlight.shift()!;
        const ok = op.kind === "set" ? line === "+OK" : /^:\d+$/.test(line);
        if (!ok) throw new Error(`unexpected answer ${JSON.stringify(line)} to ${op.kind}`);
        op.acked = true;
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

/** Every key's value (null: none), by one MGET. */
async function values(port: number, keys: string[]): Promise<(string | null)[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, encoder.encode(resp("MGET", ...keys)));
    const buffer = new Uint8Array(256 * 1024);
    let text = "";
    // An array header, then per key `$-1` or `$N` and its value: wait for all of it.
    const complete = () => {
      const lines = text.split("\r\n");
      let at = 1;
      for (let k = 0; k < keys.length; k++) {
        if (at >= lines.length - 1) return false;
        at += lines[at] === "$-1" ? 1 : 2;
      }
      return at <= lines.length - 1;
    };
    while (!complete()) {
      const n = await within("the MGET", conn.read(buffer));
      if (n === null) throw new Error("the server closed during MGET");
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
    const lines = text.split("\r\n");
    const found: (string | null)[] = [];
    for (let at = 1; found.length < keys.length;) {
      if (lines[at] === "$-1") {
        found.push(null);
        at++;
      } else {
        found.push(lines[at + 1]!);
        at += 2;
      }
    }
    return found;
  } finally {
    conn.close();
  }
}

for (const fsync of ["always", "everysec"] as const) {
  Deno.test(`kv serve --data --fsync ${fsync}: APPENDs keep every acknowledged byte across 8 kill -9s`, async () => {
    await using dir = await e2eDir();
    const args = ["--data", `${dir.path}/kv.log`, "--fsync", fsync, "--compact-min-bytes", "16384"];
    const random = new Sfc32(fsync === "always" ? 3 : 4, 0);
    const keys = Array.from(
      { length: CONNECTIONS * KEYS_PER },
      (_, i) => `c${Math.floor(i / KEYS_PER)}:k${i % KEYS_PER}`,
    );
    const base = new Map<string, string | null>(keys.map((key) => [key, null]));
    const lost: string[] = [];
    let acknowledged = 0;
    let compactions = 0;
    let server = await startKv(args, { dir: dir.path });
    try {
      for (let round = 1; round <= 8; round++) {
        const ops = new Map<string, Op[]>(keys.map((key) => [key, []]));
        const loads = Array.from(
          { length: CONNECTIONS },
          (_, c) => load(server.port, c, random.next(), ops, round),
        );
        await new Promise((resolve) => setTimeout(resolve, 100 + random.next() % 400));
        await server.kill9();
        compactions += server.stderr.match(/compacted data file/g)?.length ?? 0;
        await within("the clients to see the kill", Promise.all(loads));
        server = await startKv(args, { dir: dir.path });
        const found = await values(server.port, keys);
        keys.forEach((key, i) => {
          const history = ops.get(key)!;
          const last = history.findLastIndex((op) => op.acked);
          acknowledged += history.filter((op) => op.acked).length;
          // The states allowed: after the last acknowledged write, or after any later one.
          let state: string | null = base.get(key) ?? null;
          for (let j = 0; j <= last; j++) state = apply(state, history[j]!);
          const allowed = [state];
          for (let j = last + 1; j < history.length; j++) {
            state = apply(state, history[j]!);
            allowed.push(state);
          }
          if (!allowed.includes(found[i]!)) {
            lost.push(`round ${round} ${key}: found ${JSON.stringify(found[i])}`);
          }
          base.set(key, found[i]!);
        });
      }
    } finally {
      const end = await server.stop();
      compactions += end.stderr.match(/compacted data file/g)?.length ?? 0;
    }
    // deno-lint-ignore no-console
    console.log(
      `--fsync ${fsync}: ${acknowledged} writes acknowledged, ${compactions} compactions`,
    );
    assertEquals(lost, []);
    assertEquals(acknowledged > 0, true);
  });
}
