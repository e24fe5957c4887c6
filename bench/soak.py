#!/usr/bin/env python3
"""Does anything in kv drift over time? Runs two kv servers with everything
on, a modest mixed load against both for a long stretch, samples each server
every --sample seconds into a CSV, then stops them (SIGTERM), restarts each on
its data file and checks every acknowledged write the driver remembers.

    python3 bench/soak.py [--minutes 25] [--sample 30] [--dir /tmp/soak]
        [--loadgen ../shared/perf/loadgen] [--rate 1.0] [--cwd .] [--gc]

Server A: `kv serve --udp --data A/kv.log --fsync everysec
--compact-min-bytes 1048576`; server B: the same with a password and TLS (the
test certificate of testing/tls.ts) instead of --udp (the two cannot be
combined, so they are two processes). The load, all on loopback, each
worker paced (--rate scales them all; 1.0 keeps both servers and the driver
together near a fifth of one core):

- line protocol on A: PUT/GET/DELETE on 3,000 keys, a LIST every 10 s
  (every GET and LIST is checked against the driver's model);
- RESP on A: SET EX/PX on 5,000 keys that keep expiring, INCR and APPEND
  (APPEND's keys are cut back with SET once long), checked by value;
- WATCH/MULTI/EXEC on A: a second client changes the watched key in about a
  third of the rounds, and EXEC must then abort (nil); some rounds end with
  UNWATCH, DISCARD or a close mid-transaction;
- a full SCAN (COUNT 100) every 5 s; clients that connect and leave (a PING,
  nothing, a reset, half a request); UDP datagrams (PUT/GET on 500 keys);
- TLS on B: AUTH, then PUT/GET over line and RESP clients that come and go;
- `loadgen` bursts (1 s, 2 connections, kv and resp in turn) every 60 s.

An idle probe client on A sends PING and GET every second; each sample has
the p50 and max of both over the interval. A sample (per server): VmRSS,
INFO used_memory, open descriptors, the data file's size, compactions so
far (the "compacted data file" log lines), DBSIZE, expired_keys,
connected_clients, CPU seconds, stderr lines, and the driver's operations.
`--gc` runs each server in a wrapper started with --expose-gc that calls
gc() every 10 s: the gc_heap column (V8's heap after the last gc()) tells
garbage from a leak, which used_memory and RSS cannot.

Exit status 1, with one line saying why, if a check failed (a wrong answer
during the run, a server that did not exit 0 within the grace period, or a
key missing or wrong after the restart). A measurement for BENCHMARKS.md
("A long mixed soak"). The servers are soak_server.py's, the connection and
the pace soak_client.py's, the workloads and their checks soak_workloads.py's,
the probe and the samples soak_sampler.py's.
"""
import argparse
import asyncio
import csv
import os
import shutil
import sys
import time

from soak_client import Conn, Tally, paced
from soak_sampler import COLUMNS, Probe, Sampler
from soak_server import Server, write_gc_wrapper
from soak_workloads import (LineWorker, RespWorker, ScanWorker, TlsWorker, UdpWorker, WatchWorker, churn_step,
                            loadgen_bursts)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=25.0)
    ap.add_argument("--sample", type=float, default=30.0, help="seconds between samples")
    ap.add_argument("--dir", default="/tmp/soak", help="data files, logs and the CSV (a new folder, or one of an earlier soak: emptied first)")
    ap.add_argument("--loadgen", default=None, help="path of ../shared/perf/loadgen (default: there, if built)")
    ap.add_argument("--rate", type=float, default=1.0, help="scales every worker's pace")
    ap.add_argument("--cwd", default=".", help="the kv checkout (main.ts)")
    ap.add_argument("--gc", action="store_true",
                    help="run each server in a wrapper that calls gc() every 10 s and logs the heap after it "
                         "(\"GC heapUsed=...\" on its stderr; the gc_heap column): garbage told from a leak")
    a = ap.parse_args()
    if a.minutes <= 0 or a.sample <= 0 or a.rate <= 0:
        ap.error("--minutes, --sample and --rate must be positive")
    if a.loadgen is None:
        guess = os.path.join(a.cwd, "..", "shared", "perf", "loadgen")
        a.loadgen = guess if os.access(guess, os.X_OK) else ""
    return a


