/**
 * A real full disk: the data folder is a tiny tmpfs (mounted with `mount`,
 * as root or through `sudo -n`). Writes that do not fit are answered with
 * an `Error:` line and not applied, reads go on, writes succeed again once
 * there is room, and the file holds no half record: after a kill -9 it
 * loads with every acknowledged write and no torn tail.
 *
 * Needs: --allow-run (the Deno binary, mount, umount, sudo),
 * --allow-net=127.0.0.1, --allow-read=.e2e-tmp --allow-write=.e2e-tmp
 * (see .ci/run).
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "@std/assert";
import { errorMessage } from "../net/conn.ts";
import { e2eDir, RawConn, startKv } from "../testing/mod.ts";

const SIZE = "256k";
const FILLER_BYTES = 64 * 1024;

/** Runs `program args`, as root if we are, else through `sudo -n`; returns whether it worked. */
async function asRoot(program: string, args: string[]): Promise<{ ok: boolean; error: string }> {
  const errors: string[] = [];
  for (const [command, argv] of [[program, args], ["sudo", ["-n", program, ...args]]] as const) {
    try {
      const output = await new Deno.Command(command, {
        args: [...argv],
        stdout: "null",
        stderr: "piped",
      })
        .output();
      if (output.success) return { ok: true, error: "" };
      errors.push(`${command}: ${new TextDecoder().decode(output.stderr).trim()}`);
    } catch (error) {
      errors.push(`${command}: ${errorMessage(error)}`);
    }
  }
  return { ok: false, error: errors.join("; ") };
}

Deno.test("kv serve --data on a full disk: errors for writes, reads go on, writes again once there is room", async () => {
  await using dir = await e2eDir();
  await using _tmpfs = await mountTmpfs(dir.path);
  {
    const file = `${dir.path}/kv.log`;
    const filler = `${dir.path}/filler`;
    await Deno.writeFile(filler, new Uint8Array(FILLER_BYTES));
    await using server = await startKv(["--data", file, "--fsync", "always"], { dir: dir.path });
    await using conn = await RawConn.connect(server.port);
    const value = "v".repeat(1000);
    let stored = 0;
    let answer = "";
    while (true) {
      await conn.send(`PUT, k${stored}, ${value}\n`);
      answer = (await conn.readLine())!;
      if (answer !== "Success!") break;
      stored++;
    }
    assertMatch(answer, /^Error: not saved: the data file could not be written/);
    assert(stored > 100, `${stored} values fit`);
    // Still full: the same PUT fails again, between reads that go on.
    await conn.send(`GET, k0\nPUT, k${stored}, ${value}\nGET, k${stored}\n`);
    const [got, again, missing] = await conn.readLines(3);
    assertEquals(got, value, "reads go on");
    assertMatch(again!, /^Error: not saved/);
    assertEquals(missing, "Not exist!", "the failed PUT left nothing");
    await server.waitForStderr(/cannot write data file .*: No space left on device/);
    await Deno.remove(filler);
    await conn.send(`PUT, k${stored}, ${value}\nDELETE, k1\n`);
    assertEquals(await conn.readLines(2), ["Success!", "Success!"], "room again");
    await server.kill9();
    await using restarted = await startKv(["--data", file], { dir: dir.path });
    assertMatch(restarted.stderr, new RegExp(`loaded ${stored} keys`));
    assert(!restarted.stderr.includes("dropped"), "no half record was left in the file");
    await using check = await RawConn.connect(restarted.port);
    await check.send(`GET, k${stored}\nGET, k1\n`);
    assertEquals(await check.readLines(2), [value, "Not exist!"]);
    await restarted.stop();
  }
});

/** Mounts a tiny tmpfs on `path`, unmounted when disposed. */
async function mountTmpfs(path: string): Promise<AsyncDisposable> {
  const mounted = await asRoot("mount", [
    "-t",
    "tmpfs",
    "-o",
    `size=${SIZE},mode=0777`,
    "tmpfs",
    path,
  ]);
  assert(mounted.ok, `this test mounts a ${SIZE} tmpfs, as root or with sudo -n: ${mounted.error}`);
  return {
    async [Symbol.asyncDispose]() {
      const unmounted = await asRoot("umount", [path]);
      assert(unmounted.ok, `cannot unmount ${path}: ${unmounted.error}`);
    },
  };
}
