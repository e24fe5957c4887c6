"""bench/soak.py's client side: a Tally of the requests sent and the checks
that failed, a connection that speaks the line protocol and RESP (with AUTH
where the server has a password) and ends with a close or a reset, and a
worker's pace.
"""
import asyncio
import sys
import time

import leak_waves_client  # its reset(): a close with RST (SO_LINGER 0)
from resp_probe import resp


class Tally:
    """What all the workers count: requests sent (`ops`) and the checks that failed (`failures`)."""

    def __init__(self):
        self.ops = 0
        self.failures = []

    def fail(self, msg):
        if len(self.failures) < 20:
            print(f"FAIL {msg}", file=sys.stderr, flush=True)
        self.failures.append(msg)


class Conn:
    def __init__(self, server, tally, r, w):
        self.server, self.tally, self.r, self.w = server, tally, r, w

    @classmethod
    async def open(cls, server, tally, auth=True, kind="line"):
        ctx = server.ssl()
        r, w = await asyncio.wait_for(asyncio.open_connection(
            "127.0.0.1", server.port, ssl=ctx, server_hostname="localhost" if ctx else None, limit=1 << 22), 10)
        c = cls(server, tally, r, w)
        if server.password and auth:
            if kind == "line":
                got = await c.line(f"AUTH, {server.password}")
                if got != "Success!":
                    tally.fail(f"line AUTH answered {got!r}")
            else:
                got = await c.cmd("AUTH", server.password)
                if got != "OK":
                    tally.fail(f"RESP AUTH answered {got!r}")
        return c

    async def line(self, text):
        self.w.write(text.encode() + b"\n")
        self.tally.ops += 1
        got = await asyncio.wait_for(self.r.readline(), 10)
        if not got.endswith(b"\n"):
            raise ConnectionError(f"line connection ended: {got!r}")
        return got[:-1].decode()

    async def list(self):
        self.w.write(b"LIST\n")
        self.tally.ops += 1
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
        self.tally.ops += 1
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
            leak_waves_client.reset(self.w)
        else:
            self.w.close()


async def paced(per_second, step, rate, tally):
    """Calls step() about per_second * rate times a second, for ever; a connection error restarts it."""
    period = 1.0 / (per_second * rate)
    nxt = time.monotonic()
    while True:
        try:
            await step()
        except (ConnectionError, asyncio.TimeoutError, OSError, asyncio.IncompleteReadError) as e:
            tally.fail(f"{step.__qualname__}: {type(e).__name__}: {e}")
            await asyncio.sleep(1)
        nxt += period
        delay = nxt - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            nxt = time.monotonic()
