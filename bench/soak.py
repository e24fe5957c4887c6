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
("A long mixed soak").
"""
import argparse
import asyncio
import csv
import os
import random
import shutil
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import time

from certs import pem_blocks, write_private, write_test_certificate
from proc import cpu_seconds, open_fds, served_port, status
from resp_probe import resp

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

PASSWORD = "soak-password"
GC_WRAPPER = os.path.join(a.dir, "gc_wrapper.ts")
GC_WRAPPER_TEXT = """// soak.py --gc: kv serve, with gc() every 10 s and the heap after it on stderr.
import { main } from "%s";
const gc = (globalThis as unknown as { gc: () => void }).gc;
setInterval(() => {
  gc();
  const m = Deno.memoryUsage();
  console.error(`GC heapUsed=${m.heapUsed} external=${m.external} rss=${m.rss}`);
}, 10_000);
Deno.exit(await main(Deno.args));
"""
failures = []
ops = {"n": 0}


def fail(msg):
    if len(failures) < 20:
        print(f"FAIL {msg}", file=sys.stderr, flush=True)
    failures.append(msg)


class Server:
    def __init__(self, name, tls):
        self.name, self.tls = name, tls
        self.dir = os.path.join(a.dir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.data = os.path.join(self.dir, "kv.log")
        self.proc = self.port = None
        self.starts = 0

    def cmd(self):
        cmd = ["deno", "run", "--allow-net", f"--allow-read={self.dir}", f"--allow-write={self.dir}",
               "--unstable-net", *(["--v8-flags=--expose-gc", "--config", os.path.abspath(os.path.join(a.cwd, "deno.json")), GC_WRAPPER] if a.gc else ["main.ts"]), "serve", "--port", "0", "--data", self.data, "--fsync", "everysec",
               "--compact-min-bytes", "1048576"]
        if self.tls:
            _, cert, key = write_test_certificate(self.dir, a.cwd)
            write_private(os.path.join(self.dir, "password"), PASSWORD + "\n")
            cmd += ["--password-file", os.path.join(self.dir, "password"), "--tls-cert", cert, "--tls-key", key]
        else:
            cmd += ["--udp"]
        return cmd

    def start(self):
        self.starts += 1
        self.stderr_path = os.path.join(self.dir, f"stderr{self.starts}.log")
        self.proc = subprocess.Popen(self.cmd(), cwd=a.cwd, stdout=subprocess.PIPE,
                                     stderr=open(self.stderr_path, "w"), start_new_session=True)
        self.port = served_port(self.proc, f"server {self.name}", see=self.stderr_path)

    def stop(self, grace=8.0):
        """SIGTERM; returns (exit status, seconds), None for a server still running after grace."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        return rc, time.monotonic() - t0

    def ssl(self):
        if not self.tls:
            return None
        return ssl.create_default_context(cadata=pem_blocks(a.cwd)[0])


# --- Clients ---------------------------------------------------------------------------------------

