#!/usr/bin/env python3
"""Memory per key: RSS growth of a kv or Redis server holding 1,000,000 keys
`key:N` with 16-byte values, for BENCHMARKS.md ("Memory per key").

    python3 bench/memory_per_key.py kv|redis loadgen|pipe|pipe-ex

- loadgen: the keys are written by ../shared/perf/loadgen --preload (kv in
  its own protocol, Redis in RESP);
- pipe: by pipelined `SET key value` over RESP;
- pipe-ex: by pipelined `SET key value EX 3600`.

It starts the server itself on port 17001 (loopback), reads VmRSS from
/proc before and after (and Redis's used_memory), and prints one RESULT line.
A measurement, not a test.
"""
import argparse, os, socket, subprocess, sys, time
from proc import status, stop, wait_port
ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("server", choices=["kv", "redis"])
ap.add_argument("loader", choices=["loadgen", "pipe", "pipe-ex"])
args = ap.parse_args()
server, loader = args.server, args.loader
cwd = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOADGEN = os.path.join(cwd, "..", "shared", "perf", "loadgen")
PORT = 17001
N = 1_000_000
if f":{PORT} " in subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout:
    sys.exit("port busy")
if server == "kv":
    cmd = ["deno", "run", "--allow-net", "main.ts", "serve", "--port", str(PORT), "--quiet"]
else:
    cmd = ["redis-server", "--port", str(PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", "/tmp"]
p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
def rss():
    return status(p.pid, "VmRSS") * 1024
def info_used():
    if server != "redis": return None
    out = subprocess.run(["redis-cli", "-p", str(PORT), "info", "memory"], capture_output=True, text=True).stdout
    return int([l for l in out.splitlines() if l.startswith("used_memory:")][0].split(":")[1])
try:
    wait_port(PORT)
except SystemExit:
    stop(p)
    raise
time.sleep(1)
r0, u0 = rss(), info_used()
if loader == "loadgen":
    subprocess.run([LOADGEN, "--proto", "kv" if server == "kv" else "resp", "-p", str(PORT),
                    "-c", "50", "-k", str(N), "-v", "16", "--preload", "-n", "1000"], check=True, stdout=subprocess.DEVNULL)
else:
    ex = b"\r\n$2\r\nEX\r\n$4\r\n3600" if loader == "pipe-ex" else b""
    head = b"*5" if ex else b"*3"
    s = socket.create_connection(("127.0.0.1", PORT))
    val = b"v" * 16
    for start in range(0, N, 10000):
        buf = b"".join(head + b"\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$16\r\n" % (len(b"key:%d" % i), i) + val + ex + b"\r\n"
                       for i in range(start, start + 10000))
        s.sendall(buf)
        got = 0
        while got < 10000 * 5:
            chunk = s.recv(1 << 20)
            if not chunk: sys.exit("closed")
            if b"-" in chunk: sys.exit(chunk[:200])
            got += len(chunk)
    s.close()
time.sleep(3)
r1, u1 = rss(), info_used()
dbsize = subprocess.run(["redis-cli", "-p", str(PORT), "dbsize"], capture_output=True, text=True).stdout.strip()
stop(p)
line = f"RESULT server={server} loader={loader} keys={dbsize} rss_before_MB={r0/2**20:.1f} rss_after_MB={r1/2**20:.1f} rss_per_key={(r1-r0)/N:.1f}"
if u0 is not None: line += f" used_memory_per_key={(u1-u0)/N:.1f}"
print(line)
