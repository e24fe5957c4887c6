"""bench/leak_waves.py's client side: how it reaches the server under test
(TCP or TLS, with or without a password) and the ways it ends a connection
(a close, a reset, reading until the server closes).
"""
import asyncio
import socket
import ssl
import struct

from resp_probe import resp  # bench/'s one RESP request encoder

LINGER0 = struct.pack("ii", 1, 0)


class Wrong(Exception):
    """A lifecycle did not end as it should."""


# What the server answers a client past --max-connections, in either protocol.
REFUSALS = (b"Error: too many connections\n", b"-ERR max number of clients reached\r\n")


class Refused(Exception):
    """The server refused a lifecycle's connection past --max-connections: it still counted
    a connection that had ended on this side (one the server was still closing), so the
    lifecycle is tried again (retry_refused)."""


async def retry_refused(attempt, tries=100, wait_s=0.05):
    """Runs `attempt()` again while it is refused past the limit, up to `tries` times
    (5 s): a limit that never frees is a leak, and fails as Wrong."""
    for _ in range(tries):
        try:
            return await attempt()
        except Refused:
            await asyncio.sleep(wait_s)
    raise Wrong(f"refused past --max-connections for {tries * wait_s:g} s")


def client_hello(ctx):
    """The first bytes a TLS client sends with `ctx`: its ClientHello."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    try:
        ctx.wrap_bio(incoming, outgoing, server_hostname="localhost").do_handshake()
    except ssl.SSLWantReadError:
        return outgoing.read()
    return b""


class Client:
    """Where the server listens and how to talk to it: `ca`, the PEM text of
    the CA to trust (None: plain TCP); `password` (None: no AUTH). Each
    request a lifecycle sends starts with auth_line or auth_resp (empty
    without a password), answered by `authed` lines."""

    def __init__(self, port, ca=None, password=None):
        self.port = port
        self.password = password
        self.ctx = ssl.create_default_context(cadata=ca) if ca is not None else None
        self.hello = client_hello(self.ctx) if self.ctx is not None else b""
        self.auth_line = b"AUTH, %s\n" % password.encode() if password else b""
        self.auth_resp = resp("AUTH", password) if password else b""
        self.authed = 1 if password else 0

    async def connect(self):
        return await asyncio.open_connection("127.0.0.1", self.port, ssl=self.ctx, limit=1 << 20,
                                             server_hostname="localhost" if self.ctx else None)

    def raw(self):
        """A plain non-blocking socket to the server, for handshakes done by hand."""
        s = socket.create_connection(("127.0.0.1", self.port))
        s.setblocking(False)
        return s


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
    """Reads a connection's first `n` answer lines; Refused if the server refused it."""
    for k in range(n):
        line = await r.readline()
        if k == 0 and line in REFUSALS:
            raise Refused()
        if not line:
            raise Wrong("closed before its answers")
