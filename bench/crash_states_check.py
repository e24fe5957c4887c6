"""Checking one crash state for bench/crash_states.py: what kv does on it,
observed with processes here (observe_process: kv serve started on it, its
keys read back over RESP, again if the start changed the files, and `kv
repair` both ways) or in one Deno process (crash_states_inproc.py), in the
same shape; check_state judges either against the writes acknowledged before
the crash point (see crash_states.py's usage for the promises checked), and
summary() is what the two ways must agree on."""
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess

from proc import listening_port
from resp_probe import resp  # bench/'s one RESP request encoder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PX_MS = 3_600_000


# --- Talking to kv: a RESP client, and kv started as `deno run main.ts`. ---

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


def kv_args(deno, folder, *args):
    return [deno, "run", "--allow-net=127.0.0.1", f"--allow-read={folder}", f"--allow-write={folder}",
            os.path.join(ROOT, "main.ts"), *args]


# --- Checking one state. ---

def dump(port, names):
    """Every key kv holds (KEYS *) and the names given: {key: (value, PTTL)}."""
    sock = socket.create_connection(("127.0.0.1", port))
    try:
        replies = Replies(sock)
        sock.sendall(resp("KEYS", "*"))
        keys = list(names) + sorted(set(k.decode() for k in replies.read()) - set(names))
        sock.sendall(b"".join(resp("GET", k) + resp("PTTL", k) for k in keys))
        out = {}
        for k in keys:
            value, ttl = replies.read(), replies.read()
            out[k] = (value.decode() if isinstance(value, bytes) else None, ttl)
        return out
    finally:
        sock.close()


def serve(args, folder, mode, names):
    """Starts kv serve on folder/kv.log: ('ok', data, stderr) or ('refused', exit status, stderr)."""
    proc = subprocess.Popen(kv_args(args.deno, folder, "serve", "--port", "0", "--data",
                                    os.path.join(folder, "kv.log"), "--fsync", mode),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = listening_port(proc)
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
    for k in sorted(set(data) - set(names)):
        problems.append(f"{k} = {data[k][0]!r}, a key never written")
    for k in names:
        ops = sorted(history[k], key=lambda o: o["sent"])
        value, ttl = data.get(k, (None, -2))
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
            a, b = data.get(k, (None,))[0], data.get(k[:-1] + "b", (None,))[0]
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

# --- What kv does on a state, observed two ways: as processes (here), or in one
# Deno process through kv's own functions (bench/crash_states_load.ts, run by
# crash_states_inproc.py). Both give the same observation, judged by check_state. ---

def started(outcome, data, err):
    """serve()'s answer as an observation's start (crash_states_load.ts's shape)."""
    if outcome == "ok":
        return {"outcome": "ok", "data": data, "err": err}
    return {"outcome": "refused", "code": data, "err": err}


def observe_process(args, mode, files, names, tmp):
    """Starts kv serve (and again, if the start changed the files) and runs kv repair both ways on
    the state `files`, each as a process: what they did."""
    folder = os.path.join(tmp, "s")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for name, data in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    first = started(*serve(args, folder, mode, names))
    seen = {"start": first, "changed": False, "repairs": []}
    if first["outcome"] == "ok":
        now = {name: open(os.path.join(folder, name), "rb").read() for name in os.listdir(folder)}
        if now != files:
            seen["changed"] = True
            seen["again"] = started(*serve(args, folder, mode, names))
    if "kv.log" in files:
        for flags in ([], ["--truncate"]):
            r = os.path.join(tmp, "r")
            shutil.rmtree(r, ignore_errors=True)
            os.makedirs(r)
            with open(os.path.join(r, "kv.log"), "wb") as f:
                f.write(files["kv.log"])
            rep = subprocess.run(kv_args(args.deno, r, "repair", *flags, os.path.join(r, "kv.log")),
                                 capture_output=True, text=True)
            done = {"flags": flags, "code": rep.returncode, "stdout": rep.stdout, "stderr": rep.stderr}
            if rep.returncode == 0 and "nothing to repair" not in rep.stdout:
                os.replace(os.path.join(r, "kv.log.repaired"), os.path.join(r, "kv.log"))
                digest = hashlib.sha256(open(os.path.join(r, "kv.log"), "rb").read()).hexdigest()
                if digest not in REPAIRED:
                    REPAIRED[digest] = started(*serve(args, r, mode, names))
                done["start"] = REPAIRED[digest]
            seen["repairs"].append(done)
    return seen


def check_state(seen, log, names, crash_at, mode, max_lag):
    """Judges what kv did on a state (an observation, either way): (outcome words, problems, lag)."""
    problems = []
    first = seen["start"]
    lag = 0.0
    words = [first["outcome"]]
    if first["outcome"] == "refused":
        err = first["err"] or f"(nothing on stderr; exit status {first['code']})"
        problems += [f"start refused ({p}): {err.strip()}" for p in one_line_refusal(err)]
    else:
        found, lag = judge(first["data"], log, names, crash_at, mode, max_lag)
        problems += found
        if "dropped" in first["err"]:
            words.append("torn tail dropped")
        # The start changed the files (cut a torn tail, removed a compaction's
        # leftovers, made a new log): a second start must read the same data.
        # (Otherwise it reads the same bytes again.)
        if seen["changed"]:
            words.append("second start")
            again = seen["again"]
            if again["outcome"] != "ok":
                problems.append(f"a second start refused: {again['err'].strip()}")
            elif strip_ttl(again["data"]) != strip_ttl(first["data"]):
                problems.append("a second start reads other data than the first")
    for done in seen["repairs"]:
        label = "repair" + (" --truncate" if done["flags"] else "")
        if done["code"] != 0:
            if "not a kv data file" not in done["stderr"]:
                problems.append(f"{label} failed: {done['stderr'].strip()}")
            continue
        if "start" not in done:
            continue  # nothing to repair
        words.append(label)
        got = done["start"]
        if got["outcome"] != "ok":
            problems.append(f"after {label}, the start refused: {got['err'].strip()}")
            continue
        found, rlag = judge(got["data"], log, names, crash_at, mode, max_lag)
        lag = max(lag, rlag)
        problems += [f"after {label}: {p}" for p in found]
    return ", ".join(words), problems, lag


def summary(seen, folders):
    """What must be the same whichever way a state was observed: outcomes, data (whether keys
    expire, not the ms left), the refusals' own lines, repairs' exit status; `folders` (where
    each way put the state) read as one."""
    def plain(text):
        for f in sorted(folders, key=len, reverse=True):
            text = text.replace(f, "DIR")
        return text

    def start(s):
        if s is None:
            return None
        if s["outcome"] == "ok":  # (a key GET and PTTL found absent is a key not there)
            return ("ok", {k: v for k, v in strip_ttl(s["data"]).items() if v != (None, -2)})
        return ("refused", s["code"], [plain(l) for l in s["err"].splitlines() if l.startswith("kv:")])

    return (start(seen["start"]), seen["changed"], start(seen.get("again")),
            [(d["flags"], d["code"], start(d.get("start"))) for d in seen["repairs"]])
