/**
 * End-to-end: a quick run of bench/crash_states.py, which records `kv serve
 * --data` under strace while a client writes (with compactions), builds the
 * states a power cut may leave the files in at each boundary between two
 * calls (unsynced writes cut short or with a page of zeros, folder changes
 * since its last fsync undone), and checks every one through kv serve's own
 * start and `kv repair` in one Deno process, and a dozen also by starting
 * kv serve (and `kv repair`) processes on them, which must agree.
 * `--fsync always` must keep every acknowledged write in every state;
 * `everysec` may lose only the last ~2 s. It runs `python3` (which runs
 * strace and this Deno binary), so it needs `--allow-run=python3` and
 * strace installed, from `.ci/run`.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";

const SCRIPT = new URL("../bench/crash_states.py", import.meta.url).pathname;

for (const mode of ["always", "everysec"]) {
  Deno.test(`crash states of --fsync ${mode}: every one starts (or refuses naming kv repair) and keeps what it promised`, async () => {
    const { code, stdout, stderr } = await new Deno.Command("python3", {
      args: [
        SCRIPT,
        "--fsync",
        mode,
        "--ops",
        "80",
        "--pause",
        "0.02",
        "--max-states",
        "12",
        "--deno",
        Deno.execPath(),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout);
    assertEquals(code, 0, `${out}\n${new TextDecoder().decode(stderr)}`);
    // The run compacted at least once, built states, checked every one of
    // them in one Deno process, and some with kv serve processes too.
    const result = out.match(
      /RESULT mode=\S+ .* compactions=[1-9]\d* .* states=(\d+) checked=(\d+) started=([1-9]\d*) failed=0 /,
    );
    assert(result !== null, out);
    assertEquals(result[2], result[1], "every state built is checked");
  });
}
