#!/usr/bin/env python3
"""Crash states of `kv serve --data`: what a power cut may leave on disk, built
from a recording of the server's file-system calls, and whether kv keeps its
promises on each (ALICE, OSDI 2014, in small).

    python3 bench/crash_states.py [--fsync always,everysec,no] [--ops 240]
        [--max-states 300] [--keep DIR] [--deno deno] [--seed 1]

For each fsync mode it starts `kv serve --data` under strace (openat, writes,
fsync, fdatasync, ftruncate, rename, link, unlink, and fcntl/dup for the
descriptors Deno duplicates for its worker threads), drives it with a RESP
client (SET, SET PX, DEL and MSET from two pipelining connections, on few
keys so that a small --compact-min-bytes makes it compact several times),
then kills it with SIGKILL. Replaying the trace it models each file's bytes
and the folder's entries, and at every boundary between two calls builds
the states a power cut allows:
  (a) every file as of its last fsync/fdatasync, the folder as of its last
      fsync;
  (b) plus any prefix of the later writes (whole calls, and cut inside the
      last one), or all of them with one 4 KiB page of zeros in the middle
      (a page written back out of order);
  (c) plus any prefix of the folder's changes since its last fsync (create,
      link, rename, unlink): a rename not followed by a folder fsync may be
      undone;
  (d) so a file created and renamed without a fsync may be empty.
Each distinct state (up to --max-states, those of compactions first, the rest
spread evenly) is copied into a temporary folder and checked:
  1. kv serve starts on it, or refuses with one line that names `kv repair`
     and no stack trace;
  2. every key holds the value of its last write acknowledged before the
     crash point, or of a later one sent (always); with everysec the writes
     lost are at most --max-lag-s old (the report gives the largest age seen;
     with no, only reported); a value never written never appears; a key
     written with PX still has an expiry; both keys of an MSET agree;
  3. a second start reads the same data; and `kv repair` (with and without
     --truncate), when it finds anything to repair, writes a copy that
     starts and meets 1 and 2.
The crash point's time is the next recorded call's: a write whose answer the
client read before that was acknowledged before the crash.
Ends with `RESULT mode=... states=N checked=M failed=F ...` per mode; exits 1
if any state failed. --keep DIR keeps every failing state (its files and a
note of the calls before it). Needs strace; loopback only; about 0.6 s of CPU
per state. A quick run, what e2e/crash_states_e2e.ts does (about 30 s):
  python3 bench/crash_states.py --fsync always,everysec --ops 80 --pause 0.02 --max-states 12
"""
import argparse
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = 4096
PX_MS = 3_600_000
TRACED = ("openat,creat,write,pwrite64,writev,pwritev,pwritev2,fsync,fdatasync,ftruncate,"
          "rename,renameat,renameat2,link,linkat,unlink,unlinkat,close,fcntl,dup,dup2,dup3")


# --- The workload: a RESP client that notes when each write was sent and answered. ---

def resp(*words):
    out = [b"*%d\r\n" % len(words)]
    for w in words:
        w = w if isinstance(w, bytes) else str(w).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(w), w))
    return b"".join(out)


class Replies:
    """Reads RESP replies off a socket, one at a time."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _bytes(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._bytes(n)
        if kind == b"*":
            return [self.read() for _ in range(int(rest))]
        if kind == b":":
            return int(rest)
        if kind == b"-":
            return ("error", rest.decode(errors="replace"))
        return rest.decode()


def workload(port, conn_id, ops, batch, pause, seed, log):
    """One connection's writes, pipelined `batch` at a time; appends an op dict per write to log."""
    rng = random.Random(seed * 1000 + conn_id)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    replies = Replies(sock)
    seq = 0
    try:
        while seq < ops:
            sent = []
            for _ in range(min(batch, ops - seq)):
                seq += 1
                value = f"v{conn_id}.{seq}"
                r = rng.random()
                if r < 0.5:
                    op = {"keys": [f"k{conn_id}.{rng.randrange(6)}"], "value": value, "px": False}
                    request = resp("SET", op["keys"][0], value)
                elif r < 0.65:
                    op = {"keys": [f"k{conn_id}.{rng.randrange(6)}"], "value": None, "px": False}
                    request = resp("DEL", op["keys"][0])
                elif r < 0.8:
                    op = {"keys": [f"e{conn_id}.{rng.randrange(3)}"], "value": value, "px": True}
                    request = resp("SET", op["keys"][0], value, "PX", PX_MS)
                else:
                    j = rng.randrange(3)
                    op = {"keys": [f"m{conn_id}.{j}a", f"m{conn_id}.{j}b"], "value": value, "px": False}
                    request = resp("MSET", op["keys"][0], value, op["keys"][1], value)
                op["sent"] = time.time()
                op["acked"] = None
                sock.sendall(request)
                sent.append(op)
            for op in sent:
                reply = replies.read()
                if not isinstance(reply, tuple):
                    op["acked"] = time.time()
                log.append(op)
            if pause:
                time.sleep(pause)
    finally:
        sock.close()