class Conn:
    def __init__(self, server, r, w):
        self.server, self.r, self.w = server, r, w

    @classmethod
    async def open(cls, server, auth=True, kind="line"):
        ctx = server.ssl()
        r, w = await asyncio.wait_for(asyncio.open_connection(
            "127.0.0.1", server.port, ssl=ctx, server_hostname="localhost" if ctx else None, limit=1 << 22), 10)
        c = cls(server, r, w)
        if server.tls and auth:
            if kind == "line":
                got = await c.line(f"AUTH, {PASSWORD}")
                if got != "Success!":
                    fail(f"line AUTH answered {got!r}")
            else:
                got = await c.cmd("AUTH", PASSWORD)
                if got != "OK":
                    fail(f"RESP AUTH answered {got!r}")
        return c

    async def line(self, text):
        self.w.write(text.encode() + b"\n")
        ops["n"] += 1
        got = await asyncio.wait_for(self.r.readline(), 10)
        if not got.endswith(b"\n"):
            raise ConnectionError(f"line connection ended: {got!r}")
        return got[:-1].decode()

    async def list(self):
        self.w.write(b"LIST\n")
        ops["n"] += 1
        pairs = {}
        while True:
            got = await asyncio.wait_for(self.r.readline(), 10)
            if got == b"\n":
                return pairs
            if not got.endswith(b"\n"):
                raise ConnectionError("LIST cut")
            text = got[:-1].decode()
            if text == "Not exist!":
                continue
            k, v = text.split(", ", 1)
            pairs[k] = v

    async def cmd(self, *words):
        self.w.write(resp(*words))
        ops["n"] += 1
        return await asyncio.wait_for(self.reply(), 10)

    async def reply(self):
        head = await self.r.readline()
        if not head:
            raise ConnectionError("RESP connection ended")
        t, rest = head[:1], head[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return Exception(rest.decode())
        if t == b":":
            return int(rest)
        if t in (b"$", b"="):
            n = int(rest)
            if n < 0:
                return None
            body = await self.r.readexactly(n + 2)
            return body[:-2]
        if t in (b"*", b"%"):
            n = int(rest)
            if n < 0:
                return None
            return [await self.reply() for _ in range(n * (2 if t == b"%" else 1))]
        if t == b"_":
            return None
        raise ConnectionError(f"unexpected RESP reply {head!r}")

    def close(self, reset=False):
        if reset:
            sock = self.w.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.w.transport.abort()
        else:
            self.w.close()


async def paced(per_second, step):
    """Calls step() about per_second times a second, for ever; a connection error restarts it."""
    period = 1.0 / (per_second * a.rate)
    nxt = time.monotonic()
    while True:
        try:
            await step()
        except (ConnectionError, asyncio.TimeoutError, OSError, asyncio.IncompleteReadError) as e:
            fail(f"{step.__qualname__}: {type(e).__name__}: {e}")
            await asyncio.sleep(1)
        nxt += period
        delay = nxt - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            nxt = time.monotonic()


# Models of acknowledged writes: key -> value (None: deleted). Expiring keys are not kept.
model_a = {}
model_b = {}


def val():
    return f"v{random.getrandbits(40):x}-" + "x" * random.randint(0, 60)


class LineWorker:
    def __init__(self, srv):
        self.srv, self.c, self.last_list = srv, None, time.monotonic()

    async def step(self):
        if self.c is None:
            self.c = await Conn.open(self.srv)
        k = f"line:{random.randrange(3000)}"
        r = random.random()
        if time.monotonic() - self.last_list > 10:
            self.last_list = time.monotonic()
            pairs = await self.c.list()
            for key, v in model_a.items():
                if key.startswith("line:") and pairs.get(key) != v:
                    fail(f"LIST: {key} is {pairs.get(key)!r}, expected {v!r}")
                    break
        elif r < 0.45:
            v = val()
            got = await self.c.line(f"PUT, {k}, {v}")
            if got != "Success!":
                fail(f"PUT answered {got!r}")
            else:
                model_a[k] = v
        elif r < 0.9:
            got = await self.c.line(f"GET, {k}")
            want = model_a.get(k)
            if got != (want if want is not None else "Not exist!"):
                fail(f"GET {k}: {got!r}, expected {want!r}")
        else:
            got = await self.c.line(f"DELETE, {k}")
            if got != ("Success!" if model_a.get(k) is not None else "Not exist!"):
                fail(f"DELETE {k}: {got!r}")
            model_a[k] = None


class RespWorker:
    def __init__(self, srv):
        self.srv, self.c = srv, None

    async def step(self):
        if self.c is None:
            self.c = await Conn.open(self.srv, kind="resp")
        c, r = self.c, random.random()
        if r < 0.5:
            k = f"exp:{random.randrange(5000)}"
            if random.random() < 0.5:
                got = await c.cmd("SET", k, val(), "EX", random.randint(1, 3))
            else:
                got = await c.cmd("SET", k, val(), "PX", random.randint(50, 3000))
            if got != "OK":
                fail(f"SET EX/PX answered {got!r}")
        elif r < 0.65:
            k = f"ctr:{random.randrange(200)}"
            got = await c.cmd("INCR", k)
            want = int(model_a.get(k) or 0) + 1
            if got != want:
                fail(f"INCR {k}: {got!r}, expected {want}")
            model_a[k] = str(got) if isinstance(got, int) else model_a.get(k)
        elif r < 0.8:
            k = f"app:{random.randrange(200)}"
            old = model_a.get(k) or ""
            if len(old) > 2000:
                got = await c.cmd("SET", k, "a")
                if got == "OK":
                    model_a[k] = "a"
            else:
                piece = f"{random.randrange(1000)},"
                got = await c.cmd("APPEND", k, piece)
                if got != len(old) + len(piece):
                    fail(f"APPEND {k}: {got!r}, expected {len(old) + len(piece)}")
                model_a[k] = old + piece
        else:
            k = random.choice([f"line:{random.randrange(3000)}", f"ctr:{random.randrange(200)}"])
            got = await c.cmd("GET", k)
            want = model_a.get(k)
            if (got.decode() if isinstance(got, bytes) else got) != want:
                fail(f"RESP GET {k}: {got!r}, expected {want!r}")


class WatchWorker:
    def __init__(self, srv):
        self.srv, self.c, self.other = srv, None, None

    async def step(self):
        if self.c is None:
            self.c = await Conn.open(self.srv, kind="resp")
            self.other = await Conn.open(self.srv, kind="resp")
        c = self.c
        k = f"w:{random.randrange(100)}"
        await c.cmd("WATCH", k, f"w:{random.randrange(100)}")
        r = random.random()
        touched = False
        if r < 0.3:
            v = val()
            if await self.other.cmd("SET", k, v) == "OK":
                model_a[k] = v
                touched = True
        elif r < 0.35:
            await c.cmd("UNWATCH")
            return
        elif r < 0.4:  # a close mid-transaction
            await c.cmd("MULTI")
            await c.cmd("SET", k, "never")
            c.close(reset=random.random() < 0.5)
            self.c = await Conn.open(self.srv, kind="resp")
            return
        await c.cmd("MULTI")
        v = val()
        q = await c.cmd("SET", k, v)
        if q != "QUEUED":
            fail(f"SET in MULTI answered {q!r}")
        if random.random() < 0.1:
            await c.cmd("DISCARD")
            return
        await c.cmd("INCR", "w:count")
        got = await c.cmd("EXEC")
        if touched:
            if got is not None:
                fail(f"EXEC after a change to the watched key ran: {got!r}")
        elif isinstance(got, list) and got and got[0] == "OK":
            model_a[k] = v
            model_a["w:count"] = str(got[1])
        else:
            fail(f"EXEC answered {got!r}")


class ScanWorker:
    def __init__(self, srv):
        self.srv, self.c = srv, None

    async def step(self):
        if self.c is None:
            self.c = await Conn.open(self.srv, kind="resp")
        cursor, seen = b"0", set()
        while True:
            got = await self.c.cmd("SCAN", cursor, "COUNT", 100)
            cursor, keys = got
            seen.update(keys)
            if cursor == b"0":
                break
        for k in ("ctr:0", "w:count"):
            if model_a.get(k) is not None and k.encode() not in seen:
                fail(f"SCAN missed {k}")


async def churn_step(srv):
    c = await Conn.open(srv, auth=False)
    how = random.randrange(5)
    if how == 0:
        if srv.tls:
            await c.line(f"AUTH, {PASSWORD}")
        got = await c.line("PING")
        if got != "PONG":
            fail(f"PING answered {got!r}")
    elif how == 1:
        got = await c.cmd("PING") if not srv.tls else "PONG"
        if got != "PONG":
            fail(f"RESP PING answered {got!r}")
    elif how == 3:
        c.w.write(b"PUT, half")  # half a request, then gone
        await c.w.drain()
    c.close(reset=random.random() < 0.3)


class Udp(asyncio.DatagramProtocol):
    def __init__(self):
        self.waiting = None

    def datagram_received(self, data, addr):
        if self.waiting and not self.waiting.done():
            self.waiting.set_result(data)


class UdpWorker:
    def __init__(self, srv):
        self.srv, self.t, self.p = srv, None, None

    async def step(self):
        if self.t is None:
            self.t, self.p = await asyncio.get_running_loop().create_datagram_endpoint(
                Udp, remote_addr=("127.0.0.1", self.srv.port))
        k = f"udp:{random.randrange(500)}"
        put = random.random() < 0.5
        v = val()
        self.p.waiting = asyncio.get_running_loop().create_future()
        self.t.sendto((f"PUT, {k}, {v}" if put else f"GET, {k}\nPING").encode())
        ops["n"] += 1
        try:
            got = await asyncio.wait_for(self.p.waiting, 2)
        except asyncio.TimeoutError:
            if put:
                model_a.pop(k, None)  # unknown: sent, no answer seen
                model_a[k + "?"] = v
            return
        if put:
            if got == b"Success!\n":
                model_a[k] = v
            else:
                fail(f"UDP PUT answered {got!r}")
        else:
            want = model_a.get(k)
            if k + "?" not in model_a and got != ((want if want is not None else "Not exist!") + "\nPONG\n").encode():
                fail(f"UDP GET {k}: {got!r}, expected {want!r}")


class TlsWorker:
    """On B: a client that AUTHs, does a few writes and reads, and leaves (or stays a while)."""

    def __init__(self, srv):
        self.srv, self.c, self.left = srv, None, 0

    async def step(self):
        if self.c is None:
            self.kind = random.choice(["line", "resp"])
            self.c = await Conn.open(self.srv, kind=self.kind)
            self.left = random.choice([1, 5, 50, 500])
        k = f"tls:{random.randrange(1000)}"
        v = val()
        if random.random() < 0.5:
            got = await (self.c.line(f"PUT, {k}, {v}") if self.kind == "line" else self.c.cmd("SET", k, v))
            if got in ("Success!", "OK"):
                model_b[k] = v
            else:
                fail(f"TLS PUT answered {got!r}")
        else:
            got = await (self.c.line(f"GET, {k}") if self.kind == "line" else self.c.cmd("GET", k))
            want = model_b.get(k)
            got = got.decode() if isinstance(got, bytes) else got
            if got != (want if want is not None else ("Not exist!" if self.kind == "line" else None)):
                fail(f"TLS GET {k}: {got!r}, expected {want!r}")
        self.left -= 1
        if self.left <= 0:
            self.c.close(reset=random.random() < 0.2)
            self.c = None


# --- The probe and the sampler ---------------------------------------------------------------------

lat = {"ping": [], "get": []}


async def probe(srv):
    c = await Conn.open(srv, kind="resp")
    await c.cmd("SET", "probe", "here")
    while True:
        await asyncio.sleep(1)
        t0 = time.perf_counter()
        await c.cmd("PING")
        t1 = time.perf_counter()
        got = await c.cmd("GET", "probe")
        t2 = time.perf_counter()
        if got != b"here":
            fail(f"probe GET answered {got!r}")
        lat["ping"].append((t1 - t0) * 1e6)
        lat["get"].append((t2 - t1) * 1e6)


def info(text):
    return dict(ln.split(":", 1) for ln in text.decode().split("\r\n") if ":" in ln and not ln.startswith("#"))


def deno_pid(proc):
    """The deno process itself (Popen's pid: deno run execs in place)."""
    return proc.pid


COLUMNS = ["t_s", "server", "vmrss_kb", "used_memory", "used_memory_dataset", "fds", "threads", "data_bytes",
           "compactions", "dbsize", "expires", "expired_keys", "connected_clients", "total_connections",
           "cpu_s", "stderr_lines", "gc_heap", "driver_ops", "ping_p50_us", "ping_max_us", "get_p50_us", "get_max_us"]


async def sampler(servers, writer, t_start):
    conns = {s.name: await Conn.open(s, kind="resp") for s in servers}
    while True:
        pings, gets = lat["ping"], lat["get"]
        lat["ping"], lat["get"] = [], []
        n = ops["n"]
        last_ops, ops["last"] = ops.get("last", 0), n
        for s in servers:
            c = conns[s.name]
            i = info(await c.cmd("INFO"))
            ks = dict(kv.split("=") for kv in i.get("db0", "keys=0,expires=0").split(","))
            pid = deno_pid(s.proc)
            rss, cpu, threads = status(pid, "VmRSS"), cpu_seconds(pid), status(pid, "Threads")
            with open(s.stderr_path, errors="replace") as f:
                lines = f.readlines()
            gcs = [ln for ln in lines if ln.startswith("GC heapUsed=")]
            lines = [ln for ln in lines if not ln.startswith("GC heapUsed=")]
            row = {
                "t_s": round(time.monotonic() - t_start), "server": s.name, "vmrss_kb": rss,
                "used_memory": i["used_memory"], "used_memory_dataset": i["used_memory_dataset"],
                "fds": open_fds(pid), "threads": threads,
                "data_bytes": os.path.getsize(s.data),
                "compactions": sum("compacted data file" in ln for ln in lines),
                "dbsize": await c.cmd("DBSIZE"), "expires": ks.get("expires", 0),
                "expired_keys": i["expired_keys"], "connected_clients": i["connected_clients"],
                "total_connections": i["total_connections_received"], "cpu_s": round(cpu, 2),
                "stderr_lines": len(lines), "driver_ops": n - last_ops,
                "gc_heap": gcs[-1].split()[1].split("=")[1] if gcs else "",
            }
            if s.name == "A":
                for name, xs in (("ping", pings), ("get", gets)):
                    row[f"{name}_p50_us"] = round(statistics.median(xs)) if xs else ""
                    row[f"{name}_max_us"] = round(max(xs)) if xs else ""
            writer.writerow(row)
            print(",".join(str(row.get(c, "")) for c in COLUMNS), flush=True)
        await asyncio.sleep(a.sample)


async def loadgen_bursts(srv):
    if not a.loadgen:
        return
    turn = 0
    while True:
        await asyncio.sleep(60)
        proto = ("kv", "resp")[turn % 2]
        turn += 1
        p = await asyncio.create_subprocess_exec(
            a.loadgen, "--proto", proto, "-p", str(srv.port), "-c", "2", "-P", "1", "-d", "1", "-k", "3000",
            "--timeout", "20", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await p.communicate()
        last = out.decode().strip().splitlines()[-1:] or [""]
        if p.returncode != 0:
            fail(f"loadgen {proto}: exit {p.returncode}: {last[0]}")


async def run(servers):
    A, B = servers
    t_start = time.monotonic()
    f = open(os.path.join(a.dir, "samples.csv"), "w", newline="")
    writer = csv.DictWriter(f, COLUMNS)
    writer.writeheader()
    print(",".join(COLUMNS), flush=True)
    tasks = [
        asyncio.create_task(paced(60, LineWorker(A).step)),
        asyncio.create_task(paced(60, RespWorker(A).step)),
        asyncio.create_task(paced(10, WatchWorker(A).step)),
        asyncio.create_task(paced(0.2, ScanWorker(A).step)),
        asyncio.create_task(paced(8, lambda: churn_step(A))),
        asyncio.create_task(paced(2, lambda: churn_step(B))),
        asyncio.create_task(paced(20, UdpWorker(A).step)),
        asyncio.create_task(paced(15, TlsWorker(B).step)),
        asyncio.create_task(paced(5, TlsWorker(B).step)),
        asyncio.create_task(probe(A)),
        asyncio.create_task(loadgen_bursts(A)),
        asyncio.create_task(sampler(servers, writer, t_start)),
    ]
    await asyncio.sleep(a.minutes * 60)
    # One last sample with the load stopped and the expiring keys gone.
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(4)
    last = asyncio.create_task(sampler(servers, writer, t_start))
    await asyncio.sleep(1)
    last.cancel()
    await asyncio.gather(last, return_exceptions=True)
    f.close()


async def verify(srv, model):
    c = await Conn.open(srv, kind="resp")
    bad = 0
    for k, v in model.items():
        if k.endswith("?"):
            continue
        got = await c.cmd("GET", k)
        got = got.decode() if isinstance(got, bytes) else got
        if got != v:
            bad += 1
            if bad <= 5:
                fail(f"after restart {srv.name}: {k} is {got!r}, expected {v!r}")
    c.close()
    return sum(1 for k, v in model.items() if v is not None and not k.endswith("?")), bad


def main():
    if os.path.isdir(a.dir):
        stray = set(os.listdir(a.dir)) - {"A", "B", "samples.csv", "gc_wrapper.ts"}
        if stray:
            sys.exit(f"soak: --dir {a.dir} holds files of something else ({sorted(stray)[0]}): give an empty or new folder")
        shutil.rmtree(a.dir)
    os.makedirs(a.dir)
    if a.gc:
        with open(GC_WRAPPER, "w") as f:
            f.write(GC_WRAPPER_TEXT % ("file://" + os.path.abspath(os.path.join(a.cwd, "cli", "main.ts"))))
    servers = [Server("A", tls=False), Server("B", tls=True)]
    for s in servers:
        s.start()
    print(f"# A (plain, --udp) port {servers[0].port} pid {servers[0].proc.pid}; "
          f"B (TLS, password) port {servers[1].port} pid {servers[1].proc.pid}", flush=True)
    try:
        asyncio.run(run(servers))
        for s in servers:
            rc, secs = s.stop()
            print(f"# {s.name}: SIGTERM -> exit {rc} in {secs:.2f} s", flush=True)
            if rc != 0:
                fail(f"{s.name} exited {rc} after SIGTERM")
        for s, model in zip(servers, (model_a, model_b)):
            s.start()
            with open(s.stderr_path) as f:
                said = "".join(ln for ln in f if not ln.startswith("GC "))
            print(f"# {s.name} restarted: {said.strip()}", flush=True)
            present, bad = asyncio.run(verify(s, model))
            print(f"# {s.name} after restart: {len(model)} keys in the model, {present} present, {bad} wrong",
                  flush=True)
            rc, secs = s.stop()
            if rc != 0:
                fail(f"{s.name} (restarted) exited {rc} after SIGTERM")
    finally:
        for s in servers:
            if s.proc is not None and s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
    print(f"# {len(failures)} failures; samples in {os.path.join(a.dir, 'samples.csv')}")
    if failures:
        sys.exit(f"soak: {failures[0]}")


main()
