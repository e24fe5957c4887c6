/**
 * For bench/crash_states.py: many crash states checked in one Deno process,
 * through kv's own code, not a `kv serve` process each (a Deno start costs
 * about 0.6 s of CPU; this, a few milliseconds a state).
 *
 *     deno run --allow-read=DIR --allow-write=DIR bench/crash_states_load.ts \
 *         --fsync MODE --scratch DIR/scratch [--jobs 8] < paths
 *
 * Reads one state folder's path a line from stdin (a folder holding the
 * files a power cut left: kv.log, and maybe a compaction's kv.log.compact
 * and its second name) and writes one JSON line for it to stdout, in the
 * order read; it works on up to `--jobs` states at once (the time goes to
 * the disk's syncs), so a state's folder must stay until its line is out:
 *
 * - `start`: what `kv serve --data FOLDER/kv.log --fsync MODE` would do at
 *   start. It loads the log with `openDataFile()` (cli/data.ts), the very
 *   function `kv serve` calls, which also writes the refusal's lines:
 *   `{outcome: "ok", data: {key: [value, pttl]}, err}` with every key
 *   loaded and its PTTL as the server answers it, and the log lines of the
 *   load in `err`; or `{outcome: "refused", code, err}` with what kv serve
 *   would have printed on stderr. An error thrown out of it, which would
 *   crash `kv serve` with a stack trace, is a refusal whose `err` holds the
 *   stack (code `"uncaught"`). After a load the store is closed as `kv
 *   serve` closes it when it stops (written and synced).
 * - `changed`: whether the start changed the folder's files (cut a torn
 *   tail, removed a compaction's leftovers, made a new log); then `again`:
 *   a second start on what the first left, as `start`.
 * - `repairs` (if the state has a kv.log): `kv repair FILE` and `kv repair
 *   --truncate FILE`, each run by `main()` (cli/main.ts), the `kv` command
 *   itself, on a copy of the state's kv.log in the scratch folder:
 *   `{flags, code, stdout, stderr}`, and `start` (as above, on the
 *   repaired copy moved over the log) when it wrote one.
 *
 * The reading of the states and the judging stay in bench/crash_states.py
 * and bench/crash_states_check.py, which judge this and a real `kv serve`
 * by the same rules.
 *
 * @module
 */

import { parseArgs } from "@std/cli";
import { TextLineStream } from "@std/streams";
import type { MainIo } from "../cli/io.ts";
import { openDataFile } from "../cli/data.ts";
import { main } from "../cli/main.ts";
import { equalBytes } from "../net/bytes.ts";
import { writeAll } from "../net/conn.ts";
import { NO_KEY } from "../store/store.ts";
import type { FsyncMode } from "../store/log.ts";
import { COMPACT_MIN_BYTES } from "../store/log/open.ts";
import { FSYNC_MODES } from "../store/log/options.ts";

/** What a start would do: the data it loaded, or the refusal it printed. */
type Start =
  | { outcome: "ok"; data: Record<string, [string, number]>; err: string }
  | { outcome: "refused"; code: number | "uncaught"; err: string };

/** A `kv repair` run, and the start on the copy it wrote, if it wrote one. */
interface Repair {
  flags: string[];
  code: number | "uncaught";
  stdout: string;
  stderr: string;
  start?: Start;
}

const LOG = "kv.log";
const decoder = new TextDecoder();

/** A process's streams for `main()` and `openDataFile()`, what they print kept. */
function captured(): { io: MainIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const io: MainIo = {
    stdin: ReadableStream.from([]),
    stdinIsTerminal: false,
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
  };
  return { io, out, err };
}

/** What an uncaught error prints: its stack, as Deno does before the exit. */
function uncaught(error: unknown): string {
  return `error: Uncaught (in promise) ${error instanceof Error ? error.stack : String(error)}`;
}

