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

import { assert, assertEquals, assertMatch } from "@std/assert";

const SCRIPT = new URL("../bench/crash_states.py", import.meta.url).pathname;

for (const mode of ["always", "everysec"]) {
  Deno.test(`crash states of --fsync ${mode}: every one starts (or refuses naming kv repair) and keeps what it promised`, async () => {
    const { code, stdout, stderr } = await new Deno.Command("python3", {
      args: [
        SCRIPT,
        "--fsync",
        mode,
        "--ops",
        "100",
        "--pause",
        "0.02",
        "--compact-min-bytes",
        "5120",
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
    const [, states, checked] = result!;
    assertEquals(checked, states, "every state built is checked");
    // A log past 4 KiB with a second of writes unsynced: some states have a
    // page of zeros before valid records, which kv serve must refuse (naming
    // kv repair) and kv repair must mend. (A log below 4 KiB, as a floor of
    // 2048 keeps it, has no such state.)
    if (mode === "everysec") assertMatch(out, /^outcomes: .*refused[^:;]*: [1-9]/m);
  });
}
