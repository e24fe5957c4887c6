#!/usr/bin/env python3
"""What connections leave behind: runs waves of connection lifecycles against
kv serve, every way a connection can end, and after each wave, with no client
connected, prints the server's open descriptors (/proc/PID/fd), its RSS and
what INFO says (connected_clients, used_memory).

    python3 bench/leak_waves.py [--tls] [--password] [--waves 12] [--per-wave 5000]
        [--handshakes 0] [--cwd DIR]
    python3 bench/leak_waves.py --port P --pid PID [--password PW] [--tls-ca FILE|-]
        [--max-connections N] [--idle N] ...

It starts `kv serve --port 0 --quiet --max-line-bytes 131072 --max-connections
100 --idle-timeout 1` (with `--password-file` and `--tls-cert`/`--tls-key` in a
temporary folder, the test certificate of testing/tls.ts), or measures a
server already running (`--port`, `--pid`; then say what it was started with).

A wave mixes, round robin: a line client's QUIT, its close after a PUT, a GET
of a 100 KB value and a LIST of 2,000 pairs (2 MB) each cut by a reset
(SO_LINGER 0) while the answer streams, a line past --max-line-bytes, a Redis client's WATCH
then close, MULTI then a close or reset mid-queue (half a command sent), CLIENT
SETNAME then QUIT, SUBSCRIBE (refused), a broken frame (the server closes), an
MGET of 2.4 MB cut by a reset, a connect then close or reset without a byte, a
half-close after a line with no newline (TCP), an unframed line, and, with a
password, 10 wrong AUTHs (the server closes), wrong ones then a reset, and a
request past the limits before AUTH. Then `--idle` clients that the idle
timeout closes, then the connection limit filled and 60 clients refused (both
protocols, some silent, half reset), then with --tls `--handshakes`
handshakes that go wrong, at once: silent, half a ClientHello, a whole one then
silence or FIN, random bytes, plain text, a reset mid-handshake. Then it waits
for the descriptors to come back to where they were before the first wave (up
to 15 s: a TLS connection's last bytes drain for up to 5 s, a silent handshake
is cut by the idle timeout) and measures.

Exit status 1, with one line saying why, if the descriptors did not come back,
INFO counted a client besides the probe, or a lifecycle did not end as it
should. A measurement for BENCHMARKS.md ("What connections leave behind");
e2e/leaks_e2e.ts runs it small against a server in its own process.
"""
import argparse
import asyncio
import json
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--tls", action="store_true", help="serve and connect with TLS (spawned server)")
ap.add_argument("--password", nargs="?", const="leak-waves-password", default=None,
                help="with AUTH (spawned: a password of its own; attached: the server's)")
ap.add_argument("--waves", type=int, default=12)
ap.add_argument("--per-wave", type=int, default=5000, help="lifecycles per wave")
ap.add_argument("--concurrency", type=int, default=24, help="lifecycles at once")
ap.add_argument("--idle", type=int, default=20, help="clients per wave left to the idle timeout (0: none)")
ap.add_argument("--refusals", type=int, default=60, help="clients per wave refused past the limit (0: none)")
ap.add_argument("--handshakes", type=int, default=0, help="with TLS: failed handshakes per wave, at once")
ap.add_argument("--cwd", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                help="the checkout to serve from")
ap.add_argument("--port", type=int, help="measure a server already running on this port...")
ap.add_argument("--pid", type=int, help="...in this process")
ap.add_argument("--tls-ca", help="attached: connect with TLS, trusting this CA (PEM file, - for stdin)")
ap.add_argument("--max-connections", type=int, default=100, help="attached: the server's limit")
ap.add_argument("--json", action="store_true", help="one JSON object a wave, not text")
a = ap.parse_args()
if (a.port is None) != (a.pid is None):
    ap.error("--port and --pid go together")
if a.port is not None and a.tls:
    ap.error("--tls starts a server: against a running one, give --tls-ca")
if a.port is None and a.tls_ca:
    ap.error("--tls-ca is for a running server (--port, --pid)")
if a.handshakes and not (a.tls or a.tls_ca):
    ap.error("--handshakes needs TLS")

LINGER0 = struct.pack("ii", 1, 0)
BIG = 100_000
MAX_LINE_BYTES = 131072
KEYS = 2000
proc = None
tmp = None


def pem_blocks():
    """The test CA, certificate and key of testing/tls.ts, in that order."""
    with open(os.path.join(a.cwd, "testing", "tls.ts")) as f:
        return re.findall(r"-----BEGIN [A-Z ]+-----\n.*?-----END [A-Z ]+-----\n", f.read(), re.S)


