/**
 * `kv serve --data` as a user runs it, with real processes: the load line
 * before listening, the lock between two servers, a sync and status 0 on
 * each shutdown signal, one clear line for a missing permission, a torn
 * tail dropped with a warning, a damaged file refused (unchanged) and
 * repaired by `kv repair`; and the library's `openLog()` warning on stderr
 * when given no log.
 *
 * Needs: --allow-run (the Deno binary, ln, mkfifo), --allow-net=127.0.0.1,
 * --allow-read=.e2e-tmp --allow-write=.e2e-tmp (see .ci/run).
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { MAGIC, setRecordBytes } from "../store/log/format.ts";
import { openLog } from "../store/log/open.ts";
import { TextStore } from "../store/text.ts";
import { ask, e2eDir, RawConn, runKv, startKv } from "../testing/mod.ts";

async function put(port: number, pairs: Record<string, string>): Promise<void> {
  await using conn = await RawConn.connect(port);
  const entries = Object.entries(pairs);
  await conn.send(entries.map(([k, v]) => `PUT, ${k}, ${v}\n`).join(""));
  assertEquals(await conn.readLines(entries.length), entries.map(() => "Success!"));
}

async function list(port: number): Promise<string[]> {
  await using conn = await RawConn.connect(port);
  await conn.send("LIST\n");
  return (await conn.readList()).sort();
}

Deno.test("kv serve --data loads the file, logs the key count and time, then listens", async () => {
  await using dir = await e2eDir();
  const file = `${dir.path}/kv.log`;
  const first = await startKv(["--data", file], { dir: dir.path });
  assertMatch(first.stderr, /loaded 0 keys from .*kv\.log \(0 records, 8 bytes\) in \d+ ms/);
  await put(first.port, { a: "1", b: "two, with a comma" });
  assertEquals((await first.stop()).code, 0);
  await using second = await startKv(["--data", file], { dir: dir.path });
  // The load's line comes before the listening line, which startKv waited for.
  assertMatch(second.stderr, /loaded 2 keys from .*kv\.log \(2 records, \d+ bytes\) in \d+ ms/);
  assertEquals(await list(second.port), ["a, 1", "b, two, with a comma"]);
});

Deno.test("kv serve --data: a second server on the same file refuses to start, naming it", async () => {
  await using dir = await e2eDir();
  const file = `${dir.path}/kv.log`;
  await using first = await startKv(["--data", file], { dir: dir.path });
  const second = await runKv(["serve", "--port", "0", "--data", file], { dir: dir.path });
  assertEquals(second.code, 1);
  assertEquals(
    second.stderr,
    `kv: cannot use data file ${file}: another kv server is using it (it holds the file's lock)\n`,
  );
  assertEquals(await ask(first.port, "PING"), "PONG");
});

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  Deno.test(`kv serve --data --fsync no: ${signal} syncs the log, then exits with status 0`, async () => {
    await using dir = await e2eDir();
    const file = `${dir.path}/kv.log`;
    const server = await startKv(["--data", file, "--fsync", "no"], { dir: dir.path });
    await put(server.port, { k: signal });
    const end = await server.stop(signal);
    assertEquals(end.code, 0);
    assertMatch(end.stderr, /data file .*kv\.log synced and closed\n.*stopped\n$/);
    await using again = await startKv(["--data", file], { dir: dir.path });
    assertEquals(await list(again.port), [`k, ${signal}`]);
  });
}

Deno.test("kv serve --data without permission on the folder: exit 2, one line naming the flags to use", async () => {
  await using dir = await e2eDir();
  const file = `${dir.path}/kv.log`;
  for (
    const permissions of [
      ["--allow-net=127.0.0.1"],
      ["--allow-net=127.0.0.1", `--allow-read=${dir.path}`],
    ]
  ) {
    const run = await runKv(["serve", "--port", "0", "--data", file], { permissions });
    assertEquals(run.code, 2);
    assertEquals(
      run.stderr,
      `kv: cannot use data file ${file}: permission denied ` +
        `(run with --allow-read=${dir.path} --allow-write=${dir.path})\n`,
    );
  }
});

Deno.test("kv serve --data given a folder says so, with or without permission on the folder above it", async () => {
  await using dir = await e2eDir();
  for (
    const permissions of [
      ["--allow-net=127.0.0.1", `--allow-read=${dir.path}`, `--allow-write=${dir.path}`],
      ["--allow-net=127.0.0.1", "--allow-read=.e2e-tmp", "--allow-write=.e2e-tmp"],
    ]
  ) {
    const run = await runKv(["serve", "--port", "0", "--data", dir.path], { permissions });
    assertEquals([run.code, run.stderr], [
      1,
      `kv: cannot use data file ${dir.path}: it is a folder: give the path of a file in it, ` +
      `such as ${dir.path}/kv.log\n`,
    ]);
  }
});

Deno.test("kv serve --data drops a torn tail with a warning and cuts the file back", async () => {
  await using dir = await e2eDir();
  const file = `${dir.path}/kv.log`;
  const server = await startKv(["--data", file], { dir: dir.path });
  await put(server.port, { a: "1", b: "2" });
  await server.stop();
  const whole = await Deno.readFile(file);
  // A crash in the middle of writing a record: its first 9 bytes.
  const record = setRecordBytes(1, 1, false);
  const torn = new Uint8Array(whole.length + 9);
  torn.set(whole);
  torn.set(whole.subarray(whole.length - record, whole.length - record + 9), whole.length);
  await Deno.writeFile(file, torn);
  await using again = await startKv(["--data", file], { dir: dir.path });
  assertMatch(
    again.stderr,
    new RegExp(`warning: data file .*: dropped 9 bytes at byte ${whole.length}`),
  );
  assertEquals(await list(again.port), ["a, 1", "b, 2"]);
  assertEquals((await Deno.stat(file)).size, whole.length);
});

Deno.test("openLog() with no log of its own warns of a torn tail on stderr, as serve() logs errors", async () => {
  await using dir = await e2eDir();
  const file = `${dir.path}/kv.log`;
  {
    await using store = await openLog(file, { log: () => {} });
    new TextStore(store).set("a", "1");
  }
  const whole = await Deno.readFile(file);
  const torn = new Uint8Array(whole.length + 9);
  torn.set(whole);
  torn.set(whole.subarray(MAGIC.length, MAGIC.length + 9), whole.length);
  await Deno.writeFile(file, torn);
  const printed: string[] = [];
  // The default logger's stderr is console.error: caught here, put back below.
  // deno-lint-ignore no-console
  const consoleError = console.error;
  // deno-lint-ignore no-console
  console.error = (...data: unknown[]) => printed.push(data.join(" "));
  try {
    await using store = await openLog(file);
    assertEquals(new TextStore(store).get("a"), "1");
  } finally {
    // deno-lint-ignore no-console
    console.error = consoleError;
  }
  assertEquals(printed.length, 1, JSON.stringify(printed));
  assertMatch(
    printed[0]!,
    new RegExp(`warning: data file .*: dropped 9 bytes at byte ${whole.length}`),
  );
});

Deno.test("kv serve --data refuses a damaged file (exit 1, file and offset named, nothing changed); kv repair writes a copy that loads", async () => {
  await using dir = await e2eDir();
  const file = `${dir.path}/kv.log`;
  const server = await startKv(["--data", file], { dir: dir.path });
  await put(server.port, { a: "1", b: "2", c: "3" });
  await server.stop();
  const damaged = await Deno.readFile(file);
  // The second record (b) starts after the header and a's record.
  const record = setRecordBytes(1, 1, false);
  const second = MAGIC.length + record;
  damaged[second + record - 1]! ^= 0x20; // Its value.
  await Deno.writeFile(file, damaged);
  const refused = await runKv(["serve", "--port", "0", "--data", file], { dir: dir.path });
  assertEquals(refused.code, 1);
  assertMatch(
    refused.stderr,
    new RegExp(
      `^kv: cannot load data file ${file}: bad record at byte ${second} \\(the record's body ` +
        `fails its checksum\\), .* the file was not changed\nkv: to recover, run "kv repair ${file}"`,
    ),
  );
  assertEquals(await Deno.readFile(file), damaged, "unchanged");
  const repair = await runKv(["repair", file], { dir: dir.path });
  assertEquals(repair.code, 0, repair.stderr);
  assertMatch(
    repair.stdout,
    new RegExp(`kept 2 records; dropped ${record} bytes in 1 place:\n  at byte ${second}:`),
  );
  assertEquals(await Deno.readFile(file), damaged, "still unchanged");
  assert(!repair.stdout.includes("drops such a record by itself"), "damage before the end is more");
  const again = await runKv(["repair", file], { dir: dir.path });
  assertEquals([again.code, again.stderr], [
    1,
    `kv: cannot write ${file}.repaired: it already exists (remove it first)\n`,
  ]);
  await Deno.rename(`${file}.repaired`, file);
  await using repaired = await startKv(["--data", file], { dir: dir.path });
  assertEquals(await list(repaired.port), ["a, 1", "c, 3"]);
  assert(!repaired.stderr.includes("warning"));
});

Deno.test("kv repair of a copy taken while the server ran says an unfinished last record is all, which a server drops too", async () => {
  await using dir = await e2eDir();
  const file = `${dir.path}/kv.log`;
  const server = await startKv(["--data", file], { dir: dir.path });
  await put(server.port, { a: "1", b: "2" });
  await server.stop();
  const copy = `${dir.path}/backup.log`;
  const whole = await Deno.readFile(file);
  await Deno.writeFile(copy, whole.subarray(0, whole.length - 5)); // A copy that caught half a record.
  const repair = await runKv(["repair", copy], { dir: dir.path });
  assertEquals(repair.code, 0, repair.stderr);
  assertStringIncludes(repair.stdout, "(the record is incomplete)");
  assertStringIncludes(
    repair.stdout,
    "Only its last record was unfinished, as a crash or a copy taken while the server ran leaves " +
      "it: kv serve drops such a record by itself, so either file loads the same.",
  );
});

Deno.test("kv serve --data through a symbolic link: compaction replaces the file it points to, with the file's mode, and keeps the link", async () => {
  await using dir = await e2eDir();
  await Deno.mkdir(`${dir.path}/real`);
  const real = `${dir.path}/real/kv.log`;
  const link = `${dir.path}/kv.log`;
  await Deno.writeFile(real, new Uint8Array(0));
  await Deno.chmod(real, 0o600); // Private data: it must stay private.
  // Deno.symlink() needs unscoped permissions; ln needs only --allow-run=ln.
  await run("ln", ["-s", "real/kv.log", link]);
  const server = await startKv(["--data", link, "--compact-min-bytes", "2000"], { dir: dir.path });
  assertMatch(server.stderr, /kv\.log is a symbolic link: using .*real\/kv\.log\n/);
  // Overwrites of five keys: the log soon passes twice its live data.
  for (let round = 0; round < 40; round++) {
    const pairs: Record<string, string> = {};
    for (let key = 0; key < 5; key++) pairs[`k${key}`] = `value-${round}`;
    await put(server.port, pairs);
  }
  await server.waitForStderr(/compacted data file .*real\/kv\.log: \d+ -> \d+ bytes/);
  assert((await Deno.lstat(link)).isSymlink, "the link is still a link");
  assertEquals((await Deno.stat(real)).mode! & 0o777, 0o600);
  // The lock is on the file the link points to, compacted or not.
  const second = await runKv(["serve", "--port", "0", "--data", real], { dir: dir.path });
  assertEquals(second.code, 1);
  assertMatch(second.stderr, /another kv server is using it/);
  assertEquals((await server.stop()).code, 0);
  await using again = await startKv(["--data", real], { dir: dir.path });
  assertEquals(await list(again.port), [0, 1, 2, 3, 4].map((key) => `k${key}, value-39`));
});

Deno.test("kv serve --data refuses a FIFO in one line, exit 1, instead of blocking its load forever", async () => {
  await using dir = await e2eDir();
  const path = `${dir.path}/kv.fifo`;
  await run("mkfifo", [path]);
  const refused = await runKv(["serve", "--port", "0", "--data", path], { dir: dir.path });
  assertEquals(refused.code, 1);
  assertEquals(
    refused.stderr,
    `kv: cannot use data file ${path}: it is not a regular file (a FIFO, a device or a socket); give the path of a file\n`,
  );
  // kv repair would block on it for ever too: refused in one line, exit 2.
  const repair = await runKv(["repair", path], { dir: dir.path });
  assertEquals(repair.code, 2);
  assertMatch(repair.stderr, /it is not a regular file/);
});

/** Runs a system command that must succeed. */
async function run(command: string, args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(command, { args, stdout: "null" }).output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
}

