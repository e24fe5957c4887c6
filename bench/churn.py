#!/usr/bin/env python3
"""Connection churn: how much a storm of connects and disconnects delays
another client of the same server.

    python3 bench/churn.py -p 12000 [--proto kv|resp] [--clients 10000] [--close reset|normal]

While one client sends PING and waits for PONG in a loop (a round trip at a
time), CLIENTS sockets connect to the server as fast as the machine allows,
and each is closed as soon as it is connected: with a reset (SO_LINGER 0,
the kernel sends RST) or a normal close (FIN). The report gives the PING
round trips during the storm (count, p50, p99, max), how long the storm took,
and how many connects took a second or more (a SYN retry: the listen backlog
overflowed). Loopback only. It raises its own open-file limit to fit; the
server needs one descriptor per connection it holds too.

It is a measurement tool, not a test: run it against kv and against Redis
on the same machine, one after the other, and compare (BENCHMARKS.md).
"""
import argparse
import resource
import select
import socket
import struct
import threading
import time


def pinger(port, proto, stop, samples):
    request, answer = (b"PING\n", b"PONG\n") if proto == "kv" else (b"PING\r\n", b"+PONG\r\n")
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while not stop.is_set():
            start = time.perf_counter()
            conn.sendall(request)
            got = b""
            while len(got) < len(answer):
                chunk = conn.recv(64)
                if not chunk:
                    raise SystemExit("the server closed the PING connection")
                got += chunk
            samples.append((start, time.perf_counter() - start))
            time.sleep(0.0005)


def storm(port, clients, close, batch):
    """Connects `clients` sockets, `batch` at a time in flight; closes each once connected."""
    linger = struct.pack("ii", 1, 0)
    slow = 0
    pending = {}
    started = 0
    poller = select.epoll()
    while started < clients or pending:
        while started < clients and len(pending) < batch:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            if close == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            try:
                sock.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            pending[sock.fileno()] = (sock, time.perf_counter())
            poller.register(sock.fileno(), select.EPOLLOUT)
            started += 1
        for fd, _ in poller.poll(1.0):
            sock, began = pending.pop(fd)
            poller.unregister(fd)
            if time.perf_counter() - began >= 0.9:
                slow += 1
            sock.close()
    poller.close()
    return slow


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-p", "--port", type=int, required=True)
    ap.add_argument("--proto", choices=["kv", "resp"], default="kv")
    ap.add_argument("--clients", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=1_000, help="connects in flight at once")
    ap.add_argument("--close", choices=["reset", "normal"], default="reset")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.batch + 1024)), hard))

    stop = threading.Event()
    samples = []
    thread = threading.Thread(target=pinger, args=(args.port, args.proto, stop, samples))
    thread.start()
    time.sleep(0.5)  # a baseline of round trips before the storm
    began = time.perf_counter()
    slow = storm(args.port, args.clients, args.close, args.batch)
    ended = time.perf_counter()
    time.sleep(0.5)  # and the tail after it
    stop.set()
    thread.join()
    during = [rtt for (at, rtt) in samples if began <= at <= ended + 0.5]
    before = [rtt for (at, rtt) in samples if at < began]
    ms = lambda seconds: round(seconds * 1000, 2)
    q = lambda values, p: sorted(values)[min(len(values) - 1, int(p * len(values)))] if values else 0
    print(f"storm: {args.clients} connects with {args.close} close in {ended - began:.2f} s, "
          f"{slow} took 1 s or more (SYN retry)")
    print(f"PING before: n={len(before)} p50={ms(q(before, 0.5))} ms max={ms(max(before, default=0))} ms")
    print(f"PING during: n={len(during)} p50={ms(q(during, 0.5))} ms p99={ms(q(during, 0.99))} ms "
          f"max={ms(max(during, default=0))} ms")
    print(f"RESULT clients={args.clients} close={args.close} storm_s={ended - began:.3f} syn_retries={slow} "
          f"ping_p50_ms={ms(q(during, 0.5))} ping_p99_ms={ms(q(during, 0.99))} ping_max_ms={ms(max(during, default=0))}")


if __name__ == "__main__":
    main()
