/**
 * End-to-end: the Python measurement scripts in bench/ say how to run them
 * (`--help`, exit 0) and refuse missing or wrong arguments in one line
 * (exit 2), instead of a traceback or, for load_time.py, a 12-second run
 * that rewrites /tmp/logload. It runs `python3` on them, so it needs
 * `--allow-run=python3`, from `.ci/run`; the scripts' measurements are not
 * run here.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "@std/assert";

const BENCH = new URL("../bench/", import.meta.url).pathname;

async function python(script: string, args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command("python3", {
    args: [`${BENCH}${script}`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

const SCRIPTS = [
  "churn.py",
  "cpu_per_request.py",
  "crash_states.py",
  "fd_limit.py",
  "fill_latency.py",
  "idle_memory.py",
  "input_budget.py",
  "keys_time.py",
  "leak_waves.py",
  "load_time.py",
  "memory_per_key.py",
  "scan_delete.py",
  "soak.py",
];

Deno.test("every bench/ script answers --help with its usage, and runs nothing", async () => {
  for (const script of SCRIPTS) {
    const { code, stdout, stderr } = await python(script, ["--help"]);
    assertEquals(code, 0, `${script}: ${stderr}`);
    assertMatch(stdout, new RegExp(`^usage: ${script.replace(".", "\\.")}`), script);
    assertEquals(stderr, "", script);
  }
});

Deno.test("crash_states.py --help gives each option's default and the quick run", async () => {
  // A full run starts kv on 900 states (minutes of CPU) and checks about
  // 20,000 more in one process: the help must say so before anyone starts
  // one, and how to run the quick subset instead.
  const { stdout } = await python("crash_states.py", ["--help"]);
  const flat = stdout.replace(/\s+/g, " ");
  for (
    const [option, value] of [
      ["--fsync FSYNC", "always,everysec,no"],
      ["--ops OPS", "240"],
      ["--conns CONNS", "2"],
      ["--max-states MAX_STATES", "300"],
      ["--compact-min-bytes COMPACT_MIN_BYTES", "2048"],
      ["--deno DENO", "deno"],
    ]
  ) {
    assertMatch(flat, new RegExp(`${option} [^(]*\\(default: ${value}\\)`), option);
  }
  assert(!flat.includes("(default: None)") && !flat.includes("(default: False)"), stdout);
  assert(
    flat.includes(
      "--fsync always,everysec --ops 100 --pause 0.02 --compact-min-bytes 5120 --max-states 12",
    ),
    stdout,
  );
});

Deno.test("bench/ scripts refuse missing or wrong arguments in one line, with no traceback", async () => {
  const cases: [string, string[], RegExp][] = [
    ["fill_latency.py", [], /arguments are required: port$/],
    ["keys_time.py", [], /arguments are required: port$/],
    ["scan_delete.py", [], /arguments are required: port$/],
    ["scan_delete.py", ["not-a-port"], /argument port: invalid int value: 'not-a-port'$/],
    ["memory_per_key.py", [], /arguments are required: server, loader$/],
    ["memory_per_key.py", ["kv", "nope"], /argument loader: invalid choice: 'nope'/],
    ["load_time.py", ["extra"], /unrecognized arguments: extra$/],
    ["fd_limit.py", ["--server", "nope"], /argument --server: invalid choice: 'nope'/],
    ["input_budget.py", ["--server", "redis", "--kind", "line"], /Redis runs only --kind resp$/],
    ["leak_waves.py", ["--port", "12000"], /--port and --pid go together$/],
    ["leak_waves.py", ["--handshakes", "10"], /--handshakes needs TLS$/],
    ["soak.py", ["--minutes", "0"], /--minutes, --sample and --rate must be positive$/],
    [
      "crash_states.py",
      ["--fsync", "sometimes"],
      /--fsync: .sometimes. is not always, everysec or no$/,
    ],
  ];
  for (const [script, args, message] of cases) {
    const { code, stdout, stderr } = await python(script, args);
    assertEquals(code, 2, `${script} ${args.join(" ")}: ${stderr}`);
    assertEquals(stdout, "");
    assert(!stderr.includes("Traceback"), stderr);
    const last = stderr.trimEnd().split("\n").at(-1)!;
    assertMatch(last, new RegExp(`^${script.replace(".", "\\.")}: error: `));
    assertMatch(last, message);
  }
});
