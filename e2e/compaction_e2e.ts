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
import { e2eDir, RawConn, startKv, within } from "../testing/mod.ts";
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

Deno.test("a log file a compaction renamed over is closed whole, and its second name removed after", async () => {
  await using dir = await e2eDir();
  const bytes = new Uint8Array(1 << 20).fill(0x61);
  const path = `${dir.path}/kv.log`;
  const aside = `${path}.replaced`;
  await Deno.writeFile(path, bytes);
  const file = await DENO_FS.open(path);
  // A backup's handle on the same file, opened before the switch.
  using backup = await Deno.open(path, { read: true });
  await DENO_FS.link(path, aside); // What a compaction's switch does: a second name,
  await Deno.writeFile(`${dir.path}/new.log`, new Uint8Array(8));
  await Deno.rename(`${dir.path}/new.log`, path); // then the rename over the log.
  await file.release(aside);
  assertEquals((await backup.stat()).size, bytes.length, "the backup still reads all of it");
  assertEquals(await DENO_FS.entry(aside), { kind: "absent" });
});

Deno.test("kv serve --data: a backup reading the log when a compaction replaces it still reads all of it", async () => {
  await using dir = await e2eDir();
  const path = `${dir.path}/kv.log`;
  await using server = await startKv(["--data", path, "--compact-min-bytes", "262144"], {
    dir: dir.path,
  });
  await using conn = await RawConn.connect(server.port);
  const value = "v".repeat(1000);
  let round = 0;
  // Overwrites of 50 keys: the log grows, its live data stays small.
  const overwrite = async (count: number) => {
    const lines = [];
    for (let i = 0; i < count; i++) lines.push(`PUT, key${i % 50}, ${value}${round++}\n`);
    await conn.send(lines.join(""));
    const answers = await conn.readLines(count);
    assertEquals(answers.filter((line) => line !== "Success!"), []);
  };
  await overwrite(150);
  assert(!server.stderr.includes("compacted"), server.stderr);
  // The backup (cp) opens the log and reads its start...
  const size = (await Deno.stat(path)).size;
  using backup = await Deno.open(path, { read: true });
  const first = new Uint8Array(4096);
  assertEquals(await backup.read(first), first.length);
  // ...while the log outgrows the floor and a compaction renames a new file over it.
  while (!server.stderr.includes("compacted")) await overwrite(50);
  // A clean stop waits for the replaced file to be let go.
  assertEquals((await server.stop("SIGTERM")).code, 0);
  let read = first.length;
  const chunk = new Uint8Array(64 * 1024);
  for (let n; (n = await backup.read(chunk)) !== null;) read += n;
  // All of it: what it held when opened, and the appends before the switch.
  assert(read >= size, `the backup read ${read} bytes of a file of ${size} when it was opened`);
  assertEquals(read, (await backup.stat()).size, "the backup read the whole file it opened");
  const names = [];
  for await (const entry of Deno.readDir(dir.path)) names.push(entry.name);
  assertEquals(names, ["kv.log"], "the replaced file's second name is gone");
});
