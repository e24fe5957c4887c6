#!/usr/bin/env python3
"""How long KEYS takes on a large store, for BENCHMARKS.md ("KEYS on a
million keys"): sends `KEYS pattern` and a PING behind it over RESP, and
times from the request to the end of the PING's answer (the server blocks
meanwhile, kv and Redis alike).

    python3 bench/keys_time.py PORT [PATTERN ...]   (default: * and *9)

Load the keys first, e.g. ../shared/perf/loadgen -p PORT -k 1000000 -n 1 --preload
(--proto resp for Redis). A measurement, not a test.
"""
import argparse, socket, sys, time

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("port", type=int)
ap.add_argument("patterns", nargs="*", default=["*", "*9"])
args = ap.parse_args()
port = args.port
patterns = [p.encode() for p in args.patterns]
s = socket.create_connection(("127.0.0.1", port))
for pattern in patterns:
    started = time.time()
    s.sendall(b"*2\r\n$4\r\nKEYS\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n" % (len(pattern), pattern))
    answer = bytearray()  # appended in place: the client's copying stays out of the time
    while not answer.endswith(b"+PONG\r\n"):
        chunk = s.recv(1 << 20)
        if not chunk:
            sys.exit("the server closed the connection")
        answer += chunk
    print(f"KEYS {pattern.decode()}: {1000 * (time.time() - started):.0f} ms, {len(answer)} bytes")
