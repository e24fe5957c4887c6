#!/usr/bin/env python3
"""What many clients' unfinished requests make the server hold: starts `kv
serve` (or Redis), opens CONNS connections that each send a request of
almost the per-request limit and never its end, and reads the server's
memory (VmRSS and its peak, VmHWM, from /proc) while they hold it, whether
another client is still answered (PING round trips), and the RSS again
once they have all closed (3 s after) and after IDLE seconds more with
no client.

    python3 bench/input_budget.py [--server kv|redis] [--kind line|resp]
        [--conns 500] [--bytes 1048575] [--tail] [--idle 10] [--memory]
        [--cwd DIR] [-- EXTRA SERVE ARGS]

- line: `PING\\n`, then BYTES bytes of a line with no `\\n` (the `PING`
        first, so the unframed pause does not take the line as a request);
- resp: `*3 $3 SET $1 k $1048576` and as much of the value as fits in
        BYTES bytes, headers and all.

With `--tail`, the big request is whole (`PING\\n` then `PUT, k, VALUE\\n`,
or RESP's SET of a value that makes BYTES bytes, headers and all) and a few
bytes of the next one follow it (`PI`, or `*1\\r\\n$4\\r\\nPI`): what a
client that pipelines leaves when it stops between two requests. Its answer
(`Success!`, `+OK`) is not a refusal.

Each connection is then told whether the server closed it or answered it
(an error line): RESULT counts them. `--cwd` serves from another checkout
(to compare before and after); arguments after `--` go to `kv serve`
(say `--max-pending-bytes 1048576`). `--memory` starts kv through
bench/memory_serve.ts, which answers each line on its stdin with
`Deno.memoryUsage()`: a MEMORY line then says V8's heap and the external
memory (ArrayBuffers) at each point, to tell what kv still holds from the
pages the allocator has not given back to the system. A measurement, not a
test: BENCHMARKS.md keeps its numbers. Loopback only, a few seconds of load;
needs `ulimit -n` above CONNS + some (the script raises its own soft limit,
and the server's, to the hard one).
"""
import argparse
import os
import resource
import selectors
import socket
import subprocess
import sys
import time

