"""bench/soak.py's workloads, one class (or function) per kind of client,
each checking every answer against its server's model of acknowledged
writes: a dict, key -> value (None: deleted; a key with "?" after it: a UDP
PUT sent with no answer seen), that the worker updates as writes are
acknowledged. Expiring keys are not kept. Each step() is one request or
round; soak.py paces them.
"""
import asyncio
import random
import time

from soak_client import Conn


def val():
    return f"v{random.getrandbits(40):x}-" + "x" * random.randint(0, 60)


class LineWorker:
    """Line protocol: PUT/GET/DELETE on 3,000 keys, a LIST every 10 s."""

    def __init__(self, srv, tally, model):
        self.srv, self.tally, self.model = srv, tally, model
        self.c, self.last_list = None, time.monotonic()

    async def step(self):
        fail, model = self.tally.fail, self.model
        if self.c is None:
            self.c = await Conn.open(self.srv, self.tally)
        k = f"line:{random.randrange(3000)}"
        r = random.random()
        if time.monotonic() - self.last_list > 10:
            self.last_list = time.monotonic()
            pairs = await self.c.list()
            for key, v in model.items():
                if key.startswith("line:") and pairs.get(key) != v:
                    fail(f"LIST: {key} is {pairs.get(key)!r}, expected {v!r}")
                    break
        elif r < 0.45:
            v = val()
            got = await self.c.line(f"PUT, {k}, {v}")
            if got != "Success!":
                fail(f"PUT answered {got!r}")
            else:
                model[k] = v
        elif r < 0.9:
            got = await self.c.line(f"GET, {k}")
            want = model.get(k)
            if got != (want if want is not None else "Not exist!"):
                fail(f"GET {k}: {got!r}, expected {want!r}")
        else:
            got = await self.c.line(f"DELETE, {k}")
            if got != ("Success!" if model.get(k) is not None else "Not exist!"):
                fail(f"DELETE {k}: {got!r}")
            model[k] = None


class RespWorker:
    """RESP: SET EX/PX on 5,000 keys, INCR, APPEND (cut back once long), GET."""

    def __init__(self, srv, tally, model):
        self.srv, self.tally, self.model, self.c = srv, tally, model, None

    async def step(self):
        fail, model = self.tally.fail, self.model
        if self.c is None:
            self.c = await Conn.open(self.srv, self.tally, kind="resp")
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
            want = int(model.get(k) or 0) + 1
            if got != want:
                fail(f"INCR {k}: {got!r}, expected {want}")
            model[k] = str(got) if isinstance(got, int) else model.get(k)
        elif r < 0.8:
            k = f"app:{random.randrange(200)}"
            old = model.get(k) or ""
            if len(old) > 2000:
                got = await c.cmd("SET", k, "a")
                if got == "OK":
                    model[k] = "a"
            else:
                piece = f"{random.randrange(1000)},"
                got = await c.cmd("APPEND", k, piece)
                if got != len(old) + len(piece):
                    fail(f"APPEND {k}: {got!r}, expected {len(old) + len(piece)}")
                model[k] = old + piece
        else:
            k = random.choice([f"line:{random.randrange(3000)}", f"ctr:{random.randrange(200)}"])
            got = await c.cmd("GET", k)
            want = model.get(k)
            if (got.decode() if isinstance(got, bytes) else got) != want:
                fail(f"RESP GET {k}: {got!r}, expected {want!r}")


class WatchWorker:
    """WATCH/MULTI/EXEC, a second client changing the watched key in about a
    third of the rounds (EXEC must then abort); some rounds end with UNWATCH,
    DISCARD or a close mid-transaction."""

    def __init__(self, srv, tally, model):
        self.srv, self.tally, self.model = srv, tally, model
        self.c, self.other = None, None

    async def step(self):
        fail, model = self.tally.fail, self.model
        if self.c is None:
            self.c = await Conn.open(self.srv, self.tally, kind="resp")
            self.other = await Conn.open(self.srv, self.tally, kind="resp")
        c = self.c
        k = f"w:{random.randrange(100)}"
        await c.cmd("WATCH", k, f"w:{random.randrange(100)}")
        r = random.random()
        touched = False
        if r < 0.3:
            v = val()
            if await self.other.cmd("SET", k, v) == "OK":
                model[k] = v
                touched = True
        elif r < 0.35:
            await c.cmd("UNWATCH")
            return
        elif r < 0.4:  # a close mid-transaction
            await c.cmd("MULTI")
            await c.cmd("SET", k, "never")
            c.close(reset=random.random() < 0.5)
            self.c = await Conn.open(self.srv, self.tally, kind="resp")
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
            model[k] = v
            model["w:count"] = str(got[1])
        else:
            fail(f"EXEC answered {got!r}")