def key_names(conns):
    names = []
    for c in range(conns):
        names += [f"k{c}.{i}" for i in range(6)] + [f"e{c}.{i}" for i in range(3)]
        names += [f"m{c}.{j}{s}" for j in range(3) for s in "ab"]
    return names


# --- Recording: kv serve under strace. ---

def kv_args(deno, folder, *args):
    return [deno, "run", "--allow-net=127.0.0.1", f"--allow-read={folder}", f"--allow-write={folder}",
            os.path.join(ROOT, "main.ts"), *args]


def wait_listening(proc, timeout=30.0):
    """Returns the port once `listening on` is printed, or None if the process ended first."""
    deadline = time.time() + timeout
    line = b""
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            return None
        m = re.match(rb"listening on [^:]+:(\d+)", line)
        if m:
            return int(m.group(1))
    raise TimeoutError("kv serve did not start")


def record(args, mode, work):
    folder = os.path.join(work, "rec")
    os.makedirs(folder)
    trace = os.path.join(work, "trace")
    cmd = ["strace", "-f", "-ttt", "-y", "-xx", "-s", "16777216", "-o", trace, "-e", "trace=" + TRACED,
           *kv_args(args.deno, folder, "serve", "--port", "0", "--data", os.path.join(folder, "kv.log"),
                    "--fsync", mode, "--compact-min-bytes", str(args.compact_min_bytes))]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(os.path.join(work, "serve.err"), "wb"))
    try:
        port = wait_listening(proc)
        if port is None:
            raise SystemExit(f"kv serve under strace did not start: see {work}/serve.err")
        log = []
        pause = 0.0 if mode == "always" else args.pause
        threads = [threading.Thread(target=workload,
                                    args=(port, c, args.ops, args.batch, pause, args.seed, log))
                   for c in range(args.conns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(args.settle)  # a compaction under way may finish, everysec may sync
    finally:
        # kill -9 of kv itself (strace's child), by its id; strace then ends.
        killed = time.time()
        children = f"/proc/{proc.pid}/task/{proc.pid}/children"
        try:
            for pid in open(children).read().split():
                os.kill(int(pid), signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError):
            pass
        proc.wait()
    return trace, folder, log, killed


# --- Parsing the trace into file-system events. ---

HEX = re.compile(r'"((?:\\x[0-9a-f]{2})*)"')
LINE = re.compile(r"^(\d+)\s+(\d+\.\d+) (.*)$")


def unhex(s):
    return bytes.fromhex(s.replace("\\x", ""))


def fd_path(s):
    """`12</path>` -> (12, '/path') with the path decoded."""
    m = re.match(r"(-?\d+)<((?:\\x[0-9a-f]{2})*)>", s)
    return (int(m.group(1)), unhex(m.group(2)).decode(errors="replace")) if m else (None, None)


def calls(trace):
    """Yields (time, name, args text, result text) per finished call, in the order strace saw them finish."""
    unfinished = {}
    for raw in open(trace, encoding="latin-1"):
        m = LINE.match(raw.rstrip("\n"))
        if not m:
            continue
        pid, ts, rest = m.group(1), float(m.group(2)), m.group(3)
        if rest.endswith("<unfinished ...>"):
            unfinished[pid] = rest[: -len("<unfinished ...>")].rstrip()
            continue
        r = re.match(r"<\.\.\. (\w+) resumed>(.*)$", rest)
        if r:
            rest = unfinished.pop(pid, r.group(1) + "(") + r.group(2)
        c = re.match(r"(\w+)\((.*)\) += (.*)$", rest)
        if c:
            yield ts, c.group(1), c.group(2), c.group(3)


def events(trace, folder):
    """The calls that change files in `folder` or sync them, as (time, kind, ...) tuples; fds resolved to paths at open."""
    out = []
    fds = {}  # fd -> ('file', path at open) | ('dir',)
    prefix = folder + "/"
    for ts, name, argtext, result in calls(trace):
        if result.startswith("-1") or result.startswith("?"):
            continue
        first_fd, _ = fd_path(argtext)
        if name in ("openat", "creat"):
            fd, path = fd_path(result)
            if fd is None:
                continue
            if path == folder:
                fds[fd] = ("dir",)
                out.append((ts, "opendir", fd))
            elif path.startswith(prefix):
                flags = argtext.split(", ")[2] if name == "openat" else "O_CREAT|O_TRUNC"
                fds[fd] = ("file", os.path.basename(path))
                out.append((ts, "open", fd, os.path.basename(path), "O_CREAT" in flags, "O_TRUNC" in flags))
            else:
                fds.pop(fd, None)
        elif name in ("fcntl", "dup", "dup2", "dup3"):
            if name == "fcntl" and "F_DUPFD" not in argtext:
                continue
            fd, _ = fd_path(result)
            if fd is None:
                continue
            if first_fd in fds:
                fds[fd] = fds[first_fd]
                out.append((ts, "dup", first_fd, fd))
            else:
                fds.pop(fd, None)
        elif name == "close":
            if first_fd in fds:
                del fds[first_fd]
                out.append((ts, "close", first_fd))
        elif first_fd is not None and first_fd in fds and name in ("write", "pwrite64", "writev", "pwritev", "pwritev2"):
            n = int(result.split()[0])
            data = b"".join(unhex(s) for s in HEX.findall(argtext))[:n]
            offset = None
            if name in ("pwrite64", "pwritev", "pwritev2"):
                offset = int(argtext.rsplit(", ", 1 if name == "pwrite64" else 2)[1].split(",")[0])
            out.append((ts, "write", first_fd, data, offset))
        elif first_fd is not None and first_fd in fds and name in ("fsync", "fdatasync"):
            out.append((ts, "sync", first_fd))
        elif first_fd is not None and first_fd in fds and name == "ftruncate":
            out.append((ts, "truncate", first_fd, int(argtext.rsplit(", ", 1)[1])))
        elif name in ("rename", "renameat", "renameat2", "link", "linkat", "unlink", "unlinkat"):
            paths = [unhex(s).decode(errors="replace") for s in HEX.findall(argtext)]
            paths = [p for p in paths if not p.startswith("/") or p.startswith(prefix) or p == folder]
            names = [os.path.basename(p) for p in paths if p.startswith(prefix)]
            kind = {"rename": "rename", "renameat": "rename", "renameat2": "rename",
                    "link": "link", "linkat": "link"}.get(name, "unlink")
            if len(names) == (1 if kind == "unlink" else 2):
                out.append((ts, kind, *names))
    return out


# --- The model: each file's bytes (durable and not), the folder's entries (durable and not). ---

class Inode:
    def __init__(self, ident):
        self.ident = ident
        self.durable = b""
        self.pending = []  # ('w', offset|None, bytes) | ('t', size)

    def replay(self, ops, base=None):
        data = bytearray(self.durable if base is None else base)
        for op in ops:
            if op[0] == "t":
                del data[op[1]:]
                data.extend(b"\0" * (op[1] - len(data)))
            else:
                at = len(data) if op[1] is None else op[1]
                if at > len(data):
                    data.extend(b"\0" * (at - len(data)))
                data[at:at + len(op[2])] = op[2]
        return bytes(data)

    def current(self):
        return self.replay(self.pending)

    def options(self):
        """(label, bytes) for each content a power cut may leave."""
        out = [("synced", self.durable)]
        for j, op in enumerate(self.pending):
            before = self.replay(self.pending[:j])
            if op[0] == "w":
                n = len(op[2])
                for cut in sorted({1, 12, n // 2, n - 1}):
                    if 0 < cut < n:
                        out.append((f"+{j} calls, then {cut}/{n} bytes of the next",
                                    self.replay([("w", op[1], op[2][:cut])], before)))
            out.append((f"+{j + 1} calls", self.replay(self.pending[: j + 1])))
        full = self.current()
        start = len(self.durable)
        pages = list(range(start // PAGE, (len(full) - 1) // PAGE))  # pages with bytes after them
        for p in sorted({pages[0], pages[len(pages) // 2], pages[-1]} if pages else set()):
            lo, hi = max(p * PAGE, start), min((p + 1) * PAGE, len(full))
            if lo < hi:
                out.append((f"all {len(self.pending)} calls, zeros in [{lo}, {hi})",
                            full[:lo] + b"\0" * (hi - lo) + full[hi:]))
        return out


class Model:
    def __init__(self):
        self.inodes = {}
        self.fds = {}
        self.dir = {}  # name -> Inode (what the running system sees)
        self.durable_dir = {}
        self.dir_pending = []  # ('create'|'link'|'rename'|'unlink', ...)
        self.next = 0

    def apply(self, ev):
        kind = ev[1]
        if kind == "opendir":
            self.fds[ev[2]] = "dir"
        elif kind == "open":
            _, _, fd, name, create, trunc = ev
            if name not in self.dir:
                node = Inode(self.next)
                self.next += 1
                self.dir[name] = node
                self.dir_pending.append(("create", name, node))
            node = self.dir[name]
            if trunc:
                node.pending.append(("t", 0))
            self.fds[fd] = node
        elif kind == "dup":
            if ev[2] in self.fds:
                self.fds[ev[3]] = self.fds[ev[2]]
        elif kind == "close":
            self.fds.pop(ev[2], None)
        elif kind == "write":
            node = self.fds.get(ev[2])
            if node is not None:
                node.pending.append(("w", ev[4], ev[3]))
        elif kind == "truncate":
            node = self.fds.get(ev[2])
            if node is not None:
                node.pending.append(("t", ev[3]))
        elif kind == "sync":
            node = self.fds.get(ev[2])
            if node == "dir":
                self.durable_dir = dict(self.dir)
                self.dir_pending = []
            elif node is not None:
                node.durable = node.current()
                node.pending = []
        elif kind == "rename":
            _, _, src, dst = ev
            if src in self.dir:
                self.dir[dst] = self.dir.pop(src)
                self.dir_pending.append(("rename", src, dst))
        elif kind == "link":
            _, _, src, dst = ev
            if src in self.dir:
                self.dir[dst] = self.dir[src]
                self.dir_pending.append(("link", src, dst))
        elif kind == "unlink":
            if ev[2] in self.dir:
                del self.dir[ev[2]]
                self.dir_pending.append(("unlink", ev[2]))

    def dir_options(self):
        out = []
        d = dict(self.durable_dir)
        out.append(("folder as synced", dict(d)))
        for i, op in enumerate(self.dir_pending):
            if op[0] == "create":
                d[op[1]] = op[2]
            elif op[0] == "rename" and op[1] in d:
                d[op[2]] = d.pop(op[1])
            elif op[0] == "link" and op[1] in d:
                d[op[2]] = d[op[1]]
            elif op[0] == "unlink":
                d.pop(op[1], None)
            out.append((f"folder +{i + 1} of {len(self.dir_pending)} changes ({op[0]} {op[1]})", dict(d)))
        return out

    def states(self):
        """(description, {name: bytes}) for the crash states at this boundary."""
        out = []
        for dlabel, entries in self.dir_options():
            nodes = {n.ident: n for n in entries.values()}
            opts = {i: n.options() for i, n in nodes.items()}
            # Vary one file's content at a time; the others as synced, or with all their writes.
            for vary in nodes:
                for others in ("synced", "all"):
                    for label, data in opts[vary]:
                        files, desc = {}, [dlabel]
                        for name, n in sorted(entries.items()):
                            if n.ident == vary:
                                files[name] = data
                                desc.append(f"{name}: {label}")
                            else:
                                files[name] = n.durable if others == "synced" else n.current()
                                desc.append(f"{name}: {others}")
                        out.append(("; ".join(desc), files))
            if not nodes:
                out.append((dlabel + "; no files", {}))
        return out


def describe_event(ev):
    kind = ev[1]
    if kind == "write":
        return f"write(fd {ev[2]}, {len(ev[3])} bytes)"
    if kind == "open":
        return f"openat({ev[3]}{', O_CREAT' if ev[4] else ''}{', O_TRUNC' if ev[5] else ''}) = fd {ev[2]}"
    if kind == "sync":
        return f"fsync/fdatasync(fd {ev[2]})"
    if kind == "truncate":
        return f"ftruncate(fd {ev[2]}, {ev[3]})"
    if kind in ("rename", "link"):
        return f"{kind}({ev[2]}, {ev[3]})"
    return f"{kind}({', '.join(str(x) for x in ev[2:])})"


# --- Checking one state. ---

def dump(port, names):
    sock = socket.create_connection(("127.0.0.1", port))
    try:
        sock.sendall(b"".join(resp("GET", k) + resp("PTTL", k) for k in names))
        replies = Replies(sock)
        out = {}
        for k in names:
            value, ttl = replies.read(), replies.read()
            out[k] = (value.decode() if isinstance(value, bytes) else None, ttl)
        return out
    finally:
        sock.close()


def serve(args, folder, mode, names):
    """Starts kv serve on folder/kv.log: ('ok', data, stderr) or ('refused', None, stderr)."""
    proc = subprocess.Popen(kv_args(args.deno, folder, "serve", "--port", "0", "--data",
                                    os.path.join(folder, "kv.log"), "--fsync", mode),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = wait_listening(proc)
        if port is None:
            proc.wait()
            err = proc.stderr.read().decode(errors="replace")
            return "refused", proc.returncode, err or f"(nothing on stderr; exit status {proc.returncode})"
        data = dump(port, names)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        return "ok", data, err.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def judge(data, log, names, crash_at, mode, max_lag):
    """Problems with `data` for a crash at `crash_at`, and the age of the oldest acknowledged write lost."""
    problems = []
    lag = 0.0
    history = {k: [] for k in names}
    for op in log:
        for k in op["keys"]:
            history[k].append(op)
    for k in names:
        ops = sorted(history[k], key=lambda o: o["sent"])
        value, ttl = data[k]
        acked = [i for i, o in enumerate(ops) if o["acked"] is not None and o["acked"] < crash_at]
        last_acked = acked[-1] if acked else -1
        if value is None:
            found = max([i for i, o in enumerate(ops) if o["value"] is None] + [-1])
        else:
            match = [i for i, o in enumerate(ops) if o["value"] == value]
            if not match:
                problems.append(f"{k} = {value!r}, a value never written to it")
                continue
            found = match[0]
            if ops[found]["sent"] >= crash_at:
                problems.append(f"{k} = {value!r}, sent after the crash point")
            if ops[found]["px"] and not (isinstance(ttl, int) and ttl > 0):
                problems.append(f"{k} = {value!r} was written with PX {PX_MS} but has PTTL {ttl}")
        if found < last_acked:
            lost = [i for i in acked if i > found]
            age = crash_at - ops[lost[0]]["acked"]
            lag = max(lag, age)
            what = "absent" if value is None else repr(value)
            msg = (f"{k} is {what}, but {len(lost)} later write(s) were acknowledged, the first "
                   f"{age:.3f} s before the crash ({ops[lost[0]]['value']!r})")
            if mode == "always" or (mode == "everysec" and age > max_lag):
                problems.append(msg)
    for k in names:
        if k.startswith("m") and k.endswith("a"):
            a, b = data[k][0], data[k[:-1] + "b"][0]
            if a != b:
                problems.append(f"half an MSET: {k} = {a!r} but {k[:-1]}b = {b!r}")
    return problems, lag


def strip_ttl(data):
    """A dump without the milliseconds left (they run down): whether each key expires."""
    return {k: (v, ttl > 0 if isinstance(ttl, int) and ttl >= 0 else ttl) for k, (v, ttl) in data.items()}


def one_line_refusal(err):
    lines = [l for l in err.splitlines() if l.strip()]
    stack = [l for l in lines if re.match(r"\s+at ", l)]
    problems = []
    if stack:
        problems.append("a stack trace")
    if "kv repair" not in err:
        problems.append("no mention of kv repair")
    return problems


# Starts on repaired files, by their bytes' digest (most repairs of a mode's states give the same few files).
REPAIRED = {}


def check_state(args, mode, files, log, names, crash_at, tmp):
    """Returns (outcome words, problems, lag)."""
    problems = []
    folder = os.path.join(tmp, "s")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for name, data in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    outcome, data, err = serve(args, folder, mode, names)
    lag = 0.0
    words = [outcome]
    if outcome == "refused":
        problems += [f"start refused ({p}): {err.strip()}" for p in one_line_refusal(err)]
    else:
        found, lag = judge(data, log, names, crash_at, mode, args.max_lag_s)
        problems += found
        if "dropped" in err:
            words.append("torn tail dropped")
        # The start changed the files (cut a torn tail, removed a compaction's
        # leftovers, made a new log): a second start must read the same data.
        # (Otherwise it reads the same bytes again.)
        now = {name: open(os.path.join(folder, name), "rb").read() for name in os.listdir(folder)}
        if now != files:
            words.append("second start")
            again, data2, err2 = serve(args, folder, mode, names)
            if again != "ok":
                problems.append(f"a second start refused: {err2.strip()}")
            elif strip_ttl(data2) != strip_ttl(data):
                problems.append("a second start reads other data than the first")
    if "kv.log" in files:
        for flags in ([], ["--truncate"]):
            r = os.path.join(tmp, "r")
            shutil.rmtree(r, ignore_errors=True)
            os.makedirs(r)
            with open(os.path.join(r, "kv.log"), "wb") as f:
                f.write(files["kv.log"])
            rep = subprocess.run(kv_args(args.deno, r, "repair", *flags, os.path.join(r, "kv.log")),
                                 capture_output=True, text=True)
            label = "repair" + (" --truncate" if flags else "")
            if rep.returncode != 0:
                if "not a kv data file" not in rep.stderr:
                    problems.append(f"{label} failed: {rep.stderr.strip()}")
                continue
            if "nothing to repair" in rep.stdout:
                continue
            os.replace(os.path.join(r, "kv.log.repaired"), os.path.join(r, "kv.log"))
            words.append(label)
            digest = hashlib.sha256(open(os.path.join(r, "kv.log"), "rb").read()).hexdigest()
            if digest not in REPAIRED:
                REPAIRED[digest] = serve(args, r, mode, names)
            got, rdata, rerr = REPAIRED[digest]
            if got != "ok":
                problems.append(f"after {label}, the start refused: {rerr.strip()}")
                continue
            found, rlag = judge(rdata, log, names, crash_at, mode, args.max_lag_s)
            lag = max(lag, rlag)
            problems += [f"after {label}: {p}" for p in found]
    return ", ".join(words), problems, lag


# --- Driving it. ---

def run_mode(args, mode):
    work = tempfile.mkdtemp(prefix=f"kv-crashstates-{mode}-")
    REPAIRED.clear()
    try:
        trace, folder, log, killed = record(args, mode, work)
        evs = events(trace, folder)
        names = key_names(args.conns)
        model = Model()
        states = {}  # digest -> [description, files, last boundary, first boundary, in a compaction]
        compacting = False
        boundaries = 0
        for k, ev in enumerate(evs):
            model.apply(ev)
            if ev[1] == "open" and ev[3].endswith(".compact"):
                compacting = True
            crash_at = evs[k + 1][0] if k + 1 < len(evs) else killed
            boundaries += 1
            for desc, files in model.states():
                digest = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()
                if digest in states:
                    states[digest][2] = k
                    states[digest][5] = crash_at
                else:
                    states[digest] = [desc, files, k, k, compacting, crash_at]
            if ev[1] == "sync" and model.fds.get(ev[2]) == "dir":
                compacting = False
        ordered = list(states.values())
        special = [s for s in ordered if s[4] or len(s[1]) != 1]
        plain = [s for s in ordered if not (s[4] or len(s[1]) != 1)]
        # Half the budget for the states of compactions (several files, a
        # folder not yet synced), the rest for the others, each spread evenly.
        spread = lambda some, n: some if len(some) <= n else [some[int(i * len(some) / n)] for i in range(n)]
        special = spread(special, max(args.max_states // 2, args.max_states - len(plain)))
        plain = spread(plain, args.max_states - len(special))
        chosen = sorted(special + plain, key=lambda s: s[2])
        acked = sum(1 for o in log if o["acked"] is not None)
        compactions = sum(1 for e in evs if e[1] == "rename")
        print(f"== {mode}: {len(log)} writes ({acked} acknowledged), {len(evs)} file-system calls, "
              f"{compactions} compactions; {boundaries} boundaries, {len(states)} distinct crash states; "
              f"checking {len(chosen)}", flush=True)
        tmp = os.path.join(work, "check")
        os.makedirs(tmp)
        failed = 0
        outcomes = {}
        max_lag = 0.0
        for n, (desc, files, last, first, _, crash_at) in enumerate(chosen):
            words, problems, lag = check_state(args, mode, files, log, names, crash_at, tmp)
            outcomes[words] = outcomes.get(words, 0) + 1
            max_lag = max(max_lag, lag)
            if problems:
                failed += 1
                calls_before = [f"  #{i} {describe_event(evs[i])}" for i in range(max(0, last - 8), last + 1)]
                print(f"FAIL state after call #{last} (first possible after #{first}): {desc}", flush=True)
                for p in problems[:6]:
                    print(f"  - {p}")
                print("  calls up to it:\n" + "\n".join(calls_before), flush=True)
                if args.keep:
                    where = os.path.join(args.keep, f"{mode}-{n}")
                    os.makedirs(where, exist_ok=True)
                    for name, data in files.items():
                        with open(os.path.join(where, name), "wb") as f:
                            f.write(data)
                    with open(os.path.join(where, "NOTE"), "w") as f:
                        f.write(f"{desc}\n" + "\n".join(problems) + "\n" + "\n".join(calls_before) + "\n")
        print("outcomes: " + "; ".join(f"{w}: {c}" for w, c in sorted(outcomes.items())))
        print(f"RESULT mode={mode} writes={len(log)} acked={acked} calls={len(evs)} compactions={compactions} "
              f"boundaries={boundaries} states={len(states)} checked={len(chosen)} failed={failed} "
              f"oldest_lost_ack_s={max_lag:.3f}", flush=True)
        return failed
    finally:
        if args.keep_work:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main():
    # Raw text for the description and epilog, and each option's default in its help line
    # (the usage paragraph of the docstring, which shows them, is not printed).
    class Formatter(argparse.RawDescriptionHelpFormatter):
        def _get_help_string(self, action):
            if action.default in (None, False, argparse.SUPPRESS):
                return action.help
            return f"{action.help} (default: %(default)s)"

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=Formatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("--fsync", default="always,everysec,no", help="modes, comma-separated")
    ap.add_argument("--ops", type=int, default=240, help="writes per connection")
    ap.add_argument("--conns", type=int, default=2, help="writing connections")
    ap.add_argument("--batch", type=int, default=4, help="writes in flight per connection")
    ap.add_argument("--pause", type=float, default=0.05, help="s between batches (not for always)")
    ap.add_argument("--compact-min-bytes", type=int, default=2048,
                    help="kv serve's compaction floor, small so that it compacts often")
    ap.add_argument("--max-states", type=int, default=300, help="states checked per mode")
    ap.add_argument("--max-lag-s", type=float, default=2.0, help="everysec: the oldest loss allowed")
    ap.add_argument("--settle", type=float, default=0.3, help="s between the last answer and the kill")
    ap.add_argument("--seed", type=int, default=1, help="the writes' random numbers")
    ap.add_argument("--deno", default="deno", help="the Deno that runs kv")
    ap.add_argument("--keep", metavar="DIR", help="copy failing states here")
    ap.add_argument("--keep-work", action="store_true", help="keep the trace and temporary folders")
    args = ap.parse_args()
    modes = args.fsync.split(",")
    for m in modes:
        if m not in ("always", "everysec", "no"):
            ap.error(f"--fsync: {m!r} is not always, everysec or no")
    if args.ops < 1 or args.conns < 1 or args.batch < 1 or args.max_states < 1:
        ap.error("--ops, --conns, --batch and --max-states must be at least 1")
    if shutil.which("strace") is None:
        ap.error("strace is not installed (apt-get install strace)")
    failed = sum(run_mode(args, m) for m in modes)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
