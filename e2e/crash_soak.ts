/**
 * The crash rounds of e2e/crash_e2e.ts, as many as you like, by hand:
 *
 *     deno run --allow-run=$(deno eval 'console.log(Deno.execPath())') \
 *       --allow-net=127.0.0.1 \
 *       --allow-read=.e2e-tmp --allow-write=.e2e-tmp \
 *       e2e/crash_soak.ts --rounds 200 --fsync always --seed 7
 *
 * (`deno task crash-soak` runs 100 rounds of each mode.) Prints a line per
 * round and the totals; exits 1 if any acknowledged write was lost.
 *
 * @module
 */

import { parseArgs } from "@std/cli";
import type { FsyncMode } from "../store/log.ts";
import { e2eDir } from "../testing/mod.ts";
import { crashRounds, describeReport } from "./crash.ts";

const args = parseArgs(Deno.args, {
  string: ["rounds", "fsync", "seed", "connections", "pipeline", "max-ms"],
  default: { rounds: "100", fsync: "always,everysec", seed: "1" },
});
let lost = 0;
for (const fsync of args.fsync.split(",") as FsyncMode[]) {
  await using dir = await e2eDir();
  const report = await crashRounds({
    dir: dir.path,
    fsync,
    rounds: Number(args.rounds),
    seed: Number(args.seed),
    connections: args.connections === undefined ? undefined : Number(args.connections),
    pipeline: args.pipeline === undefined ? undefined : Number(args.pipeline),
    maxMs: args["max-ms"] === undefined ? undefined : Number(args["max-ms"]),
    // deno-lint-ignore no-console
    progress: (line) => console.log(line),
  });
  // deno-lint-ignore no-console
  console.log(describeReport(fsync, report));
  // deno-lint-ignore no-console
  for (const line of report.lost) console.log(`LOST ${line}`);
  lost += report.lost.length;
}
Deno.exit(lost === 0 ? 0 : 1);
