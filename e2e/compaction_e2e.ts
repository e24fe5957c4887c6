/**
 * Compaction interrupted by kill -9: the server is stopped at each step of a
 * compaction by the test-only hook (KV_TEST_COMPACTION_PAUSE, cli/data.ts),
 * under load, and killed there; after a restart every acknowledged write
 * must be found, and the compaction's leftover file must be gone.
 *
 * Needs: --allow-run (the Deno binary), --allow-net=127.0.0.1,
 * --allow-read=.e2e-tmp --allow-write=.e2e-tmp (see .ci/run).
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { COMPACTION_PAUSE_ENV } from "../cli/data.ts";
import { DENO_FS } from "../store/log/file.ts";
import { e2eDir, within } from "../testing/mod.ts";
import { crashRounds, describeReport } from "./crash.ts";

for (const step of ["snapshot", "synced", "renamed", "switched"] as const) {
  Deno.test(`kv serve --data: a kill -9 at the compaction step "${step}" loses no acknowledged write`, async () => {
    await using dir = await e2eDir();
    const report = await crashRounds({
      dir: dir.path,
      fsync: "always",
      rounds: 2,
      env: { [COMPACTION_PAUSE_ENV]: step },
      killWhen: async (server, acknowledged) => {
        await server.waitForStderr(new RegExp(`compaction paused at "${step}"`));
        if (step !== "snapshot") return `paused at "${step}"`;
        // Paused in the walk, the server goes on answering: its writes must survive too.
        await within("writes during the compaction", acknowledged.more(2_000));
        return `paused at "${step}", 2000 writes later`;
      },
    });
    // deno-lint-ignore no-console
    console.log(describeReport("always", report));
    assertEquals(report.lost, []);
    assert(report.checked > 0);
    const names = [];
    for await (const entry of Deno.readDir(dir.path)) names.push(entry.name);
    assertEquals(names, ["kv.log"], "the leftover of the compaction is removed at start");
  });
}

Deno.test("a log file a compaction renamed over is emptied off the event loop before it is closed, unless another name links to it", async () => {
  await using dir = await e2eDir();
  const bytes = new Uint8Array(1 << 20).fill(0x61);
  for (const linked of [false, true]) {
    const path = `${dir.path}/kv.log`;
    await Deno.writeFile(path, bytes);
    const file = await DENO_FS.open(path);
    if (linked) await Deno.link(path, `${dir.path}/backup.log`);
    // Another handle on the same file, to look at it once it has no name.
    using watcher = await Deno.open(path, { read: true });
    await Deno.writeFile(`${dir.path}/new.log`, new Uint8Array(8));
    await Deno.rename(`${dir.path}/new.log`, path); // What a compaction's switch does.
    await file.release();
    assertEquals((await watcher.stat()).size, linked ? bytes.length : 0, `linked: ${linked}`);
    if (linked) {
      assertEquals((await Deno.readFile(`${dir.path}/backup.log`)).length, bytes.length);
      await Deno.remove(`${dir.path}/backup.log`);
    }
  }
});
