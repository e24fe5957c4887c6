#!/usr/bin/env python3
"""What connections leave behind: runs waves of connection lifecycles against
kv serve, every way a connection can end, and after each wave, with no client
connected, prints the server's open descriptors (/proc/PID/fd), its RSS and
what INFO says (connected_clients, used_memory).

    python3 bench/leak_waves.py [--tls] [--password] [--waves 12] [--per-wave 5000]
        [--handshakes 0] [--cwd DIR]
    python3 bench/leak_waves.py --port P --pid PID [--password PW] [--tls-ca FILE|-]
        [--max-connections N] [--idle N] ...

It starts `kv serve --port 0 --quiet --max-line-bytes 131072 --max-connections
100 --idle-timeout 1` (with `--password-file` and `--tls-cert`/`--tls-key` in a
temporary folder, the test certificate of testing/tls.ts), or measures a
server already running (`--port`, `--pid`; then say what it was started with).

A wave mixes, round robin: a line client's QUIT, its close after a PUT, a GET
of a 100 KB value and a LIST of 2,000 pairs (2 MB) each cut by a reset
(SO_LINGER 0) while the answer streams, a line past --max-line-bytes, a Redis client's WATCH
then close, MULTI then a close or reset mid-queue (half a command sent), CLIENT
SETNAME then QUIT, SUBSCRIBE (refused), a broken frame (the server closes), an
MGET of 2.4 MB cut by a reset, a connect then close or reset without a byte, a
half-close after a line with no newline (TCP), an unframed line, and, with a
password, 10 wrong AUTHs (the server closes), wrong ones then a reset, and a
request past the limits before AUTH (a lifecycle refused past --max-connections,
because the server had yet to finish closing an earlier one, is tried again for
up to 5 s). Then `--idle` clients that the idle
timeout closes, then the connection limit filled and 60 clients refused (both
protocols, some silent, half reset), then with --tls `--handshakes`
handshakes that go wrong, at once: silent, half a ClientHello, a whole one then
silence or FIN, random bytes, plain text, a reset mid-handshake. Then it waits
for the descriptors to come back to where they were before the first wave (up
to 15 s: a TLS connection's last bytes drain for up to 5 s, a silent handshake
is cut by the idle timeout) and measures.

Exit status 1, with one line saying why, if the descriptors did not come back,
INFO counted a client besides the probe, or a lifecycle did not end as it
should. A measurement for BENCHMARKS.md ("What connections leave behind");
e2e/leaks_e2e.ts runs it small against a server in its own process. The
workload is leak_waves_lifecycles.py's, the client leak_waves_client.py's,
the server and what is measured of it leak_waves_server.py's.
"""
import argparse
import asyncio
import json
import os
import sys
import time

from leak_waves_client import Client
from leak_waves_lifecycles import Tally, handshakes, idle_clients, lifecycles, refusals
from leak_waves_server import Target, probe, seed


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tls", action="store_true", help="serve and connect with TLS (spawned server)")
    ap.add_argument("--password", nargs="?", const="leak-waves-password", default=None,
                    help="with AUTH (spawned: a password of its own; attached: the server's)")
    ap.add_argument("--waves", type=int, default=12)
    ap.add_argument("--per-wave", type=int, default=5000, help="lifecycles per wave")
    ap.add_argument("--concurrency", type=int, default=24, help="lifecycles at once")
    ap.add_argument("--idle", type=int, default=20, help="clients per wave left to the idle timeout (0: none)")
    ap.add_argument("--refusals", type=int, default=60, help="clients per wave refused past the limit (0: none)")
    ap.add_argument("--handshakes", type=int, default=0, help="with TLS: failed handshakes per wave, at once")
    ap.add_argument("--cwd", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="the checkout to serve from")
    ap.add_argument("--port", type=int, help="measure a server already running on this port...")
    ap.add_argument("--pid", type=int, help="...in this process")
    ap.add_argument("--tls-ca", help="attached: connect with TLS, trusting this CA (PEM file, - for stdin)")
    ap.add_argument("--max-connections", type=int, default=100, help="attached: the server's limit")
    ap.add_argument("--json", action="store_true", help="one JSON object a wave, not text")
    a = ap.parse_args()
    if (a.port is None) != (a.pid is None):
        ap.error("--port and --pid go together")
    if a.port is not None and a.tls:
        ap.error("--tls starts a server: against a running one, give --tls-ca")
    if a.port is None and a.tls_ca:
        ap.error("--tls-ca is for a running server (--port, --pid)")
    if a.handshakes and not (a.tls or a.tls_ca):
        ap.error("--handshakes needs TLS")
    return a


async def wave(a, c, tally, first):
    """One wave: its lifecycles (numbered from `first`), idle clients, refusals and handshakes.
    Returns how many lifecycles it made, and how many clients read their refusal (None: none tried)."""
    await lifecycles(c, tally, first, a.per_wave, a.concurrency)
    made, refused = a.per_wave, None
    if a.idle:
        await idle_clients(c, tally, a.idle)
        made += a.idle
    if a.refusals:
        refused = await refusals(c, a.refusals, a.max_connections)
        made += a.max_connections + a.refusals
    if a.handshakes:
        await handshakes(c, tally, a.handshakes)
        made += a.handshakes
    return made, refused


async def waves(a, target):
    """Seeds the server, runs the waves, prints a row after each; returns what went wrong, one line each."""
    c = Client(target.port, target.ca, a.password)
    tally = Tally()
    await seed(c)
    await asyncio.sleep(0.5)  # the seeding connection's close
    baseline = target.fds()
    failed = []
    done = 0
    for number in range(a.waves + 1):
        started = time.time()
        refused = None
        if number > 0:
            made, refused = await wave(a, c, tally, done)
            done += made
            if refused is not None and refused != a.refusals:
                failed.append(f"wave {number}: {a.refusals - refused} of {a.refusals} not refused")
        took = time.time() - started
        now = await target.back_to(baseline)
        info = await probe(c)
        row = {"wave": number, "lifecycles": done, "took_s": round(took, 1), "fds": now, "fds_before": baseline,
               "rss_MB": round(target.rss_mb(), 1), "connected_clients": int(info["connected_clients"]),
               "used_memory_MB": round(int(info["used_memory"]) / 2**20, 1)}
        if refused is not None:
            row["refused"] = refused
        if number > 0 and now != baseline:
            failed.append(f"wave {number}: {now} descriptors, {baseline} before the first")
        if info["connected_clients"] != "1":
            failed.append(f"wave {number}: INFO connected_clients:{info['connected_clients']} besides the probe")
        print(json.dumps(row) if a.json else " ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    if tally.wrong:
        failed.append("lifecycles that did not end as they should: " + json.dumps(tally.wrong))
    return failed


def main():
    a = parse_args()
    if a.port is None:
        target = Target.start(a.cwd, a.max_connections, a.password, a.tls)
    else:
        target = Target.attach(a.port, a.pid, a.tls_ca)
    try:
        failed = asyncio.run(waves(a, target))
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        target.close()
    if failed:
        sys.exit("; ".join(failed))


if __name__ == "__main__":
    main()