def start():
    """Starts kv serve; returns its port and pid."""
    global proc, tmp
    tmp = tempfile.TemporaryDirectory(prefix="leak_waves")
    cmd = ["deno", "run", "--allow-net", f"--allow-read={tmp.name}", "main.ts", "serve", "--port", "0",
           "--quiet", "--max-line-bytes", str(MAX_LINE_BYTES), "--max-connections", str(a.max_connections),
           "--idle-timeout", "1"]
    if a.password:
        path = os.path.join(tmp.name, "password")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(a.password + "\n")
        cmd += ["--password-file", path]
    if a.tls:
        ca, cert, key = pem_blocks()
        for name, text in (("ca.pem", ca), ("cert.pem", cert), ("key.pem", key)):
            with open(os.open(os.path.join(tmp.name, name), os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(text)
        cmd += ["--tls-cert", os.path.join(tmp.name, "cert.pem"), "--tls-key", os.path.join(tmp.name, "key.pem")]
    proc = subprocess.Popen(cmd, cwd=a.cwd, stdout=subprocess.PIPE, start_new_session=True)
    line = proc.stdout.readline().decode()  # "listening on 127.0.0.1:PORT"
    if ":" not in line:
        sys.exit(f"the server did not start: {line!r}")
    return int(line.rsplit(":", 1)[1]), proc.pid


def stop():
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
    if tmp is not None:
        tmp.cleanup()


if a.port is None:
    PORT, PID = start()
    CA = pem_blocks()[0] if a.tls else None
else:
    PORT, PID = a.port, a.pid
    CA = None
    if a.tls_ca == "-":
        CA = sys.stdin.read()
    elif a.tls_ca:
        with open(a.tls_ca) as f:
            CA = f.read()
ctx = None
if CA is not None:
    ctx = ssl.create_default_context(cadata=CA)
HELLO = b""
if ctx is not None:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    try:
        ctx.wrap_bio(incoming, outgoing, server_hostname="localhost").do_handshake()
    except ssl.SSLWantReadError:
        HELLO = outgoing.read()  # a ClientHello


class Wrong(Exception):
    """A lifecycle did not end as it should."""


def resp(*words):
    out = b"*%d\r\n" % len(words)
    for w in words:
        w = w.encode() if isinstance(w, str) else w
        out += b"$%d\r\n%s\r\n" % (len(w), w)
    return out


async def connect():
    return await asyncio.open_connection("127.0.0.1", PORT, ssl=ctx, limit=1 << 20,
                                         server_hostname="localhost" if ctx else None)


def reset(w):
    """Closes with RST (SO_LINGER 0), whatever is unread or unsent."""
    sock = w.get_extra_info("socket")
    if sock is not None:  # None: the connection has ended already
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
    w.transport.abort()


async def close(w):
    w.close()
    try:
        await w.wait_closed()
    except (ConnectionError, ssl.SSLError):
        pass


async def to_end(r):
    """Reads until the server closes."""
    got = 0
    while True:
        try:
            chunk = await r.read(65536)
        except (ConnectionError, ssl.SSLError):
            return got
        if not chunk:
            return got
        got += len(chunk)
        if got > 1 << 24:
            raise Wrong("the server did not close")


async def lines(r, n):
    for _ in range(n):
        if not await r.readline():
            raise Wrong("closed before its answers")


AUTH_LINE = b"AUTH, %s\n" % a.password.encode() if a.password else b""
AUTH_RESP = resp("AUTH", a.password) if a.password else b""
AUTHED = 1 if a.password else 0


async def line_quit(i):
    r, w = await connect()
    w.write(AUTH_LINE + b"PING\nQUIT\n")
    await to_end(r)
    await close(w)


async def line_put_close(i):
    r, w = await connect()
    w.write(AUTH_LINE + b"PUT, p%d, v%d\n" % (i % 1000, i))
    await lines(r, AUTHED + 1)
    await close(w)


async def line_get_big_reset(i):
    r, w = await connect()
    w.write(AUTH_LINE + b"GET, big\n")
    await r.read(1000)
    reset(w)


async def line_list_reset(i):
    r, w = await connect()
    w.write(AUTH_LINE + b"LIST\n")
    await r.read(1000)
    reset(w)


async def line_too_long(i):
    r, w = await connect()
    w.write(AUTH_LINE + b"PUT, x, " + b"y" * MAX_LINE_BYTES + b"\nPING\n")
    await lines(r, AUTHED + 2)
    await close(w)


async def resp_watch_close(i):
    r, w = await connect()
    w.write(AUTH_RESP + resp("WATCH", "w%d" % (i % 50), "k%d" % i, "x"))
    await lines(r, AUTHED + 1)
    await close(w)


async def resp_multi_cut(i):
    r, w = await connect()
    w.write(AUTH_RESP + resp("WATCH", "m%d" % i) + resp("MULTI") + resp("SET", "q%d" % i, "v" * 2000)
            + resp("INCR", "counter") + b"*3\r\n$3\r\nSET\r\n")
    await lines(r, AUTHED + 4)
    if i % 2:
        reset(w)
    else:
        await close(w)


async def resp_setname_quit(i):
    r, w = await connect()
    w.write(AUTH_RESP + resp("CLIENT", "SETNAME", "n%d" % i) + resp("QUIT"))
    await to_end(r)
    await close(w)


async def resp_subscribe(i):
    r, w = await connect()
    w.write(AUTH_RESP + resp("SUBSCRIBE", "channel"))
    await lines(r, AUTHED + 1)
    await close(w)


async def resp_broken_frame(i):
    r, w = await connect()
    w.write(AUTH_RESP + b"*1\r\n$x\r\n")
    await to_end(r)
    await close(w)


async def resp_mget_reset(i):
    r, w = await connect()
    w.write(AUTH_RESP + resp("MGET", *(["big"] * 24)))
    await r.read(1000)
    reset(w)


async def silent_close(i):
    r, w = await connect()
    await close(w)


async def silent_reset(i):
    r, w = await connect()
    reset(w)


async def half_close(i):
    r, w = await connect()
    w.write(AUTH_LINE + b"GET, k1")
    w.write_eof()
    await to_end(r)
    await close(w)


async def unframed(i):
    r, w = await connect()
    if a.password:
        w.write(AUTH_LINE[:-1])  # no \n: the pause ends it
        await lines(r, 1)
    w.write(b"PING")
    await lines(r, 1)
    await close(w)


async def auth_wrong(i):
    r, w = await connect()
    if i % 2:
        w.write(b"AUTH, nope\n" * 10)
        await to_end(r)
        await close(w)
    else:
        w.write(resp("AUTH", "nope") * 3 + resp("GET", "k"))
        await lines(r, 4)
        reset(w)


async def unauthenticated_too_big(i):
    r, w = await connect()
    w.write(b"*20\r\n" + b"$1\r\nx\r\n" * 20)
    await to_end(r)
    await close(w)


SCENARIOS = [line_quit, line_put_close, line_get_big_reset, line_list_reset, line_too_long, resp_watch_close,
             resp_multi_cut, resp_setname_quit, resp_subscribe, resp_broken_frame, resp_mget_reset,
             silent_close, silent_reset, unframed]
if ctx is None:
    SCENARIOS.append(half_close)  # asyncio's TLS cannot half-close
if a.password:
    SCENARIOS += [auth_wrong, unauthenticated_too_big]

wrong = {}


def count(name, error):
    key = f"{name}: {type(error).__name__} {error}"[:120]
    wrong[key] = wrong.get(key, 0) + 1


async def lifecycles(first, n):
    queue = list(range(first + n - 1, first - 1, -1))

    async def worker():
        while queue:
            i = queue.pop()
            scenario = SCENARIOS[i % len(SCENARIOS)]
            try:
                await asyncio.wait_for(scenario(i), 30)
            except Exception as error:  # noqa: BLE001 (any failure is counted and reported)
                count(scenario.__name__, error)
    await asyncio.gather(*[worker() for _ in range(a.concurrency)])


async def idle_clients(n):
    async def one():
        r, w = await connect()
        w.write(AUTH_LINE + b"PING\n")
        await asyncio.wait_for(to_end(r), 30)  # the idle timeout closes it
        await close(w)
    for result in await asyncio.gather(*[one() for _ in range(n)], return_exceptions=True):
        if isinstance(result, Exception):
            count("idle", result)


async def refusals(n):
    """Fills the connection limit, then n clients are refused; returns how many read the refusal."""
    async def hold():
        r, w = await connect()
        w.write(AUTH_LINE + b"PING\n")
        await lines(r, AUTHED + 1)
        return w
    holders = await asyncio.gather(*[hold() for _ in range(a.max_connections)])

    async def attempt(k):
        try:
            r, w = await connect()
        except (ConnectionError, ssl.SSLError):
            return 0  # a TLS refusal past 64 at once gets only the close
        w.write(resp("PING") if k % 3 == 0 else b"PING\n" if k % 3 == 1 else b"")
        try:
            line = await asyncio.wait_for(r.readline(), 30)
        except (ConnectionError, ssl.SSLError):
            line = b""
        if k % 2:
            reset(w)
        else:
            await close(w)
        return 1 if line in (b"Error: too many connections\n", b"-ERR max number of clients reached\r\n") else 0
    refused = sum(await asyncio.gather(*[attempt(k) for k in range(n)]))
    for w in holders:
        await close(w)
    return refused


def raw():
    s = socket.create_connection(("127.0.0.1", PORT))
    s.setblocking(False)
    return s


async def handshakes(n):
    """n TLS handshakes that go wrong, at once; each waits for the server's close where it leaves it open."""
    loop = asyncio.get_running_loop()

    async def one(k):
        s = raw()
        try:
            kind = k % 7
            if kind == 0:
                pass  # silent
            elif kind == 1:
                await loop.sock_sendall(s, HELLO[: len(HELLO) // 2])
            elif kind == 2:
                await loop.sock_sendall(s, HELLO)
            elif kind == 3:
                await loop.sock_sendall(s, HELLO)
                s.shutdown(socket.SHUT_WR)
            elif kind == 4:
                await loop.sock_sendall(s, os.urandom(300))
            elif kind == 5:
                await loop.sock_sendall(s, b"PING\r\n")
            else:
                await loop.sock_sendall(s, HELLO)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
                return  # the reset: finally closes
            while await asyncio.wait_for(loop.sock_recv(s, 65536), 30):
                pass  # the server's half of the handshake, until it cuts
        except ConnectionError:
            pass
        except Exception as error:  # noqa: BLE001
            count("handshake", error)
        finally:
            s.close()
    await asyncio.gather(*[one(k) for k in range(n)])


def fds():
    return len(os.listdir(f"/proc/{PID}/fd"))


def rss_mb():
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def back_to(baseline, seconds=15):
    """Waits until the server holds `baseline` descriptors again; its count then."""
    deadline = time.time() + seconds
    while (now := fds()) != baseline and time.time() < deadline:
        await asyncio.sleep(0.05)
    return now


async def probe():
    """INFO, from a connection of its own (the one client INFO may count)."""
    r, w = await connect()
    w.write(AUTH_RESP + resp("INFO"))
    await lines(r, AUTHED)
    size = int((await r.readline())[1:])
    body = (await r.readexactly(size + 2)).decode()
    await close(w)
    return dict(line.split(":", 1) for line in body.split("\r\n") if ":" in line)


async def main():
    r, w = await connect()
    w.write(AUTH_LINE + b"PUT, big, " + b"B" * BIG + b"\n")
    w.write(b"".join(b"PUT, k%d, %s\n" % (k, b"v" * 1000) for k in range(KEYS)) + b"GET, big\n")
    await lines(r, AUTHED + 1 + KEYS)
    if len(await r.readline()) != BIG + 1:
        sys.exit("the big value was not stored: the server's --max-line-bytes must pass 100,000")
    await close(w)
    await asyncio.sleep(0.5)  # the seeding connection's close
    baseline = fds()
    failed = []
    done = 0
    for wave in range(a.waves + 1):
        started = time.time()
        refused = None
        if wave > 0:
            await lifecycles(done, a.per_wave)
            done += a.per_wave
            if a.idle:
                await idle_clients(a.idle)
                done += a.idle
            if a.refusals:
                refused = await refusals(a.refusals)
                done += a.max_connections + a.refusals
                if refused != a.refusals:
                    failed.append(f"wave {wave}: {a.refusals - refused} of {a.refusals} not refused")
            if a.handshakes:
                await handshakes(a.handshakes)
                done += a.handshakes
        took = time.time() - started
        now = await back_to(baseline)
        info = await probe()
        row = {"wave": wave, "lifecycles": done, "took_s": round(took, 1), "fds": now, "fds_before": baseline,
               "rss_MB": round(rss_mb(), 1), "connected_clients": int(info["connected_clients"]),
               "used_memory_MB": round(int(info["used_memory"]) / 2**20, 1)}
        if refused is not None:
            row["refused"] = refused
        if wave > 0 and now != baseline:
            failed.append(f"wave {wave}: {now} descriptors, {baseline} before the first")
        if info["connected_clients"] != "1":
            failed.append(f"wave {wave}: INFO connected_clients:{info['connected_clients']} besides the probe")
        print(json.dumps(row) if a.json else " ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    if wrong:
        failed.append("lifecycles that did not end as they should: " + json.dumps(wrong))
    if failed:
        sys.exit("; ".join(failed))


try:
    asyncio.run(main())
except KeyboardInterrupt:
    sys.exit(130)
finally:
    stop()
