#!/usr/bin/env python3
"""The crash soak on a big store, by hand: `kv serve --data` is killed with
kill -9 at a random moment while one client pipelines SETs of new keys,
overwrites and DELs (200 a batch) into it; after each restart every key
ever acknowledged is read back with MGET. A write acknowledged must be
there; a write in flight at the kill may or may not be. The store grows by
about 200,000 keys a round, so the hash table resizes (a step at a time, past
2^16 slots) while it is written, and again while the log is replayed at each
start. (e2e/crash_soak.ts kills more often, on 3,072 keys.)

    python3 e2e/crash_soak_big.py PORT [ROUNDS] [SEED] [FSYNC]
    (defaults: 10 rounds, seed 1, --fsync everysec)

The log goes in a fresh temporary folder, removed at the end. Prints a line
per round and the totals; exits 1 if any acknowledged write was lost.
"""
import os, random, shutil, signal, socket, subprocess, sys, tempfile, threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
from proc import served_port  # bench/'s modules, found by the path above
from resp_probe import resp

PORT = int(sys.argv[1])
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 1
FSYNC = sys.argv[4] if len(sys.argv) > 4 else "everysec"
MAIN = os.path.join(HERE, "..", "main.ts")
random.seed(SEED)
folder = tempfile.mkdtemp(prefix="kv-soak-")


def start():
    """kv serve on PORT (not proc.start_server's port 0: the port is the
    script's argument), with --data in `folder` and no other access."""
    server = subprocess.Popen(
        ["deno", "run", "--allow-net=127.0.0.1", f"--allow-read={folder}", f"--allow-write={folder}",
         MAIN, "serve", "--port", str(PORT), "--data", f"{folder}/kv.log", "--fsync", FSYNC, "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    served_port(server)  # its first line says it listens, or the script ends saying what it said
    return server


expected = {}  # key -> its last acknowledged value (None: deleted)
maybe = {}  # key -> other values allowed: writes in flight at the kill
lost = checked = acknowledged = 0
try:
    for round_no in range(ROUNDS + 1):
        server = start()
        s = socket.create_connection(("127.0.0.1", PORT))
        f = s.makefile("rb")
        keys = list(set(expected) | set(maybe))
        for key in keys:
            expected.setdefault(key, None)
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            s.sendall(resp(b"MGET", *chunk))
            f.readline()
            for key in chunk:
                head = f.readline()
                value = None if head.startswith(b"$-1") else f.readline()[:-2]
                if value != expected[key] and value not in maybe.get(key, ()):
                    lost += 1
                    if lost <= 10:
                        print(f"LOST {key!r}: acknowledged {expected[key]!r}, found {value!r}")
                expected[key] = value  # What survived is what holds from now on.
                checked += 1
        maybe.clear()
        if round_no == ROUNDS:  # The last start only checks.
            s.close()
            server.send_signal(signal.SIGTERM)
            server.wait()
            break
        killer = threading.Timer(random.uniform(0.5, 3.0), lambda: os.killpg(server.pid, signal.SIGKILL))
        killer.start()
        batch = 0
        in_flight = []
        try:
            while True:
                ops = []
                for j in range(200):
                    roll = random.random()
                    if roll < 0.7 or not keys:
                        ops.append((b"k:%d:%d:%d" % (round_no, batch, j), b"v%d" % random.randrange(10**9)))
                    elif roll < 0.9:
                        ops.append((random.choice(keys), b"w%d" % random.randrange(10**9)))
                    else:
                        ops.append((random.choice(keys), None))
                in_flight = list(ops)
                s.sendall(b"".join(resp(b"SET", k, v) if v is not None else resp(b"DEL", k) for k, v in ops))
                for key, value in ops:
                    line = f.readline()
                    if not line:
                        raise ConnectionError("closed")
                    if line != b"+OK\r\n" if value is not None else not line.startswith(b":"):
                        sys.exit(f"unexpected answer {line!r}")
                    expected[key] = value
                    in_flight.pop(0)
                    acknowledged += 1
                batch += 1
        except OSError:
            for key, value in in_flight:
                maybe.setdefault(key, set()).update({value, expected.get(key)})
        killer.join()
        server.wait()
        s.close()
        live = sum(1 for value in expected.values() if value is not None)
        print(f"round {round_no}: killed after {batch} batches; {live:,} live keys; "
              f"{checked:,} checks so far, {lost} lost", flush=True)
finally:
    shutil.rmtree(folder, ignore_errors=True)
print(f"--fsync {FSYNC}: {ROUNDS} kill -9 points; {acknowledged:,} writes acknowledged; "
      f"{checked:,} checks after the restarts; {lost} lost")
sys.exit(1 if lost else 0)
