#!/usr/bin/env python3
"""How long other clients wait while one fills a big store, for
BENCHMARKS.md ("Growing a big hash table, a step at a time"): one client
sends MSETs of BATCH keys (`key:000000001` ..., VALUE_BYTES each) over RESP
until KEYS keys are stored, and prints each MSET slower than 100 ms; a
second process sends PING every 10 ms meanwhile and prints its worst round
trip. Works against kv and Redis alike (FLUSHALL first: use a scratch
server).

    python3 bench/fill_latency.py PORT [KEYS] [VALUE_BYTES] [BATCH]
    (defaults: 8738133 keys of 16 bytes, 200 a MSET)

A measurement, not a test.
"""
import multiprocessing, socket, sys, time


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        arg = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


def probe(port, stop, result):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    worst, worst_at, count, started = 0.0, 0.0, 0, time.time()
    while not stop.is_set():
        t = time.perf_counter()
        s.sendall(resp("PING"))  # RESP: kv picks the protocol by the first byte
        if f.readline() != b"+PONG\r\n":
            break
        took = time.perf_counter() - t
        count += 1
        if took > worst:
            worst, worst_at = took, time.time() - started
        time.sleep(0.01)
    result.put((count, worst, worst_at))


def main():
    port = int(sys.argv[1])
    keys = int(sys.argv[2]) if len(sys.argv) > 2 else 8_738_133
    value = b"v" * (int(sys.argv[3]) if len(sys.argv) > 3 else 16)
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    s.sendall(resp("FLUSHALL"))
    f.readline()
    stop, result = multiprocessing.Event(), multiprocessing.Queue()
    prober = multiprocessing.Process(target=probe, args=(port, stop, result))
    prober.start()
    time.sleep(0.5)
    started = time.time()
    for first in range(0, keys, batch):
        args = ["MSET"]
        for i in range(first, min(first + batch, keys)):
            args += [b"key:%09d" % i, value]
        t = time.perf_counter()
        s.sendall(resp(*args))
        line = f.readline()
        took = time.perf_counter() - t
        if line != b"+OK\r\n":
            sys.exit(f"MSET at key {first}: {line!r}")
        if took > 0.1:
            print(f"MSET at key {first:,} took {took * 1000:.0f} ms")
    print(f"filled {keys:,} keys in {time.time() - started:.1f} s")
    stop.set()
    count, worst, worst_at = result.get()
    prober.join()
    print(f"PING: {count} sent, worst {worst * 1000:.1f} ms, {worst_at:.1f} s into the fill")


if __name__ == "__main__":
    main()