class ScanWorker:
    """A full SCAN (COUNT 100), which must see the keys the model says are there."""

    def __init__(self, srv, tally, model):
        self.srv, self.tally, self.model, self.c = srv, tally, model, None

    async def step(self):
        if self.c is None:
            self.c = await Conn.open(self.srv, self.tally, kind="resp")
        cursor, seen = b"0", set()
        while True:
            got = await self.c.cmd("SCAN", cursor, "COUNT", 100)
            cursor, keys = got
            seen.update(keys)
            if cursor == b"0":
                break
        for k in ("ctr:0", "w:count"):
            if self.model.get(k) is not None and k.encode() not in seen:
                self.tally.fail(f"SCAN missed {k}")


async def churn_step(srv, tally):
    """A client that connects and leaves: after a PING (either protocol), nothing, or half a request."""
    c = await Conn.open(srv, tally, auth=False)
    how = random.randrange(5)
    if how == 0:
        if srv.tls:
            await c.line(f"AUTH, {srv.password}")
        got = await c.line("PING")
        if got != "PONG":
            tally.fail(f"PING answered {got!r}")
    elif how == 1:
        got = await c.cmd("PING") if not srv.tls else "PONG"
        if got != "PONG":
            tally.fail(f"RESP PING answered {got!r}")
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
    """Datagrams: PUT, or GET then PING, on 500 keys; a PUT with no answer leaves its key unknown."""

    def __init__(self, srv, tally, model):
        self.srv, self.tally, self.model, self.t, self.p = srv, tally, model, None, None

    async def step(self):
        model = self.model
        if self.t is None:
            self.t, self.p = await asyncio.get_running_loop().create_datagram_endpoint(
                Udp, remote_addr=("127.0.0.1", self.srv.port))
        k = f"udp:{random.randrange(500)}"
        put = random.random() < 0.5
        v = val()
        self.p.waiting = asyncio.get_running_loop().create_future()
        self.t.sendto((f"PUT, {k}, {v}" if put else f"GET, {k}\nPING").encode())
        self.tally.ops += 1
        try:
            got = await asyncio.wait_for(self.p.waiting, 2)
        except asyncio.TimeoutError:
            if put:
                model.pop(k, None)  # unknown: sent, no answer seen
                model[k + "?"] = v
            return
        if put:
            if got == b"Success!\n":
                model[k] = v
            else:
                self.tally.fail(f"UDP PUT answered {got!r}")
        else:
            want = model.get(k)
            if k + "?" not in model and got != ((want if want is not None else "Not exist!") + "\nPONG\n").encode():
                self.tally.fail(f"UDP GET {k}: {got!r}, expected {want!r}")


class TlsWorker:
    """On B: a client that AUTHs, does a few writes and reads, and leaves (or stays a while)."""

    def __init__(self, srv, tally, model):
        self.srv, self.tally, self.model, self.c, self.left = srv, tally, model, None, 0

    async def step(self):
        if self.c is None:
            self.kind = random.choice(["line", "resp"])
            self.c = await Conn.open(self.srv, self.tally, kind=self.kind)
            self.left = random.choice([1, 5, 50, 500])
        k = f"tls:{random.randrange(1000)}"
        v = val()
        if random.random() < 0.5:
            got = await (self.c.line(f"PUT, {k}, {v}") if self.kind == "line" else self.c.cmd("SET", k, v))
            if got in ("Success!", "OK"):
                self.model[k] = v
            else:
                self.tally.fail(f"TLS PUT answered {got!r}")
        else:
            got = await (self.c.line(f"GET, {k}") if self.kind == "line" else self.c.cmd("GET", k))
            want = self.model.get(k)
            got = got.decode() if isinstance(got, bytes) else got
            if got != (want if want is not None else ("Not exist!" if self.kind == "line" else None)):
                self.tally.fail(f"TLS GET {k}: {got!r}, expected {want!r}")
        self.left -= 1
        if self.left <= 0:
            self.c.close(reset=random.random() < 0.2)
            self.c = None


async def loadgen_bursts(srv, loadgen, tally):
    """Every 60 s, `loadgen` for 1 s on 2 connections, the line protocol and RESP in turn (nothing without one)."""
    if not loadgen:
        return
    turn = 0
    while True:
        await asyncio.sleep(60)
        proto = ("kv", "resp")[turn % 2]
        turn += 1
        p = await asyncio.create_subprocess_exec(
            loadgen, "--proto", proto, "-p", str(srv.port), "-c", "2", "-P", "1", "-d", "1", "-k", "3000",
            "--timeout", "20", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await p.communicate()
        last = out.decode().strip().splitlines()[-1:] or [""]
        if p.returncode != 0:
            tally.fail(f"loadgen {proto}: exit {p.returncode}: {last[0]}")
