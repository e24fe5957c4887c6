"""Crash states observed in one Deno process for bench/crash_states.py:
bench/crash_states_load.ts loads each state through kv's own start and
repair code (openDataFile, main(["repair", ...])) and says what a start and
kv repair would do, a few milliseconds a state instead of a Deno start or
three; crash_states_check.check_state judges what it says."""
import json
import os
import queue
import shutil
import subprocess
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOADER = os.path.join(ROOT, "bench", "crash_states_load.ts")


class InProcess:
    """One crash_states_load.ts process, fed the states' folders under `folder`, `window` ahead
    of their observations (while Python judges one, Deno loads the next)."""

    def __init__(self, deno, mode, folder, jobs=8):
        self.folder = folder
        self.jobs = jobs
        self.window = 2 * jobs
        os.makedirs(folder)
        self.scratch = os.path.join(folder, "scratch")
        self.proc = subprocess.Popen(
            [deno, "run", f"--allow-read={folder}", f"--allow-write={folder}", LOADER,
             "--fsync", mode, "--scratch", self.scratch, "--jobs", str(jobs)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.seen = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.seen.put(json.loads(line))
        self.seen.put(None)

    def slot(self, n):
        return os.path.join(self.folder, f"s{n % self.window}")

    def folders(self):
        """Every folder it puts a state in: the slots, and each job's scratch folder for kv repair."""
        return ([self.slot(n) for n in range(self.window)]
                + [os.path.join(self.scratch, str(j)) for j in range(self.jobs)])

    def _next(self):
        seen = self.seen.get()
        if seen is None:
            self.proc.wait()
            raise SystemExit(f"bench/crash_states_load.ts ended (exit status {self.proc.returncode})")
        return seen

    def observe(self, states):
        """Yields what kv does on each state ({name: bytes}), in order; then the process ends."""
        for n, files in enumerate(states):
            if n >= self.window:
                yield self._next()  # state n - window's: its folder is free again
            where = self.slot(n)
            shutil.rmtree(where, ignore_errors=True)
            os.makedirs(where)
            for name, data in files.items():
                with open(os.path.join(where, name), "wb") as f:
                    f.write(data)
            self.proc.stdin.write(where + "\n")
            self.proc.stdin.flush()
        self.proc.stdin.close()  # the end: it answers the states it still holds
        for _ in range(min(self.window, len(states))):
            yield self._next()
        self.proc.wait()