Deno.test("kv repair refuses what is not a kv log; serve and repair recover a log whose first bytes were damaged", async () => {
  await using dir = await e2eDir();
  const csv = `${dir.path}/notes.csv`;
  await Deno.writeTextFile(csv, "user,email\nalice,a@example.com\n");
  const refused = await runKv(["repair", csv], { dir: dir.path });
  assertEquals(refused.code, 1);
  assertMatch(refused.stderr, /is not a kv data file .*; nothing was written\n$/);
  assertEquals(await exists(`${csv}.repaired`), false);
  const missing = await runKv(["repair", `${dir.path}/nothere.log`], { dir: dir.path });
  assertEquals(missing.code, 2);

  const file = `${dir.path}/kv.log`;
  const server = await startKv(["--data", file], { dir: dir.path });
  await put(server.port, { a: "1", b: "2" });
  await server.stop();
  const damaged = await Deno.readFile(file);
  damaged[0]! ^= 0x01; // "KVLOG 1" no more.
  await Deno.writeFile(file, damaged);
  const serve = await runKv(["serve", "--port", "0", "--data", file], { dir: dir.path });
  assertEquals(serve.code, 1);
  assertMatch(
    serve.stderr,
    /holds kv records: .*"kv repair .*kv\.log" writes a copy without them\n$/,
  );
  const repair = await runKv(["repair", file], { dir: dir.path });
  assertEquals(repair.code, 0, repair.stderr);
  await Deno.rename(`${file}.repaired`, file);
  await using repaired = await startKv(["--data", file], { dir: dir.path });
  assertEquals(await list(repaired.port), ["a, 1", "b, 2"]);
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test("kv serve --data names a leftover FILE.compact it cannot remove, not the log", async () => {
  await using dir = await e2eDir();
  const file = `${dir.path}/kv.log`;
  await Deno.mkdir(`${file}.compact/inside`, { recursive: true }); // Not removable as a file.
  const run = await runKv(["serve", "--port", "0", "--data", file], { dir: dir.path });
  assertEquals(run.code, 1);
  assertMatch(
    run.stderr,
    /^kv: cannot use data file .*kv\.log: cannot remove .*kv\.log\.compact, left beside it by a compaction/,
  );
});

Deno.test("kv repair through a symbolic link writes the copy beside the file it points to, and says to move it there", async () => {
  await using dir = await e2eDir();
  await Deno.mkdir(`${dir.path}/real`);
  const real = `${dir.path}/real/kv.log`;
  const link = `${dir.path}/kv.log`;
  const server = await startKv(["--data", real], { dir: dir.path });
  await put(server.port, { a: "1", b: "2", c: "3" });
  await server.stop();
  const damaged = await Deno.readFile(real);
  const record = setRecordBytes(1, 1, false);
  damaged[MAGIC.length + 2 * record - 1]! ^= 0x20; // b's value.
  await Deno.writeFile(real, damaged);
  await run("ln", ["-s", "real/kv.log", link]);
  // kv serve's advice names the file the link points to, as kv repair does.
  const refused = await runKv(["serve", "--port", "0", "--data", link], { dir: dir.path });
  assertEquals(refused.code, 1);
  assertMatch(
    refused.stderr,
    /run "kv repair .*real\/kv\.log": it writes .*real\/kv\.log\.repaired/,
  );
  const repair = await runKv(["repair", link], { dir: dir.path });
  assertEquals(repair.code, 0, repair.stderr);
  assertMatch(repair.stdout, /^.*kv\.log is a symbolic link to .*real\/kv\.log\n/);
  assertMatch(repair.stdout, / {2}mv .*real\/kv\.log\.repaired .*real\/kv\.log\n$/);
  assertEquals(await exists(`${link}.repaired`), false);
  assert(await exists(`${real}.repaired`));
});
