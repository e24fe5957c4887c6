"""bench/soak.py's servers: kv serve with --data in a folder of its own (A
plain with --udp, B with a password and TLS, the test certificate of
testing/tls.ts), started, stopped with SIGTERM and started again on its data
file; with --gc, in a wrapper that calls gc() every 10 s.
"""
import os
import signal
import ssl
import subprocess
import time

from certs import pem_blocks, write_private, write_test_certificate
from proc import served_port

PASSWORD = "soak-password"
GC_WRAPPER_TEXT = """// soak.py --gc: kv serve, with gc() every 10 s and the heap after it on stderr.
import { main } from "%s";
const gc = (globalThis as unknown as { gc: () => void }).gc;
setInterval(() => {
  gc();
  const m = Deno.memoryUsage();
  console.error(`GC heapUsed=${m.heapUsed} external=${m.external} rss=${m.rss}`);
}, 10_000);
Deno.exit(await main(Deno.args));
"""


def write_gc_wrapper(folder, cwd):
    """Writes folder/gc_wrapper.ts, kv serve (cwd's cli/main.ts) with gc() every 10 s; returns its path."""
    path = os.path.join(folder, "gc_wrapper.ts")
    with open(path, "w") as f:
        f.write(GC_WRAPPER_TEXT % ("file://" + os.path.abspath(os.path.join(cwd, "cli", "main.ts"))))
    return path


class Server:
    """One kv serve, its files in folder/NAME: with `tls`, a password and the
    test certificate instead of --udp; run from the checkout `cwd`, through
    `gc_wrapper` (a path) if given. `port`, `proc` and `stderr_path` are
    those of its last start."""

    def __init__(self, name, tls, folder, cwd, gc_wrapper=None):
        self.name, self.tls, self.cwd, self.gc_wrapper = name, tls, cwd, gc_wrapper
        self.password = PASSWORD if tls else None
        self.dir = os.path.join(folder, name)
        os.makedirs(self.dir, exist_ok=True)
        self.data = os.path.join(self.dir, "kv.log")
        self.proc = self.port = None
        self.starts = 0

    def cmd(self):
        if self.gc_wrapper:
            script = ["--v8-flags=--expose-gc", "--config", os.path.abspath(os.path.join(self.cwd, "deno.json")),
                      self.gc_wrapper]
        else:
            script = ["main.ts"]
        cmd = ["deno", "run", "--allow-net", f"--allow-read={self.dir}", f"--allow-write={self.dir}",
               "--unstable-net", *script, "serve", "--port", "0", "--data", self.data, "--fsync", "everysec",
               "--compact-min-bytes", "1048576"]
        if self.tls:
            _, cert, key = write_test_certificate(self.dir, self.cwd)
            write_private(os.path.join(self.dir, "password"), self.password + "\n")
            cmd += ["--password-file", os.path.join(self.dir, "password"), "--tls-cert", cert, "--tls-key", key]
        else:
            cmd += ["--udp"]
        return cmd

    def start(self):
        self.starts += 1
        self.stderr_path = os.path.join(self.dir, f"stderr{self.starts}.log")
        self.proc = subprocess.Popen(self.cmd(), cwd=self.cwd, stdout=subprocess.PIPE,
                                     stderr=open(self.stderr_path, "w"), start_new_session=True)
        self.port = served_port(self.proc, f"server {self.name}", see=self.stderr_path)

    def stop(self, grace=8.0):
        """SIGTERM; returns (exit status, seconds), None for a server still running after grace."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        return rc, time.monotonic() - t0

    def kill(self):
        """Ends the server if it is still running (kill -9), for a soak cut short."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def ssl(self):
        if not self.tls:
            return None
        return ssl.create_default_context(cadata=pem_blocks(self.cwd)[0])
