"""bench/leak_waves.py's server under test, and what it measures of it: kv
serve started here (in a temporary folder with its password and TLS files)
or one already running; its descriptors and RSS from /proc, what INFO says,
and the keys the lifecycles read, stored before the first wave.
"""
import asyncio
import os
import sys
import tempfile
import time

from certs import pem_blocks, write_private, write_test_certificate
from leak_waves_client import close, lines
from leak_waves_lifecycles import MAX_LINE_BYTES
from proc import open_fds, rss_mb, start_server, stop
from resp_probe import resp

BIG = 100_000  # the value of key "big", which GET and MGET read while a reset cuts them
KEYS = 2000  # keys of 1,000 bytes: LIST answers 2 MB


class Target:
    """The server under test: its port, its process id, the CA's PEM text to
    trust (None: plain TCP); and, if started here, its process and folder."""

    def __init__(self, port, pid, ca, proc=None, tmp=None):
        self.port, self.pid, self.ca = port, pid, ca
        self.proc, self.tmp = proc, tmp

    @classmethod
    def start(cls, cwd, max_connections, password=None, tls=False):
        """kv serve from the checkout `cwd`, its files in a temporary folder."""
        tmp = tempfile.TemporaryDirectory(prefix="leak_waves")
        extra = ["--max-line-bytes", str(MAX_LINE_BYTES), "--idle-timeout", "1"]
        if password:
            path = os.path.join(tmp.name, "password")
            write_private(path, password + "\n")
            extra += ["--password-file", path]
        if tls:
            _, cert, key = write_test_certificate(tmp.name, cwd)
            extra += ["--tls-cert", cert, "--tls-key", key]
        try:
            proc, port = start_server("kv", cwd, max_connections, extra, [f"--allow-read={tmp.name}"], None)
        except BaseException:
            tmp.cleanup()
            raise
        return cls(port, proc.pid, pem_blocks(cwd)[0] if tls else None, proc, tmp)

    @classmethod
    def attach(cls, port, pid, tls_ca=None):
        """A server already running; `tls_ca`, the CA's PEM file (- for stdin), None for TCP."""
        ca = None
        if tls_ca == "-":
            ca = sys.stdin.read()
        elif tls_ca:
            with open(tls_ca) as f:
                ca = f.read()
        return cls(port, pid, ca)

    def close(self):
        """Stops the server if it was started here, and removes its folder."""
        if self.proc is not None:
            stop(self.proc)
        if self.tmp is not None:
            self.tmp.cleanup()

    def fds(self):
        return open_fds(self.pid)

    def rss_mb(self):
        return rss_mb(self.pid)

    async def back_to(self, baseline, seconds=15):
        """Waits until the server holds `baseline` descriptors again; its count then."""
        deadline = time.time() + seconds
        while (now := self.fds()) != baseline and time.time() < deadline:
            await asyncio.sleep(0.05)
        return now


async def seed(c):
    """Stores the big value and the KEYS keys the lifecycles read; exits if the big value does not fit."""
    r, w = await c.connect()
    w.write(c.auth_line + b"PUT, big, " + b"B" * BIG + b"\n")
    w.write(b"".join(b"PUT, k%d, %s\n" % (k, b"v" * 1000) for k in range(KEYS)) + b"GET, big\n")
    await lines(r, c.authed + 1 + KEYS)
    if len(await r.readline()) != BIG + 1:
        sys.exit("the big value was not stored: the server's --max-line-bytes must pass 100,000")
    await close(w)


async def probe(c):
    """INFO, from a connection of its own (the one client INFO may count)."""
    r, w = await c.connect()
    w.write(c.auth_resp + resp("INFO"))
    await lines(r, c.authed)
    size = int((await r.readline())[1:])
    body = (await r.readexactly(size + 2)).decode()
    await close(w)
    return dict(line.split(":", 1) for line in body.split("\r\n") if ":" in line)
