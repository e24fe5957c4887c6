#!/usr/bin/env python3
"""Server CPU per request under workload (ii): how many microseconds of user
and of system (kernel) time a server spends on each request, read from
/proc before and after a loadgen run, for BENCHMARKS.md ("Where a request's
time goes").

    python3 bench/cpu_per_request.py [--runs 3] [--proto kv|resp] -- COMMAND...

COMMAND starts the server; it gets `--port PORT` appended unless it holds
`{port}` (Redis: `redis-server --port {port} --save '' --appendonly no`).
Examples, from the project root:

    python3 bench/cpu_per_request.py -- deno run --allow-net main.ts serve --quiet
    python3 bench/cpu_per_request.py -- deno run --allow-net bench/io_ceiling.ts
    python3 bench/cpu_per_request.py --proto resp -- \\
        redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no

Each run: loadgen -c 50 -P 16 for 6 s after a preload and a 2 s warm-up.
Loadgen shares the machine's cores, so a server that needs less CPU per
request is not always faster: the ratios of compare.py are the verdict;
this says where the time goes. A measurement, not a test.
"""
import argparse, os, re, shlex, subprocess, sys
from proc import stop, wait_port

cwd = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOADGEN = os.path.join(cwd, "..", "shared", "perf", "loadgen")
PORT = 17021
TICK = os.sysconf("SC_CLK_TCK")

ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--proto", choices=["kv", "resp"], default="kv")
ap.add_argument("command", nargs=argparse.REMAINDER)
args = ap.parse_args()
cmd = [a for a in args.command if a != "--"]
if not cmd:
    sys.exit("usage: cpu_per_request.py [--runs N] [--proto kv|resp] -- COMMAND...")
if any("{port}" in a for a in cmd):
    cmd = [a.replace("{port}", str(PORT)) for a in cmd]
else:
    cmd += ["--port", str(PORT)]
if not os.access(LOADGEN, os.X_OK):
    sys.exit("build the load generator first: make -C ../shared/perf")


def cpu_by_thread(pid):
    """{thread name: [user ticks, system ticks]} summed over the process's threads."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
            fields = open(f"/proc/{pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # The thread ended meanwhile.
        ticks = out.setdefault(name, [0, 0])
        ticks[0] += int(fields[11])
        ticks[1] += int(fields[12])
    return out


def loadgen(seconds, *extra):
    run = subprocess.run(
        [LOADGEN, "--proto", args.proto, "-p", str(PORT), "-c", "50", "-P", "16", "-d", str(seconds), *extra],
        capture_output=True, text=True)
    result = [line for line in run.stdout.splitlines() if line.startswith("RESULT")]
    if not result:
        sys.exit(f"loadgen printed no RESULT line: {run.stderr.strip()}")
    return int(re.search(r" ops=(\d+)", result[0]).group(1))


server = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          start_new_session=True)
try:
    wait_port(PORT)
    loadgen(2, "--preload")
    print(f"# {shlex.join(cmd)}")
    for run in range(args.runs):
        before = cpu_by_thread(server.pid)
        ops = loadgen(6)
        after = cpu_by_thread(server.pid)
        parts = []
        total = 0.0
        for name, (user, system) in sorted(after.items()):
            u0, s0 = before.get(name, [0, 0])
            du, ds = (user - u0) / TICK * 1e6 / ops, (system - s0) / TICK * 1e6 / ops
            total += du + ds
            if du + ds >= 0.005:
                parts.append(f"{name}: user {du:.3f} sys {ds:.3f}")
        print(f"RESULT ops_per_s={ops / 6:.0f} cpu_us_per_request={total:.3f} " + "; ".join(parts))
finally:
    stop(server)
