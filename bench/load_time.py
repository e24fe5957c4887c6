#!/usr/bin/env python3
"""Loading a million keys: kv loading a --data log against Redis loading an
append-only file of the same SETs, three starts each, for BENCHMARKS.md
("Loading a million keys").

    python3 bench/load_time.py

It writes both files with bench/log_load.ts into /tmp/logload, has Redis
build its AOF from the SETs (redis-cli --pipe), then starts each server
three times on port 17003 (loopback) and prints what each logged about its
load and how long it took to accept clients. A measurement, not a test.
"""
import argparse, os, signal, subprocess, sys, time, shutil
from proc import wait_port
# No arguments; --help says what it does before it rewrites /tmp/logload.
argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
D = "/tmp/logload"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
P = 17003
def busy(): return f":{P} " in subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout
def du(path):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs) if os.path.isdir(path) else os.path.getsize(path)
shutil.rmtree(D, ignore_errors=True); os.makedirs(D + "/redis")
subprocess.run(["deno", "run", f"--allow-read={D}", f"--allow-write={D}", "bench/log_load.ts", D, "1000000"], cwd=REPO, check=True)
print(f"kv.log {du(D+'/kv.log')} bytes, sets.resp {du(D+'/sets.resp')} bytes")
if busy(): sys.exit("port busy")
rcmd = ["redis-server", "--port", str(P), "--bind", "127.0.0.1", "--dir", D + "/redis", "--appendonly", "yes", "--save", "", "--logfile", D + "/redis.log"]
r = subprocess.Popen(rcmd, start_new_session=True); wait_port(P, 12)
subprocess.run(f"redis-cli -p {P} --pipe < {D}/sets.resp", shell=True, check=True)
subprocess.run(["redis-cli", "-p", str(P), "shutdown"]); r.wait()
print(f"redis appendonlydir {du(D+'/redis/appendonlydir')} bytes: {os.listdir(D+'/redis/appendonlydir')}")
for rep in range(3):
    # kv
    if busy(): sys.exit("port busy")
    t0 = time.perf_counter()
    k = subprocess.Popen(["deno", "run", "--allow-net", f"--allow-read={D}", f"--allow-write={D}", "main.ts", "serve", "--port", str(P), "--data", D + "/kv.log"],
                         cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, start_new_session=True)
    wait_port(P, 12); t1 = time.perf_counter()
    n = subprocess.run(["redis-cli", "-p", str(P), "dbsize"], capture_output=True, text=True).stdout.strip()
    os.killpg(k.pid, signal.SIGTERM); err = k.communicate()[1]
    m = [l for l in err.splitlines() if "loaded" in l]
    print(f"run {rep+1} kv: {m[0] if m else err[:300]!r} dbsize={n} start-to-listen {t1-t0:.3f} s; kv.log now {du(D+'/kv.log')} bytes")
    # redis
    if busy(): sys.exit("port busy")
    open(D + "/redis.log", "w").close()
    t0 = time.perf_counter()
    r = subprocess.Popen(rcmd, start_new_session=True); wait_port(P, 12); t1 = time.perf_counter()
    # port opens before loading finishes? wait for loading:0
    while "loading:1" in subprocess.run(["redis-cli", "-p", str(P), "info", "persistence"], capture_output=True, text=True).stdout:
        time.sleep(0.02)
    t2 = time.perf_counter()
    n = subprocess.run(["redis-cli", "-p", str(P), "dbsize"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["redis-cli", "-p", str(P), "shutdown"], capture_output=True); r.wait()
    log = [l for l in open(D + "/redis.log") if "loaded" in l.lower()]
    print(f"run {rep+1} redis: {' | '.join(x.strip() for x in log)} dbsize={n} start-to-listen {t1-t0:.3f} s, to loading:0 {t2-t0:.3f} s")
