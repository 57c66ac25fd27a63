"""Memory and CPU of each process as deployed on Kubernetes, for the manifests' requests and limits.

python bench/resources.py [--rate 300] [--seconds 30] [--senders 16] [--idle 10]

PostgreSQL only (Kubernetes runs no SQLite): `incident-bot db upgrade` on a fresh database (its peak
RSS and time), then `serve --http --no-worker` beside `incident-bot worker`, measured per process while
idle, at a steady --rate of scribe messages per second, and under a flood of --senders going as fast as
they can (the load of bench/targets.py c and d). RSS is sampled every 0.25 s; the peak is the kernel's
VmHWM at the end; CPU is the process's user+system time over each phase, in cores.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _database import drained
from _procs import BotUnderTest, _stat
from _support import ROOT, drop_pg, machine, open_incident, pg_database, workspace
from _wire import Events
from sqlalchemy.ext.asyncio import create_async_engine
from targets import load

from storage.db import async_url

SCRIBE = "U0SCRIBE"


def _status(pid: int, key: str) -> float:
    """A /proc/<pid>/status figure in MB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Phase:
    """One phase's figures per process name: the largest RSS sampled and the cores used."""

    name: str
    rss: dict[str, float] = field(default_factory=dict)
    cores: dict[str, float] = field(default_factory=dict)
    rate: float = 0.0  # requests acknowledged per second


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    return {n: (_stat(pid) or (0, 0.0))[1] for n, pid in pids.items()}


async def measured(name: str, pids: dict[str, int], work: asyncio.Future[float]) -> Phase:
    """Sample the processes' RSS until `work` ends (it returns the rate it kept); CPU over that time."""
    phase = Phase(name)
    cpu, started = _cpu(pids), time.perf_counter()
    while True:
        for n, pid in pids.items():
            phase.rss[n] = max(phase.rss.get(n, 0.0), _status(pid, "VmRSS"))
        if work.done():
            break
        await asyncio.sleep(0.25)
    elapsed, after = time.perf_counter() - started, _cpu(pids)
    phase.cores = {n: (after[n] - cpu[n]) / elapsed for n in pids}
    phase.rate = work.result()
    return phase


def migrate(url: str) -> tuple[float, float]:
    """`incident-bot db upgrade` on the fresh database: (peak RSS in MB, seconds)."""
    started = time.perf_counter()
    env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    # The first child this process waits for: its maximum is the migration's own.
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    print(f"resources, split processes on PostgreSQL, {machine()}, {time.strftime('%Y-%m-%d %H:%M')}")
    url = await pg_database()
    peak, took = migrate(url)
    print(f"  db upgrade on a fresh database: peak RSS {peak:.0f} MB, {took:.1f} s")
    emu = await workspace()
    tmp = tempfile.TemporaryDirectory()
    bot = BotUnderTest(emu, Path(tmp.name), url, "split")
    engine = create_async_engine(async_url(url))
    try:
        await bot.start()
        assert bot.worker is not None and bot.server.proc and bot.worker.proc
        pids = {"serve --no-worker": bot.server.proc.pid, "worker": bot.worker.proc.pid}
        events = Events(await open_incident(emu, bot.url), SCRIBE)
        port = bot.server.port

        async def idle() -> float:
            await asyncio.sleep(args.idle)
            return 0.0

        async def paced(senders: int, rate: float) -> float:
            acks, elapsed = await load(port, lambda: events.body("Rs", True), senders, args.seconds, rate)
            return len(acks) / elapsed

        phases = [await measured("idle", pids, asyncio.ensure_future(idle()))]
        steady = asyncio.ensure_future(paced(32, args.rate))
        phases.append(await measured(f"steady {args.rate:g}/s", pids, steady))
        await drained(engine, len(events.expected))  # a backlog left would be the next phase's work
        flood = asyncio.ensure_future(paced(args.senders, 0))
        phases.append(await measured(f"flood, {args.senders} senders", pids, flood))
        await drained(engine, len(events.expected))
        hwm = {n: _status(pid, "VmHWM") for n, pid in pids.items()}
    finally:
        await engine.dispose()
        await bot.stop()
        await emu.stop()
        await drop_pg(url)
        tmp.cleanup()
    for name in pids:
        print(f"\n  {name}")
        for p in phases:
            rate = f" ({p.rate:,.0f} acked/s)" if p.rate else ""
            print(f"    {p.name + rate:40} RSS at most {p.rss[name]:6.1f} MB, {p.cores[name]:.2f} cores")
        print(f"    {'peak RSS (VmHWM) over the run':40} {hwm[name]:6.1f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=300, help="the steady load, events/s")
    parser.add_argument("--seconds", type=float, default=30, help="seconds of each load")
    parser.add_argument("--senders", type=int, default=16, help="concurrent senders of the flood")
    parser.add_argument("--idle", type=float, default=10, help="seconds measured with nothing sent")
    asyncio.run(main(parser.parse_args()))
