#!/usr/bin/env python3
"""Crash states of `kv serve --data`: what a power cut may leave on disk, built
from a recording of the server's file-system calls, and whether kv keeps its
promises on each (ALICE, OSDI 2014, in small).

    python3 bench/crash_states.py [--fsync always,everysec,no] [--ops 240]
        [--max-states 300] [--sample-only] [--keep DIR] [--deno deno] [--seed 1]

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
Every distinct state is copied into a folder and checked in one Deno process
(bench/crash_states_load.ts, fed by crash_states_inproc.py) through kv's own
code: the function `kv serve` loads its log with at start, which also words
its refusal, and `kv repair` itself; a few ms a state. Up to --max-states of
them (half from compactions, the rest spread evenly) are also checked as
processes: `kv serve` started on the state and read over RESP, `kv repair` run;
what they do must be what the Deno process saw (--sample-only: check only
these). Either way, by the same rules:
  1. kv serve starts on it, or refuses with one line that names `kv repair`
     and no stack trace;
  2. every key holds the value of its last write acknowledged before the
     crash point, or of a later one sent (always); with everysec the writes
     lost are at most --max-lag-s old (the report gives the largest age seen;
     with no, only reported); a key or value never written never appears; a
     key written with PX still has an expiry; both keys of an MSET agree;
  3. a second start reads the same data; and `kv repair` (with and without
     --truncate), when it finds anything to repair, writes a copy that
     starts and meets 1 and 2.
The crash point's time is the next recorded call's: a write whose answer the
client read before that was acknowledged before the crash.
Ends with `RESULT mode=... states=N checked=N started=M failed=F ...` per
mode; exits 1 if any state failed. --keep DIR keeps every failing state (its
files and a note of the calls before it). Needs strace; loopback only; about
0.6 s of CPU per state started as processes. A quick run, what
e2e/crash_states_e2e.ts does (about 25 s; its floor of 5120 bytes lets the log
pass 4 KiB, so that some states have holes):
  python3 bench/crash_states.py --fsync always,everysec --ops 100 --pause 0.02 --compact-min-bytes 5120 --max-states 12
"""
import argparse
import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from crash_states_check import PX_MS, REPAIRED, Replies, check_state, kv_args, resp
from crash_states_check import observe_process, summary
from crash_states_inproc import InProcess
from crash_states_model import Model, describe_event, events
from proc import listening_port

TRACED = ("openat,creat,write,pwrite64,writev,pwritev,pwritev2,fsync,fdatasync,ftruncate,"
          "rename,renameat,renameat2,link,linkat,unlink,unlinkat,close,fcntl,dup,dup2,dup3")


# --- The workload: a RESP client's writes, noting when each was sent and answered. ---

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


# --- Recording: kv serve under strace. ---

def record(args, mode, work):
    folder = os.path.join(work, "rec")
    os.makedirs(folder)
    trace = os.path.join(work, "trace")
    cmd = ["strace", "-f", "-ttt", "-y", "-xx", "-s", "16777216", "-o", trace, "-e", "trace=" + TRACED,
           *kv_args(args.deno, folder, "serve", "--port", "0", "--data", os.path.join(folder, "kv.log"),
                    "--fsync", mode, "--compact-min-bytes", str(args.compact_min_bytes))]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(os.path.join(work, "serve.err"), "wb"))
    try:
        port = listening_port(proc)
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


# --- Driving it. ---

