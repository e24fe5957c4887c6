#!/usr/bin/env python3
"""How long other clients wait while one fills a big store, for
BENCHMARKS.md ("Growing a big hash table, a step at a time"): one client
sends MSETs of BATCH keys (`key:000000001` ..., VALUE_BYTES each) over RESP
until KEYS keys are stored, and prints each MSET slower than 100 ms; a
second process sends PING every 10 ms meanwhile (resp_probe.py) and its
worst round trip is printed. Works against kv and Redis alike (FLUSHALL
first: use a scratch server).

    python3 bench/fill_latency.py PORT [KEYS] [VALUE_BYTES] [BATCH]
    (defaults: 8738133 keys of 16 bytes, 200 a MSET)

A measurement, not a test.
"""
import argparse, time

from resp_probe import Prober, connect, read, resp


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("port", type=int)
    ap.add_argument("keys", type=int, nargs="?", default=8_738_133)
    ap.add_argument("value_bytes", type=int, nargs="?", default=16)
    ap.add_argument("batch", type=int, nargs="?", default=200)
    args = ap.parse_args()
    port, keys, batch = args.port, args.keys, args.batch
    value = b"v" * args.value_bytes
    s, f = connect(port)
    s.sendall(resp("FLUSHALL"))
    read(f)
    with Prober(port) as probe:
        started = time.time()
        for first in range(0, keys, batch):
            args = ["MSET"]
            for i in range(first, min(first + batch, keys)):
                args += [b"key:%09d" % i, value]
            t = time.perf_counter()
            s.sendall(resp(*args))
            read(f)
            took = time.perf_counter() - t
            if took > 0.1:
                print(f"MSET at key {first:,} took {took * 1000:.0f} ms")
        print(f"filled {keys:,} keys in {time.time() - started:.1f} s")
    print(f"PING: {probe.count} sent, worst {probe.worst_ms:.1f} ms, "
          f"{probe.worst_at:.1f} s into the fill")


if __name__ == "__main__":
    main()
