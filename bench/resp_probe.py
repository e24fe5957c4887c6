"""What bench/fill_latency.py and bench/scan_delete.py share: RESP requests
and answers over a plain socket, and a second process that sends PING
every 10 ms and reports its worst round trip (a client that does nothing
but wait on the server: what another client pays for the load under test).
"""
import multiprocessing, socket, sys, time


def resp(*args):
    """One request, as RESP's array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        arg = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


def read(f):
    """One RESP answer: a simple string, an integer, a bulk string or an array of them."""
    line = f.readline()
    kind, rest = line[:1], line[1:-2]
    if kind in b"+:":
        return rest
    if kind == b"$":
        return None if rest == b"-1" else f.read(int(rest) + 2)[:-2]
    if kind == b"*":
        return [read(f) for _ in range(int(rest))]
    sys.exit(f"unexpected answer {line!r}")


def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s, s.makefile("rb")


def _ping(port, stop, result):
    s, f = connect(port)
    worst, worst_at, over, count, started = 0.0, 0.0, 0, 0, time.time()
    while not stop.is_set():
        t = time.perf_counter()
        s.sendall(resp("PING"))  # RESP: kv picks the protocol by the first byte
        read(f)
        took = time.perf_counter() - t
        count += 1
        over += took > 0.1
        if took > worst:
            worst, worst_at = took, time.time() - started
        time.sleep(0.01)
    result.put((count, worst, worst_at, over))


class Prober:
    """`with Prober(port) as probe:` PINGs from another process meanwhile; then
    `probe.count`, `probe.worst_ms`, `probe.worst_at` (s), `probe.over_100ms`."""

    def __init__(self, port):
        self._stop, self._result = multiprocessing.Event(), multiprocessing.Queue()
        self._process = multiprocessing.Process(target=_ping, args=(port, self._stop, self._result))

    def __enter__(self):
        self._process.start()
        time.sleep(0.5)
        return self

    def __exit__(self, *_):
        self._stop.set()
        self.count, worst, self.worst_at, self.over_100ms = self._result.get()
        self.worst_ms = worst * 1000
        self._process.join()
