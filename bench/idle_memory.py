#!/usr/bin/env python3
"""What a burst leaves behind on an idle connection: starts `kv serve` (or
Redis), opens CONNS connections that each send `PING` and read its answer,
then sends each one a burst of about 64 KiB, reads every answer, and lets
them all sit idle. Prints the server's RSS (VmRSS from /proc) before the
burst, right after it, a second later, and after a few more seconds, with
the growth per connection, in one RESULT line.

    python3 bench/idle_memory.py [--server kv|redis] [--burst get|put|resp]
        [--conns 2000] [--burst-bytes 65536] [--cwd DIR]

- get:  pipelined `GET, k` lines (k holds a 16-byte value, so the answers
        come to about twice the requests);
- put:  one `PUT, k, <value>` line of BURST_BYTES;
- resp: pipelined RESP `GET k` (Redis can run this one too).

`--cwd` serves from another checkout (to compare before and after). The
connections are driven together by one event loop (selectors), all bursts
in flight at once. A measurement, not a test: BENCHMARKS.md keeps its
numbers. Needs `ulimit -n` above CONNS + some.
"""
import argparse
import os
import selectors
import socket
import sys
import time

from proc import rss_mb, start_server, stop
from resp_probe import resp

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--server", choices=["kv", "redis"], default="kv")
ap.add_argument("--burst", choices=["get", "put", "resp"], default="get")
ap.add_argument("--conns", type=int, default=2000)
ap.add_argument("--burst-bytes", type=int, default=64 * 1024)
ap.add_argument("--cwd", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
a = ap.parse_args()
if a.server == "redis" and a.burst != "resp":
    sys.exit("Redis runs only --burst resp")


def run(socks, payload, answers):
    """Sends `payload` on every socket and reads until each has `answers` answer lines."""
    sel = selectors.DefaultSelector()
    state = {}
    for s in socks:
        state[s] = [memoryview(payload), 0]
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    left = len(socks)
    while left:
        for key, events in sel.select(10):
            s = key.fileobj
            st = state[s]
            if events & selectors.EVENT_WRITE and st[0]:
                st[0] = st[0][s.send(st[0]):]
                if not st[0]:
                    sel.modify(s, selectors.EVENT_READ)
            if events & selectors.EVENT_READ:
                chunk = s.recv(1 << 20)
                if not chunk:
                    sys.exit("the server closed a connection")
                st[1] += chunk.count(b"\n")
                if st[1] >= answers and not st[0]:
                    sel.unregister(s)
                    left -= 1
    sel.close()


proc, p = start_server(a.server, a.cwd, a.conns + 10)
try:
    value = b"v" * 16
    with socket.create_connection(("127.0.0.1", p)) as s:
        s.sendall(resp(b"SET", b"k", value) if a.burst == "resp" else b"PUT, k, " + value + b"\n")
        s.recv(100)
    socks = []
    for _ in range(a.conns):
        s = socket.create_connection(("127.0.0.1", p))
        s.setblocking(False)
        socks.append(s)
    if a.burst == "resp":
        run(socks, resp(b"PING"), 1)
        one = resp(b"GET", b"k")
        burst, answers = one * (a.burst_bytes // len(one)), 2 * (a.burst_bytes // len(one))  # $16, value
    elif a.burst == "get":
        run(socks, b"PING\n", 1)
        burst, answers = b"GET, k\n" * (a.burst_bytes // 7), a.burst_bytes // 7
    else:
        run(socks, b"PING\n", 1)
        burst, answers = b"PUT, k, " + b"w" * (a.burst_bytes - 9) + b"\n", 1
    time.sleep(1)
    before = rss_mb(proc.pid)
    started = time.time()
    run(socks, burst, answers)
    took = time.time() - started
    after = rss_mb(proc.pid)
    time.sleep(1)
    second = rss_mb(proc.pid)
    time.sleep(4)
    later = rss_mb(proc.pid)
    for s in socks:
        s.close()
finally:
    stop(proc)
per = lambda mb: (mb - before) * 1024 / a.conns
print(f"RESULT server={a.server} burst={a.burst} conns={a.conns} burst_bytes={len(burst)} took_s={took:.1f} "
      f"rss_before_MB={before:.0f} rss_after_MB={after:.0f} rss_1s_MB={second:.0f} rss_5s_MB={later:.0f} "
      f"per_conn_after_KiB={per(after):.1f} per_conn_1s_KiB={per(second):.1f} per_conn_5s_KiB={per(later):.1f}")