from proc import rss_mb, start_server, stop

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--server", choices=["kv", "redis"], default="kv")
ap.add_argument("--kind", choices=["line", "resp"], default="line")
ap.add_argument("--conns", type=int, default=500)
ap.add_argument("--bytes", type=int, default=1024 * 1024 - 1)
ap.add_argument("--tail", action="store_true", help="the big request whole, then a few bytes of the next")
ap.add_argument("--idle", type=float, default=10, help="seconds idle after the closes' 3 s")
ap.add_argument("--memory", action="store_true", help="kv: also report heap and external memory")
ap.add_argument("--cwd", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ap.add_argument("extra", nargs="*", help="more arguments for kv serve (after --)")
a = ap.parse_args()
if a.memory and a.server != "kv":
    ap.error("--memory is for kv only")
if a.server == "redis" and a.kind != "resp":
    ap.error("Redis runs only --kind resp")

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
if hard < a.conns + 100:
    sys.exit(f"ulimit -Hn is {hard}: too few for {a.conns} connections")


def memory(proc):
    """` heap_mb=H external_mb=E` from bench/memory_serve.ts (with --memory), or ``."""
    if not a.memory or proc.poll() is not None:
        return ""
    proc.stdin.write(b"\n")
    proc.stdin.flush()
    fields = dict(f.split("=") for f in proc.stdout.readline().decode().split()[1:])
    return f" heap_mb={int(fields['heap']) / 2**20:.0f} external_mb={int(fields['external']) / 2**20:.0f}"


def payload():
    if a.tail and a.kind == "line":
        return b"PING\nPUT, k, " + b"a" * (a.bytes - 9) + b"\nPI"
    if a.tail:
        value = a.bytes - 25 - len(str(a.bytes))  # what the headers leave: BYTES in all
        value += len(str(a.bytes)) - len(str(value))
        head = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % value
        return head + b"v" * value + b"\r\n*1\r\n$4\r\nPI"
    if a.kind == "line":
        return b"PING\n" + b"a" * a.bytes
    head = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048576\r\n"
    return head + b"v" * (a.bytes - len(head))


# The answers that are not a refusal: the line protocol's PING's, and with --tail the big request's.
EXPECTED = (b"PONG\n", b"Success!\n", b"+OK\r\n") if a.tail else (b"PONG\n",)


def refused(got):
    """Whether bytes read from a connection hold more than the answers expected."""
    for answer in EXPECTED:
        got = got.replace(answer, b"")
    return bool(got)


def ping_ms(p, tries=5):
    """The slowest of a few PING round trips on a fresh connection, or None if none came in 5 s."""
    worst = 0.0
    with socket.create_connection(("127.0.0.1", p), timeout=5) as s:
        for _ in range(tries):
            t = time.perf_counter()
            s.sendall(b"*1\r\n$4\r\nPING\r\n" if a.kind == "resp" else b"PING\n")
            try:
                got = s.recv(100)
            except socket.timeout:
                return None
            if not got:
                return None
            worst = max(worst, (time.perf_counter() - t) * 1000)
    return worst


server_stderr = open(os.environ.get("SERVER_STDERR", os.devnull), "w")
entry = ("bench/memory_serve.ts",) if a.memory else ("main.ts", "serve")
proc, p = start_server(a.server, a.cwd, a.conns + 10, a.extra, stderr=server_stderr, entry=entry,
                       stdin=subprocess.PIPE if a.memory else None)
try:
    before = rss_mb(proc.pid)
    mem_before = memory(proc)
    data = payload()
    sel = selectors.DefaultSelector()
    socks = []
    sent = {}
    answered = closed = 0
    for _ in range(a.conns):
        s = socket.create_connection(("127.0.0.1", p))
        s.setblocking(False)
        socks.append(s)
        sent[s] = 0
        sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ)
    t0 = time.monotonic()
    state = {}  # what each connection saw: "answered" (bytes came back), "closed"
    while time.monotonic() - t0 < 30:
        writing = [s for s in socks if sent[s] < len(data) and s not in state]
        if not writing and time.monotonic() - t0 > 1:
            break
        for key, ev in sel.select(timeout=0.2):
            s = key.fileobj
            if ev & selectors.EVENT_READ:
                try:
                    got = s.recv(65536)
                except OSError:
                    got = b""
                if got:
                    # The line protocol's PING answers PONG first: that is not a refusal.
                    if refused(got):
                        state.setdefault(s, "answered")
                else:
                    state[s] = "closed"
                    sel.unregister(s)
                    continue
            if ev & selectors.EVENT_WRITE and sent[s] < len(data):
                try:
                    sent[s] += s.send(data[sent[s]:sent[s] + 262144])
                except OSError:
                    state[s] = "closed"
                    sel.unregister(s)
                    continue
                if sent[s] == len(data):
                    sel.modify(s, selectors.EVENT_READ)
    # Let the server read what the sockets still buffer, until its RSS stops growing.
    last = -1.0
    for _ in range(40):
        time.sleep(0.25)
        rss = rss_mb(proc.pid)
        if abs(rss - last) < 1:
            break
        last = rss
    for key, ev in sel.select(timeout=0.5):
        s = key.fileobj
        if not ev & selectors.EVENT_READ:
            continue
        try:
            got = s.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            got = b""
        if got and refused(got):
            state.setdefault(s, "answered")
        elif not got:
            state[s] = "closed"
    held = rss_mb(proc.pid)
    mem_held = memory(proc)
    peak = rss_mb(proc.pid, "VmHWM")
    alive = proc.poll() is None
    ping = ping_ms(p) if alive else None
    answered = sum(1 for v in state.values() if v == "answered")
    closed = sum(1 for v in state.values() if v == "closed")
    for s in socks:
        s.close()
    # Give the server time to see the closes, and its collector to run.
    time.sleep(3)
    after = rss_mb(proc.pid) if proc.poll() is None else None
    mem_after = memory(proc)
    ping_after = ping_ms(p) if after is not None else None
    time.sleep(a.idle)
    idle = rss_mb(proc.pid) if proc.poll() is None else None
    mem_idle = memory(proc)
    print(f"RESULT server={a.server} kind={a.kind}{'+tail' if a.tail else ''} conns={a.conns} bytes={a.bytes} "
          f"extra={' '.join(a.extra) or '-'} rss_before_mb={before:.0f} rss_held_mb={held:.0f} "
          f"hwm_mb={peak:.0f} answered={answered} closed={closed} alive={alive} "
          f"ping_ms={'none' if ping is None else f'{ping:.1f}'} "
          f"rss_after_close_mb={'dead' if after is None else f'{after:.0f}'} "
          f"ping_after_ms={'none' if ping_after is None else f'{ping_after:.1f}'} "
          f"rss_idle_mb={'dead' if idle is None else f'{idle:.0f}'} idle_s={a.idle:g}")
    if a.memory:
        print(f"MEMORY before:{mem_before} held:{mem_held} after_close:{mem_after} idle:{mem_idle}")
finally:
    stop(proc)
