/**
 * Crash tests with real processes: `kv serve --data` under pipelined load
 * from several connections, killed with SIGKILL at random moments, then
 * restarted on the same file; every acknowledged write must be found
 * (e2e/crash.ts). 12 kill points per fsync mode here; e2e/crash_soak.ts
 * runs as many as you like.
 *
 * Needs: --allow-run (the Deno binary), --allow-net=127.0.0.1,
 * --allow-read=.e2e-tmp --allow-write=.e2e-tmp (see .ci/run).
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { e2eDir } from "../testing/mod.ts";
import { crashRounds, describeReport } from "./crash.ts";

for (const fsync of ["always", "everysec"] as const) {
  Deno.test(`kv serve --data --fsync ${fsync} keeps every acknowledged write across 12 kill -9s`, async () => {
    await using dir = await e2eDir();
    const report = await crashRounds({ dir: dir.path, fsync, rounds: 12, seed: 9 });
    // deno-lint-ignore no-console
    console.log(describeReport(fsync, report));
    assertEquals(report.lost, []);
    assertEquals(report.rounds, 12);
  });
}
