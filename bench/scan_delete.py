#!/usr/bin/env python3
"""How long the usual cleanup of a big store takes, and what other clients
wait meanwhile, for BENCHMARKS.md ("Growing a big hash table, a step at a
time"): loads N keys with MSET, then deletes them all the way
`redis-cli --scan | xargs redis-cli del` does (SCAN COUNT 1000, then DEL of
what it returned), while a second process sends PING every 10 ms
(resp_probe.py) and its worst round trip is printed. Works against kv and
Redis alike (FLUSHALL first: use a scratch server).

    python3 bench/scan_delete.py PORT [KEYS]   (default: 1,000,000)

A measurement, not a test.
"""
import argparse, time

from resp_probe import Prober, connect, read, resp


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("port", type=int)
    ap.add_argument("keys", type=int, nargs="?", default=1_000_000)
    args = ap.parse_args()
    port, keys = args.port, args.keys
    s, f = connect(port)
    s.sendall(resp("FLUSHALL"))
    read(f)
    for first in range(0, keys, 1000):
        args = ["MSET"]
        for i in range(first, min(first + 1000, keys)):
            args += [f"k:{i}", f"value-{i}"]
        s.sendall(resp(*args))
        read(f)
    with Prober(port) as probe:
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
    print(f"deleted {deleted:,} keys in {took:.1f} s; PING worst {probe.worst_ms:.0f} ms, "
          f"{probe.over_100ms} over 100 ms")


if __name__ == "__main__":
    main()
