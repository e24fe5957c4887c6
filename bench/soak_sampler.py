"""bench/soak.py's measurements: an idle probe client's PING and GET round
trips, and a sample of each server (/proc, INFO, its data file and stderr,
the driver's requests since the last sample) as a CSV row on stdout and in
the samples file.
"""
import asyncio
import os
import statistics
import time

from proc import cpu_seconds, open_fds, status
from soak_client import Conn

COLUMNS = ["t_s", "server", "vmrss_kb", "used_memory", "used_memory_dataset", "fds", "threads", "data_bytes",
           "compactions", "dbsize", "expires", "expired_keys", "connected_clients", "total_connections",
           "cpu_s", "stderr_lines", "gc_heap", "driver_ops", "ping_p50_us", "ping_max_us", "get_p50_us", "get_max_us"]


class Probe:
    """An idle client that sends PING and GET every second; `ping` and `get`
    hold the round trips (µs) since the last take()."""

    def __init__(self):
        self.ping, self.get = [], []

    def take(self):
        """The round trips so far, (ping, get); starts new lists."""
        taken = self.ping, self.get
        self.ping, self.get = [], []
        return taken

    async def run(self, srv, tally):
        c = await Conn.open(srv, tally, kind="resp")
        await c.cmd("SET", "probe", "here")
        while True:
            await asyncio.sleep(1)
            t0 = time.perf_counter()
            await c.cmd("PING")
            t1 = time.perf_counter()
            got = await c.cmd("GET", "probe")
            t2 = time.perf_counter()
            if got != b"here":
                tally.fail(f"probe GET answered {got!r}")
            self.ping.append((t1 - t0) * 1e6)
            self.get.append((t2 - t1) * 1e6)


def info(text):
    return dict(ln.split(":", 1) for ln in text.decode().split("\r\n") if ":" in ln and not ln.startswith("#"))


class Sampler:
    """Samples `servers` (the first one's row has the probe's round trips)
    into the csv.DictWriter `writer`, with times since `t_start`; the
    driver's requests counted since the last sample, across run() calls."""

    def __init__(self, servers, tally, probe, writer, t_start):
        self.servers, self.tally, self.probe, self.writer, self.t_start = servers, tally, probe, writer, t_start
        self.last_ops = 0

    async def run(self, every):
        """A sample now, and one every `every` seconds after it, for ever."""
        conns = {s.name: await Conn.open(s, self.tally, kind="resp") for s in self.servers}
        while True:
            pings, gets = self.probe.take()
            n = self.tally.ops
            last_ops, self.last_ops = self.last_ops, n
            for s in self.servers:
                row = await self.row(s, conns[s.name], n - last_ops)
                if s is self.servers[0]:
                    for name, xs in (("ping", pings), ("get", gets)):
                        row[f"{name}_p50_us"] = round(statistics.median(xs)) if xs else ""
                        row[f"{name}_max_us"] = round(max(xs)) if xs else ""
                self.writer.writerow(row)
                print(",".join(str(row.get(c, "")) for c in COLUMNS), flush=True)
            await asyncio.sleep(every)

    async def row(self, s, c, driver_ops):
        """Server s's sample, read over its connection c."""
        i = info(await c.cmd("INFO"))
        ks = dict(kv.split("=") for kv in i.get("db0", "keys=0,expires=0").split(","))
        pid = s.proc.pid  # the deno process itself: deno run execs in place
        rss, cpu, threads = status(pid, "VmRSS"), cpu_seconds(pid), status(pid, "Threads")
        with open(s.stderr_path, errors="replace") as f:
            lines = f.readlines()
        gcs = [ln for ln in lines if ln.startswith("GC heapUsed=")]
        lines = [ln for ln in lines if not ln.startswith("GC heapUsed=")]
        return {
            "t_s": round(time.monotonic() - self.t_start), "server": s.name, "vmrss_kb": rss,
            "used_memory": i["used_memory"], "used_memory_dataset": i["used_memory_dataset"],
            "fds": open_fds(pid), "threads": threads,
            "data_bytes": os.path.getsize(s.data),
            "compactions": sum("compacted data file" in ln for ln in lines),
            "dbsize": await c.cmd("DBSIZE"), "expires": ks.get("expires", 0),
            "expired_keys": i["expired_keys"], "connected_clients": i["connected_clients"],
            "total_connections": i["total_connections_received"], "cpu_s": round(cpu, 2),
            "stderr_lines": len(lines), "driver_ops": driver_ops,
            "gc_heap": gcs[-1].split()[1].split("=")[1] if gcs else "",
        }
