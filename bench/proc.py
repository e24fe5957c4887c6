"""What bench/'s scripts share about the server they measure: a free port,
waiting for one to listen, the port `kv serve` prints, starting kv serve or
redis-server in a process group of its own and stopping it, and what /proc
says of a process (its RSS, descriptors, CPU time).
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time

LISTENING = re.compile(r"listening on \S+:(\d+)")


def free_port():
    """A port free on 127.0.0.1 now, for a server that cannot be asked for port 0 and say which it got."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_port(port, seconds=10.0, what="the server"):
    """Waits until 127.0.0.1:port accepts a connection; exits saying `what` did not listen if it does not in time."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"{what} did not listen on port {port} within {seconds:g} s")
            time.sleep(0.02)


def _first_line(proc):
    line = proc.stdout.readline()
    text = line.decode(errors="replace") if isinstance(line, bytes) else line
    match = LISTENING.match(text)
    return (int(match.group(1)) if match else None), text


def listening_port(proc):
    """The port in kv serve's first line on stdout (a pipe, bytes or text),
    `listening on 127.0.0.1:PORT`; None if it printed something else or ended first."""
    return _first_line(proc)[0]


def served_port(proc, what="the server", see=None):
    """listening_port(), or exits with one line: `what` did not start, what it
    printed instead, and where to `see` why."""
    port, text = _first_line(proc)
    if port is None:
        sys.exit(f"{what} did not start: {text!r}" + (f"; see {see}" if see else ""))
    return port


def start_server(kind, cwd, max_clients, extra=(), deno_flags=(), stderr=subprocess.DEVNULL,
                 entry=("main.ts", "serve"), stdin=None):
    """Starts `kv serve --port 0 --quiet --max-connections MAX_CLIENTS` (`deno
    run --allow-net DENO_FLAGS main.ts` in the checkout `cwd`; `entry` names
    another script that takes serve's flags) or, for kind "redis",
    redis-server on a free port with `--maxclients`, on 127.0.0.1, with
    `extra` arguments last, in a process group of its own. Returns (the
    process, its port) once it listens; exits with one line if it does not,
    having stopped it."""
    if kind == "kv":
        port = None
        cmd = ["deno", "run", "--allow-net", *deno_flags, *entry, "--port", "0", "--quiet",
               "--max-connections", str(max_clients), *extra]
    else:
        port = free_port()  # Redis cannot be asked for port 0 and print it
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--maxclients", str(max_clients), "--dir", "/tmp", *extra]
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=stdin, stdout=subprocess.PIPE, stderr=stderr,
                            start_new_session=True)
    try:
        if port is None:
            port = served_port(proc)
        else:
            wait_port(port, 5, "Redis")
    except BaseException:
        stop(proc)
        raise
    return proc, port


def stop(proc, grace=10.0):
    """Ends the process group `proc` leads: SIGTERM, SIGKILL if it is still
    there after `grace` seconds; waits for it. Nothing if it has ended."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def status(pid, field):
    """A number from /proc/PID/status: the first word of `field` (VmRSS and VmHWM in KiB, Threads a count)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name == field:
                return int(value.split()[0])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def rss_mb(pid, field="VmRSS"):
    """The process's resident memory (or its peak, VmHWM) in MiB."""
    return status(pid, field) / 1024


def open_fds(pid):
    """How many descriptors the process holds open (/proc/PID/fd)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid):
    """The CPU time the process has used, user and system, in seconds (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