def run_mode(args, mode):
    work = tempfile.mkdtemp(prefix=f"kv-crashstates-{mode}-")
    REPAIRED.clear()
    try:
        trace, folder, log, killed = record(args, mode, work)
        evs = events(trace, folder)
        names = key_names(args.conns)
        model = Model()
        states = {}  # digest -> [description, files, last boundary, first boundary, in a compaction, crash at]
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
        number = {id(s): i for i, s in enumerate(ordered)}  # a state's name in reports and --keep
        special = [s for s in ordered if s[4] or len(s[1]) != 1]
        plain = [s for s in ordered if not (s[4] or len(s[1]) != 1)]
        # Half the budget for the states of compactions (several files, a
        # folder not yet synced), the rest for the others, each spread evenly.
        spread = lambda some, n: some if len(some) <= n else [some[int(i * len(some) / n)] for i in range(n)]
        special = spread(special, max(args.max_states // 2, args.max_states - len(plain)))
        plain = spread(plain, args.max_states - len(special))
        chosen = sorted(special + plain, key=lambda s: s[2])
        every = [] if args.sample_only else sorted(ordered, key=lambda s: s[2])
        acked = sum(1 for o in log if o["acked"] is not None)
        compactions = sum(1 for e in evs if e[1] == "rename")
        print(f"== {mode}: {len(log)} writes ({acked} acknowledged), {len(evs)} file-system calls, "
              f"{compactions} compactions; {boundaries} boundaries, {len(states)} distinct crash states; "
              f"checking {len(every) or len(chosen)}"
              + (f" in one Deno process, {len(chosen)} of them with kv serve processes too" if every else ""),
              flush=True)
        tmp = os.path.join(work, "check")
        os.makedirs(tmp)
        failed = set()
        outcomes = {}
        max_lag = 0.0

        def judged(n, state, seen, how):
            nonlocal max_lag
            desc, files, last, first, _, crash_at = state
            words, problems, lag = check_state(seen, log, names, crash_at, mode, args.max_lag_s)
            max_lag = max(max_lag, lag)
            if problems:
                report(args, mode, evs, n, state, problems, how)
                failed.add(n)
            return words

        # Every state, in one Deno process; the sample, as kv serve processes.
        inproc_s = time.time()
        inproc = {}  # the sample's observations in-process, to hold kv serve's against
        if every:
            sample = {id(s) for s in chosen}
            loader = InProcess(args.deno, mode, os.path.join(work, "load"))
            for n, seen in enumerate(loader.observe([s[1] for s in every])):
                words = judged(number[id(every[n])], every[n], seen, "in one Deno process")
                outcomes[words] = outcomes.get(words, 0) + 1
                if id(every[n]) in sample:
                    inproc[id(every[n])] = seen
        inproc_s = time.time() - inproc_s
        processes_s = time.time()
        for state in chosen:
            seen = observe_process(args, mode, state[1], names, tmp)
            words = judged(number[id(state)], state, seen, "kv serve processes")
            if not every:
                outcomes[words] = outcomes.get(words, 0) + 1
            elif id(state) in inproc:
                other = inproc[id(state)]
                folders = [os.path.join(tmp, "s"), os.path.join(tmp, "r"), *loader.folders()]
                ours, theirs = summary(seen, folders), summary(other, folders)
                if ours != theirs:
                    what = ["the start", "whether it changed the files", "the second start", "the repairs"]
                    report(args, mode, evs, number[id(state)], state, [
                        f"kv serve processes and the Deno process disagree on {w}: {a} against {b}"
                        for w, a, b in zip(what, ours, theirs) if a != b], "both ways")
                    failed.add(number[id(state)])
        processes_s = time.time() - processes_s
        print("outcomes: " + "; ".join(f"{w}: {c}" for w, c in sorted(outcomes.items())))
        print(f"RESULT mode={mode} writes={len(log)} acked={acked} calls={len(evs)} compactions={compactions} "
              f"boundaries={boundaries} states={len(states)} checked={len(every) or len(chosen)} "
              f"started={len(chosen)} failed={len(failed)} oldest_lost_ack_s={max_lag:.3f} "
              f"in_process_s={inproc_s:.1f} processes_s={processes_s:.1f}", flush=True)
        return len(failed)
    finally:
        if args.keep_work:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(args, mode, evs, n, state, problems, how):
    """Prints a failing state (and with --keep, copies it there)."""
    desc, files, last, first, _, _ = state
    calls_before = [f"  #{i} {describe_event(evs[i])}" for i in range(max(0, last - 8), last + 1)]
    print(f"FAIL ({how}) state {n} after call #{last} (first possible after #{first}): {desc}", flush=True)
    for p in problems[:6]:
        print(f"  - {p}")
    print("  calls up to it:\n" + "\n".join(calls_before), flush=True)
    if args.keep:
        where = os.path.join(args.keep, f"{mode}-{n}")
        os.makedirs(where, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(where, name), "wb") as f:
                f.write(data)
        with open(os.path.join(where, "NOTE"), "a") as f:
            f.write(f"{how}: {desc}\n" + "\n".join(problems) + "\n" + "\n".join(calls_before) + "\n")


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
                    help="kv serve's compaction floor, small so that it compacts often; below 4096 "
                         "the log fits in one page, so no state has a page of zeros before valid records")
    ap.add_argument("--max-states", type=int, default=300,
                    help="states per mode also checked with kv serve and kv repair processes")
    ap.add_argument("--sample-only", action="store_true",
                    help="check only those, not every state in one Deno process")
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
