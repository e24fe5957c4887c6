#!/usr/bin/env python3
"""How long the usual cleanup of a big store takes, and what other clients
wait meanwhile, for BENCHMARKS.md ("Growing a big hash table, a step at a
time"): loads N keys with MSET, then deletes them all the way
`redis-cli --scan | xargs redis-cli del` does (SCAN COUNT 1000, then DEL of
what it returned), while a second process sends PING every 10 ms and prints
its worst round trip. Works against kv and Redis alike (FLUSHALL first: use
a scratch server).

    python3 bench/scan_delete.py PORT [KEYS]   (default: 1,000,000)

A measurement, not a test.
"""
import multiprocessing, socket, sys, time


def resp(*args):
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


def probe(port, stop, result):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    worst, over = 0.0, 0
    while not stop.is_set():
        t = time.perf_counter()
        s.sendall(resp("PING"))  # RESP: kv picks the protocol by the first byte
        read(f)
        took = time.perf_counter() - t
        worst = max(worst, took)
        over += took > 0.1
        time.sleep(0.01)
    result.put((worst, over))


def main():
    port = int(sys.argv[1])
    keys = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    s.sendall(resp("FLUSHALL"))
    read(f)
    for first in range(0, keys, 1000):
        args = ["MSET"]
        for i in range(first, min(first + 1000, keys)):
            args += [f"k:{i}", f"value-{i}"]
        s.sendall(resp(*args))
        read(f)
    stop, result = multiprocessing.Event(), multiprocessing.Queue()
    prober = multiprocessing.Process(target=probe, args=(port, stop, result))
    prober.start()
    time.sleep(0.5)
    started, cursor, deleted = time.time(), b"0", 0
    while True:
        s.sendall(resp("SCAN", cursor, "COUNT", 1000))
        cursor, found = read(f)
        if found:
            s.sendall(resp("DEL", *found))
            deleted += int(read(f))
        if cursor == b"0":
            break
    took = time.time() - started
    stop.set()
    worst, over = result.get()
    prober.join()
    print(f"deleted {deleted:,} keys in {took:.1f} s; PING worst {worst * 1000:.0f} ms, "
          f"{over} over 100 ms")


if __name__ == "__main__":
    main()