/** `kv serve --data PATH --fsync MODE` at start: load, read every key, close. */
async function start(path: string, fsync: FsyncMode): Promise<Start> {
  const { io, err } = captured();
  // kv serve's logger without the time stamps (debug lines only with --verbose).
  const log = (level: string, message: string) => {
    if (level !== "debug") err.push(`${message}\n`);
  };
  let store;
  try {
    store = await openDataFile(path, { fsync, compactMinBytes: COMPACT_MIN_BYTES, log, io });
  } catch (error) {
    return { outcome: "refused", code: "uncaught", err: err.join("") + uncaught(error) };
  }
  if (store === undefined) return { outcome: "refused", code: 1, err: err.join("") };
  const data: Record<string, [string, number]> = {};
  try {
    const keys: Uint8Array[] = [];
    const values: string[] = [];
    let cursor = 0;
    do {
      cursor = store.scan(cursor, 4096, (bytes, keyStart, keyEnd, valueStart, valueEnd) => {
        keys.push(bytes.slice(keyStart, keyEnd));
        values.push(decoder.decode(bytes.subarray(valueStart, valueEnd)));
      });
    } while (cursor !== 0);
    const now = store.clock.now();
    keys.forEach((key, i) => {
      // PTTL's answer (command/redis/key_expiry.ts): -1 without expiry, else the ms left.
      const expiry = store.expiry(key, 0, key.length);
      if (expiry === NO_KEY) return; // Its time passed between the scan and now.
      data[decoder.decode(key)] = [values[i]!, expiry < 0 ? expiry : Math.max(0, expiry - now)];
    });
  } finally {
    await store.close();
  }
  return { outcome: "ok", data, err: err.join("") };
}

/** Each file of `folder` by name. */
async function files(folder: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const entry of Deno.readDir(folder)) {
    if (entry.isFile) out.set(entry.name, await Deno.readFile(`${folder}/${entry.name}`));
  }
  return out;
}

function same(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, bytes] of a) {
    const other = b.get(name);
    if (other === undefined || !equalBytes(other, 0, other.length, bytes)) return false;
  }
  return true;
}

/** `kv repair [--truncate] scratch/kv.log` on a copy of `log`, and a start on what it wrote. */
async function repair(log: Uint8Array, flags: string[], scratch: string, fsync: FsyncMode) {
  await Deno.remove(scratch, { recursive: true }).catch(() => {});
  await Deno.mkdir(scratch, { recursive: true });
  const path = `${scratch}/${LOG}`;
  await Deno.writeFile(path, log);
  const { io, out, err } = captured();
  const result: Repair = { flags, code: 0, stdout: "", stderr: "" };
  try {
    result.code = await main(["repair", ...flags, path], io);
  } catch (error) {
    result.code = "uncaught";
    err.push(uncaught(error));
  }
  result.stdout = out.join("");
  result.stderr = err.join("");
  if (result.code === 0 && !result.stdout.includes("nothing to repair")) {
    await Deno.rename(`${path}.repaired`, path);
    result.start = await start(path, fsync);
  }
  return result;
}

async function check(folder: string, fsync: FsyncMode, scratch: string) {
  const before = await files(folder);
  const first = await start(`${folder}/${LOG}`, fsync);
  const result: { start: Start; changed: boolean; again?: Start; repairs: Repair[] } = {
    start: first,
    changed: false,
    repairs: [],
  };
  if (first.outcome === "ok") {
    result.changed = !same(before, await files(folder));
    if (result.changed) result.again = await start(`${folder}/${LOG}`, fsync);
  }
  const log = before.get(LOG);
  if (log !== undefined) {
    for (const flags of [[], ["--truncate"]]) {
      result.repairs.push(await repair(log, flags, scratch, fsync));
    }
  }
  return result;
}

const args = parseArgs(Deno.args, { string: ["fsync", "scratch", "jobs"], default: { jobs: "8" } });
const fsync = args.fsync as FsyncMode;
const jobs = Number(args.jobs);
if (
  !FSYNC_MODES.includes(fsync) || args.scratch === undefined ||
  !(Number.isInteger(jobs) && jobs > 0) ||
  args._.length > 0
) {
  // deno-lint-ignore no-console
  console.error(
    `usage: bench/crash_states_load.ts --fsync ${
      FSYNC_MODES.join("|")
    } --scratch DIR [--jobs N] < state folders' paths`,
  );
  Deno.exit(2);
}
const encoder = new TextEncoder();
// @std/streams comes untyped from the npm mirror; this is its real type.
const lines: ReadableStream<string> = Deno.stdin.readable
  .pipeThrough(new TextDecoderStream())
  .pipeThrough(new TextLineStream());
// Up to `jobs` states at once (the time goes to the disk's syncs, not the
// CPU), each with a scratch folder of its own; answers in the order asked.
const running: Promise<unknown>[] = [];
const answer = async () => {
  await writeAll(Deno.stdout, encoder.encode(`${JSON.stringify(await running.shift())}\n`));
};
let n = 0;
for await (const line of lines) {
  if (line === "") continue;
  running.push(check(line, fsync, `${args.scratch}/${n++ % jobs}`));
  if (running.length >= jobs) await answer();
}
while (running.length > 0) await answer();
