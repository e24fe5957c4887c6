"""bench/leak_waves.py's workload: the lifecycles a wave mixes (each a way a
connection can end), the clients left to the idle timeout, the refusals past
the connection limit, and the TLS handshakes that go wrong. Each takes the
Client to connect with and counts what did not end as it should in a Tally.
"""
import asyncio
import os
import socket
import ssl

from leak_waves_client import LINGER0, close, lines, reset, retry_refused, to_end
from resp_probe import resp

MAX_LINE_BYTES = 131072  # the server's --max-line-bytes: line_too_long passes it, the big value fits


class Tally:
    """Lifecycles that did not end as they should: how many, by scenario and error."""

    def __init__(self):
        self.wrong = {}

    def count(self, name, error):
        key = f"{name}: {type(error).__name__} {error}"[:120]
        self.wrong[key] = self.wrong.get(key, 0) + 1


async def until_closed(c, request, eof=False):
    """Sends `request` (then a FIN if `eof`), reads until the server closes, closes."""
    r, w = await c.connect()
    w.write(request)
    if eof:
        w.write_eof()
    await to_end(r)
    await close(w)


async def answered(c, request, n):
    """Sends `request`, reads its `n` answer lines, closes."""
    r, w = await c.connect()
    w.write(request)
    await lines(r, n)
    await close(w)


async def cut_by_reset(c, request):
    """Sends `request`, reads the start of its answer, resets while the rest streams."""
    r, w = await c.connect()
    w.write(request)
    await r.read(1000)
    reset(w)


async def line_quit(c, i):
    await until_closed(c, c.auth_line + b"PING\nQUIT\n")


async def line_put_close(c, i):
    await answered(c, c.auth_line + b"PUT, p%d, v%d\n" % (i % 1000, i), c.authed + 1)


async def line_get_big_reset(c, i):
    await cut_by_reset(c, c.auth_line + b"GET, big\n")


async def line_list_reset(c, i):
    await cut_by_reset(c, c.auth_line + b"LIST\n")


async def line_too_long(c, i):
    await answered(c, c.auth_line + b"PUT, x, " + b"y" * MAX_LINE_BYTES + b"\nPING\n", c.authed + 2)


async def resp_watch_close(c, i):
    await answered(c, c.auth_resp + resp("WATCH", "w%d" % (i % 50), "k%d" % i, "x"), c.authed + 1)


async def resp_multi_cut(c, i):
    r, w = await c.connect()
    w.write(c.auth_resp + resp("WATCH", "m%d" % i) + resp("MULTI") + resp("SET", "q%d" % i, "v" * 2000)
            + resp("INCR", "counter") + b"*3\r\n$3\r\nSET\r\n")
    await lines(r, c.authed + 4)
    if i % 2:
        reset(w)
    else:
        await close(w)


async def resp_setname_quit(c, i):
    await until_closed(c, c.auth_resp + resp("CLIENT", "SETNAME", "n%d" % i) + resp("QUIT"))


async def resp_subscribe(c, i):
    await answered(c, c.auth_resp + resp("SUBSCRIBE", "channel"), c.authed + 1)


async def resp_broken_frame(c, i):
    await until_closed(c, c.auth_resp + b"*1\r\n$x\r\n")


async def resp_mget_reset(c, i):
    await cut_by_reset(c, c.auth_resp + resp("MGET", *(["big"] * 24)))


async def silent_close(c, i):
    r, w = await c.connect()
    await close(w)


async def silent_reset(c, i):
    r, w = await c.connect()
    reset(w)


async def half_close(c, i):
    await until_closed(c, c.auth_line + b"GET, k1", eof=True)


async def unframed(c, i):
    r, w = await c.connect()
    if c.password:
        w.write(c.auth_line[:-1])  # no \n: the pause ends it
        await lines(r, 1)
    w.write(b"PING")
    await lines(r, 1)
    await close(w)


async def auth_wrong(c, i):
    r, w = await c.connect()
    if i % 2:
        w.write(b"AUTH, nope\n" * 10)
        await to_end(r)
        await close(w)
    else:
        w.write(resp("AUTH", "nope") * 3 + resp("GET", "k"))
        await lines(r, 4)
        reset(w)


async def unauthenticated_too_big(c, i):
    await until_closed(c, b"*20\r\n" + b"$1\r\nx\r\n" * 20)


def scenarios(c):
    """The lifecycles a wave takes round robin, for the Client `c`."""
    chosen = [line_quit, line_put_close, line_get_big_reset, line_list_reset, line_too_long, resp_watch_close,
              resp_multi_cut, resp_setname_quit, resp_subscribe, resp_broken_frame, resp_mget_reset,
              silent_close, silent_reset, unframed]
    if c.ctx is None:
        chosen.append(half_close)  # asyncio's TLS cannot half-close
    if c.password:
        chosen += [auth_wrong, unauthenticated_too_big]
    return chosen


async def lifecycles(c, tally, first, n, concurrency):
    """Lifecycles first to first + n - 1 (number i takes scenario i round robin), `concurrency` at once."""
    chosen = scenarios(c)
    queue = list(range(first + n - 1, first - 1, -1))

    async def worker():
        while queue:
            i = queue.pop()
            scenario = chosen[i % len(chosen)]
            try:
                await retry_refused(lambda: asyncio.wait_for(scenario(c, i), 30))
            except Exception as error:  # noqa: BLE001 (any failure is counted and reported)
                tally.count(scenario.__name__, error)
    await asyncio.gather(*[worker() for _ in range(concurrency)])


async def idle_clients(c, tally, n):
    async def one():
        r, w = await c.connect()
        w.write(c.auth_line + b"PING\n")
        await asyncio.wait_for(to_end(r), 30)  # the idle timeout closes it
        await close(w)
    for result in await asyncio.gather(*[one() for _ in range(n)], return_exceptions=True):
        if isinstance(result, Exception):
            tally.count("idle", result)


async def refusals(c, n, max_connections):
    """Fills the connection limit, then n clients are refused; returns how many read the refusal."""
    async def hold():
        r, w = await c.connect()
        w.write(c.auth_line + b"PING\n")
        await lines(r, c.authed + 1)
        return w
    holders = await asyncio.gather(*[retry_refused(hold) for _ in range(max_connections)])

    async def attempt(k):
        try:
            r, w = await c.connect()
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


async def handshakes(c, tally, n):
    """n TLS handshakes that go wrong, at once; each waits for the server's close where it leaves it open."""
    loop = asyncio.get_running_loop()
    hello = c.hello

    async def one(k):
        s = c.raw()
        try:
            kind = k % 7
            if kind == 0:
                pass  # silent
            elif kind == 1:
                await loop.sock_sendall(s, hello[: len(hello) // 2])
            elif kind == 2:
                await loop.sock_sendall(s, hello)
            elif kind == 3:
                await loop.sock_sendall(s, hello)
                s.shutdown(socket.SHUT_WR)
            elif kind == 4:
                await loop.sock_sendall(s, os.urandom(300))
            elif kind == 5:
                await loop.sock_sendall(s, b"PING\r\n")
            else:
                await loop.sock_sendall(s, hello)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
                return  # the reset: finally closes
            while await asyncio.wait_for(loop.sock_recv(s, 65536), 30):
                pass  # the server's half of the handshake, until it cuts
        except ConnectionError:
            pass
        except Exception as error:  # noqa: BLE001
            tally.count("handshake", error)
        finally:
            s.close()
    await asyncio.gather(*[one(k) for k in range(n)])