async def run(a, servers, tally, models):
    """The load on both servers for --minutes, sampled every --sample s."""
    A, B = servers
    model_a, model_b = models
    f = open(os.path.join(a.dir, "samples.csv"), "w", newline="")
    writer = csv.DictWriter(f, COLUMNS)
    writer.writeheader()
    print(",".join(COLUMNS), flush=True)
    probe = Probe()
    sampler = Sampler(servers, tally, probe, writer, time.monotonic())
    tasks = [
        asyncio.create_task(paced(60, LineWorker(A, tally, model_a).step, a.rate, tally)),
        asyncio.create_task(paced(60, RespWorker(A, tally, model_a).step, a.rate, tally)),
        asyncio.create_task(paced(10, WatchWorker(A, tally, model_a).step, a.rate, tally)),
        asyncio.create_task(paced(0.2, ScanWorker(A, tally, model_a).step, a.rate, tally)),
        asyncio.create_task(paced(8, lambda: churn_step(A, tally), a.rate, tally)),
        asyncio.create_task(paced(2, lambda: churn_step(B, tally), a.rate, tally)),
        asyncio.create_task(paced(20, UdpWorker(A, tally, model_a).step, a.rate, tally)),
        asyncio.create_task(paced(15, TlsWorker(B, tally, model_b).step, a.rate, tally)),
        asyncio.create_task(paced(5, TlsWorker(B, tally, model_b).step, a.rate, tally)),
        asyncio.create_task(probe.run(A, tally)),
        asyncio.create_task(loadgen_bursts(A, a.loadgen, tally)),
        asyncio.create_task(sampler.run(a.sample)),
    ]
    await asyncio.sleep(a.minutes * 60)
    # One last sample with the load stopped and the expiring keys gone.
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(4)
    last = asyncio.create_task(sampler.run(a.sample))
    await asyncio.sleep(1)
    last.cancel()
    await asyncio.gather(last, return_exceptions=True)
    f.close()


async def verify(srv, tally, model):
    """Reads back every key of the model; returns (keys present, keys wrong)."""
    c = await Conn.open(srv, tally, kind="resp")
    bad = 0
    for k, v in model.items():
        if k.endswith("?"):
            continue
        got = await c.cmd("GET", k)
        got = got.decode() if isinstance(got, bytes) else got
        if got != v:
            bad += 1
            if bad <= 5:
                tally.fail(f"after restart {srv.name}: {k} is {got!r}, expected {v!r}")
    c.close()
    return sum(1 for k, v in model.items() if v is not None and not k.endswith("?")), bad


def main():
    a = parse_args()
    if os.path.isdir(a.dir):
        stray = set(os.listdir(a.dir)) - {"A", "B", "samples.csv", "gc_wrapper.ts"}
        if stray:
            sys.exit(f"soak: --dir {a.dir} holds files of something else ({sorted(stray)[0]}): give an empty or new folder")
        shutil.rmtree(a.dir)
    os.makedirs(a.dir)
    wrapper = write_gc_wrapper(a.dir, a.cwd) if a.gc else None
    servers = [Server("A", False, a.dir, a.cwd, wrapper), Server("B", True, a.dir, a.cwd, wrapper)]
    tally = Tally()
    models = ({}, {})  # A's and B's acknowledged writes (soak_workloads.py)
    for s in servers:
        s.start()
    print(f"# A (plain, --udp) port {servers[0].port} pid {servers[0].proc.pid}; "
          f"B (TLS, password) port {servers[1].port} pid {servers[1].proc.pid}", flush=True)
    try:
        asyncio.run(run(a, servers, tally, models))
        for s in servers:
            rc, secs = s.stop()
            print(f"# {s.name}: SIGTERM -> exit {rc} in {secs:.2f} s", flush=True)
            if rc != 0:
                tally.fail(f"{s.name} exited {rc} after SIGTERM")
        for s, model in zip(servers, models):
            s.start()
            with open(s.stderr_path) as f:
                said = "".join(ln for ln in f if not ln.startswith("GC "))
            print(f"# {s.name} restarted: {said.strip()}", flush=True)
            present, bad = asyncio.run(verify(s, tally, model))
            print(f"# {s.name} after restart: {len(model)} keys in the model, {present} present, {bad} wrong",
                  flush=True)
            rc, secs = s.stop()
            if rc != 0:
                tally.fail(f"{s.name} (restarted) exited {rc} after SIGTERM")
    finally:
        for s in servers:
            s.kill()
    print(f"# {len(tally.failures)} failures; samples in {os.path.join(a.dir, 'samples.csv')}")
    if tally.failures:
        sys.exit(f"soak: {tally.failures[0]}")


if __name__ == "__main__":
    main()
