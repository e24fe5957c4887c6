#!/usr/bin/env python3
"""Out of file descriptors: what a server does at its open-file limit.

    python3 bench/fd_limit.py [--server kv|kv-tls|redis] [--limit 64] [--seconds 5] [--root DIR]

Starts the server under `prlimit --nofile=LIMIT:LIMIT` (kv from this
checkout, or the one in --root, with `deno run`; or Redis 7 with `--maxclients 10000`, which it
lowers to fit), then opens clients, each answered once, until one gets no
answer within a second (it waits in the listen backlog) or is refused or
closed. With that client waiting it measures the server's CPU time (from
/proc/PID/stat) and its log lines for SECONDS; closes one held client and
says whether the waiting one is served; then lets clients come and go at the
limit for SECONDS (close one, connect another, one request each) and counts
log lines and CPU again; then closes every client and compares the server's
open descriptors (/proc/PID/fd) with those it had before the first client.

It is a measurement tool, not a test (e2e/fd_limit_e2e.ts is the test):
run it for kv and for Redis, one after the other, and compare
(BENCHMARKS.md, "Out of file descriptors").
"""
import argparse
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

from certs import write_test_certificate
from proc import cpu_seconds, free_port, open_fds, served_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Server:
    def __init__(self, kind, limit, workdir, root):
        self.kind = kind
        self.log_path = os.path.join(workdir, "server.log")
        log = open(self.log_path, "w")
        limit_args = ["prlimit", f"--nofile={limit}:{limit}", "--"]
        if kind == "redis":
            self.port = free_port()
            args = ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no",
                    "--maxclients", "10000"]
            self.proc = subprocess.Popen(limit_args + args, stdout=log, stderr=log)
            deadline = time.time() + 10
            while "Ready to accept connections" not in open(self.log_path).read():
                if time.time() > deadline or self.proc.poll() is not None:
                    sys.exit("redis-server did not start")
                time.sleep(0.05)
        else:
            args = ["deno", "run", "--allow-net=127.0.0.1", os.path.join(root, "main.ts"), "serve",
                    "--port", "0"]
            if kind == "kv-tls":
                _, cert, key = write_test_certificate(workdir, ROOT)
                args[2:3] = ["--allow-net=127.0.0.1", f"--allow-read={workdir}"]
                args += ["--tls-cert", cert, "--tls-key", key]
            self.proc = subprocess.Popen(limit_args + args, stdout=subprocess.PIPE, stderr=log,
                                         text=True)
            self.port = served_port(self.proc, "kv serve")
        self.pid = self.proc.pid

    def log_lines(self):
        with open(self.log_path) as log:
            return sum(1 for _ in log)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class Client:
    """One connection, speaking the server's protocol (RESP to Redis)."""

    def __init__(self, server, workdir, timeout):
        raw = socket.create_connection(("127.0.0.1", server.port))
        raw.settimeout(timeout)
        self.sock = raw
        if server.kind == "kv-tls":
            context = ssl.create_default_context(cafile=os.path.join(workdir, "ca.pem"))
            self.sock = context.wrap_socket(raw, server_hostname="localhost",
                                            do_handshake_on_connect=False)
        self.request = b"PING\r\n" if server.kind == "redis" else b"PING\n"

    def ask(self):
        """The answer to PING: b"" if the server closed, None if none came in time."""
        try:
            if isinstance(self.sock, ssl.SSLSocket):
                self.sock.do_handshake()
            self.sock.sendall(self.request)
            return self.sock.recv(256)
        except (socket.timeout, TimeoutError):
            return None
        except (ConnectionError, ssl.SSLError):
            return b""

    def close(self):
        self.sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", choices=["kv", "kv-tls", "redis"], default="kv")
    ap.add_argument("--limit", type=int, default=64, help="the server's open-file limit")
    ap.add_argument("--seconds", type=float, default=5.0, help="how long each phase lasts")
    ap.add_argument("--root", default=ROOT, help="the kv checkout to run (default: this one)")
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.root, "main.ts")):
        ap.error(f"argument --root: no main.ts in {args.root}")
    workdir = tempfile.mkdtemp(prefix="fd_limit.")
    server = Server(args.server, args.limit, workdir, args.root)
    try:
        time.sleep(0.5)  # Let the server's own startup descriptors settle.
        baseline = open_fds(server.pid)
        first_lines = server.log_lines()
        held, waiting = [], None
        while len(held) < 10_000:
            client = Client(server, workdir, 1.0)
            answer = client.ask()
            if answer and answer.startswith((b"PONG", b"+PONG")):
                held.append(client)
                continue
            waiting = client
            if answer is None:
                print(f"{len(held)} clients served; the next waits (no answer within 1 s)")
            else:
                print(f"{len(held)} clients served; the next got {answer!r}")
            break
        print(f"open descriptors: {baseline} before the first client, "
              f"{open_fds(server.pid)} at the limit")
        cpu = cpu_seconds(server.pid)
        time.sleep(args.seconds)
        print(f"at the limit for {args.seconds:g} s more: CPU {cpu_seconds(server.pid) - cpu:.3f} s; "
              f"{server.log_lines() - first_lines} log lines since the first client")
        held.pop(0).close()
        if waiting is not None and answer is not None:
            waiting.close()
            waiting = None
        if waiting is not None:
            waiting.sock.settimeout(5.0)
            try:
                late = waiting.sock.recv(256) if server.kind != "kv-tls" else waiting.ask()
            except (socket.timeout, TimeoutError, ConnectionError, ssl.SSLError) as error:
                late = repr(error)
            print(f"one held client closed: the waiting one then got {late!r}")
            waiting.close()
        lines, cpu, start, churned, slowest = server.log_lines(), cpu_seconds(server.pid), \
            time.time(), 0, 0.0
        while time.time() - start < args.seconds and held:
            held.pop(0).close()
            asked = time.time()
            client = Client(server, workdir, 5.0)
            answer = client.ask()
            slowest = max(slowest, time.time() - asked)
            if not answer or not answer.startswith((b"PONG", b"+PONG")):
                print(f"while clients came and went, one got {answer!r}")
                client.close()
                break
            held.append(client)
            churned += 1
        elapsed = time.time() - start
        print(f"clients coming and going at the limit: {churned} in {elapsed:.1f} s, "
              f"{(server.log_lines() - lines) / elapsed:.1f} log lines a second, "
              f"CPU {cpu_seconds(server.pid) - cpu:.3f} s, slowest answer {slowest * 1000:.0f} ms")
        for client in held:
            client.close()
        deadline = time.time() + 5
        while open_fds(server.pid) > baseline and time.time() < deadline:
            time.sleep(0.05)
        print(f"every client closed: {open_fds(server.pid)} open descriptors "
              f"(before the first client: {baseline})")
    finally:
        server.stop()
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
