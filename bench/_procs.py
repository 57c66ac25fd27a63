"""The bot as bench/targets.py runs it (plain `serve`, or `serve --no-worker` beside `worker`), the CPU
its processes and the machine use, and py-spy attached to it on request."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from _support import Server, bot_server, floor_server

from slack_emulator import SlackEmulator

TICKS = os.sysconf("SC_CLK_TCK")
MODES = ("serve", "split")


def worker_command_exists(tree: Path) -> bool:
    """True once the bot in `tree` has `incident-bot worker` (the inbox worker in a process of its own)."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "worker", "--help"], cwd=tree, capture_output=True, timeout=60
    )
    return done.returncode == 0


# CPU


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user+system CPU seconds) of a live process, from /proc/<pid>/stat."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def tree_cpu(roots: list[int]) -> float:
    """CPU seconds used so far by `roots` and every live descendant (a `serve` spawns its worker)."""
    parents: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            parents[int(entry)] = stat
    wanted, total, frontier = set(roots), 0.0, list(roots)
    while frontier:
        pid = frontier.pop()
        total += parents.get(pid, (0, 0.0))[1]
        for child, (ppid, _) in parents.items():
            if ppid == pid and child not in wanted:
                wanted.add(child)
                frontier.append(child)
    return total


def machine_busy() -> tuple[float, float, float]:
    """(busy, interrupts, total) CPU seconds of the whole machine since boot, from /proc/stat; the
    interrupts (mostly loopback TCP here) are charged to no process."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / TICKS, (values[5] + values[6]) / TICKS, sum(values) / TICKS


def postgres_cpu() -> float:
    """CPU seconds of every live PostgreSQL process (other databases' sessions included)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and Path(f"/proc/{entry}/comm").read_text().strip() == "postgres":
                total += (_stat(int(entry)) or (0, 0.0))[1]
        except OSError:
            continue
    return total


async def settle(limit: float, timeout: float) -> float:
    """Wait (up to `timeout` s) until the machine's other work keeps fewer than `limit` cores busy, as
    measured over 3 s; returns the last measure. On a shared machine the figures mean more then."""
    deadline = time.monotonic() + timeout
    while True:
        busy, _, total = machine_busy()
        await asyncio.sleep(3.0)
        busy2, _, total2 = machine_busy()
        cores = (busy2 - busy) / (total2 - total) * (os.cpu_count() or 1)
        if cores < limit or time.monotonic() > deadline:
            return cores
        await asyncio.sleep(10.0)


@dataclass
class Usage:
    """CPU used in one phase, in seconds: the bot's processes, the floor's, this client (with the
    emulator), PostgreSQL, interrupts and the whole machine; `span` is the capacity (seconds x cores)."""

    bot: float
    floor: float
    client: float
    postgres: float
    interrupts: float
    machine: float
    span: float
    serving: float  # of `bot`: the `serve` process alone (the rest is its worker)

    def shares(self) -> str:
        """Cores each kept busy on average; the rest of the machine's busy time is other work."""
        cores = os.cpu_count() or 1
        seconds = self.span / cores
        others = self.machine - self.bot - self.floor - self.client - self.postgres - self.interrupts
        parts = [("bot", self.bot), ("(serve", self.serving), ("worker", self.bot - self.serving)]
        parts += [("floor", self.floor), ("client", self.client), ("postgres", self.postgres)]
        parts += [("interrupts", self.interrupts), ("others", others)]
        listed = ", ".join(f"{name} {max(v, 0.0) / seconds:.2f}" for name, v in parts)
        listed = listed.replace(", floor", "), floor")
        return f"{listed} (cores of {cores})"


class Meter:
    """CPU counters at the start of a phase; `usage()` gives what was used since."""

    def __init__(self, bot: list[int], floor: list[int]) -> None:
        self.bot_pids, self.floor_pids = bot, floor
        self.start = self._now()

    def _now(self) -> tuple[float, ...]:
        own = time.process_time()
        serving = (_stat(self.bot_pids[0]) or (0, 0.0))[1]  # `serve` alone, without its worker
        bot, floor = tree_cpu(self.bot_pids), tree_cpu(self.floor_pids)
        return bot, floor, own, postgres_cpu(), *machine_busy(), serving

    def usage(self) -> Usage:
        used = [b - a for a, b in zip(self.start, self._now(), strict=True)]
        bot, floor, client, pg, busy, irq, total, serving = used
        return Usage(bot, floor, client, pg, irq, busy, total, serving)


# processes


class BotUnderTest:
    """The bot in `mode`: `serve` (as deployed; since the worker split it spawns its worker) or
    `split` (`serve --no-worker` and a separate `worker`, both started here)."""

    def __init__(self, emu: SlackEmulator, cwd: Path, database_url: str, mode: str) -> None:
        self.server = bot_server(emu, cwd, database_url)
        self.worker: Server | None = None
        if mode == "split":  # the worker serves its probes (/healthz) on a port of its own
            self.server.args.append("--no-worker")
            self.worker = Server(["-m", "bot", "worker", "--host", "127.0.0.1"], self.server.env, cwd)
        self.floor = floor_server(emu, cwd)

    @property
    def url(self) -> str:
        return self.server.url

    async def start(self) -> BotUnderTest:
        await self.server.start()  # creates and upgrades the database before the worker opens it
        if self.worker is not None:
            await self.worker.start()
        await self.floor.start()
        return self

    async def stop(self) -> None:
        for proc in (self.floor, self.worker, self.server):
            if proc is not None:
                await proc.stop()

    def bot_pids(self) -> list[int]:
        procs = [self.server] + ([self.worker] if self.worker else [])
        return [p.proc.pid for p in procs if p.proc is not None]

    def floor_pids(self) -> list[int]:
        return [self.floor.proc.pid] if self.floor.proc is not None else []


# py-spy


def py_spy() -> str | None:
    """py-spy's path: $PY_SPY, on PATH, or installed with `pip install --target /tmp/pyspy py-spy`."""
    for candidate in (os.environ.get("PY_SPY"), shutil.which("py-spy"), "/tmp/pyspy/bin/py-spy"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


class Profile:
    """py-spy recording the bot's processes (children included) into collapsed stacks, one file each."""

    def __init__(self, out: Path, name: str, pids: list[int]) -> None:
        self.files = [out / f"{name}-{pid}.txt" for pid in pids]
        self.pids = pids
        self.procs: list[asyncio.subprocess.Process] = []

    async def __aenter__(self) -> Profile:
        exe = py_spy()
        if exe is None:
            raise RuntimeError("py-spy not found: pip install --target /tmp/pyspy py-spy, or set PY_SPY")
        for pid, path in zip(self.pids, self.files, strict=True):
            path.parent.mkdir(parents=True, exist_ok=True)
            command = [exe, "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--rate", "200"]
            command += ["--format", "raw", "--output", str(path)]
            quiet = asyncio.subprocess.DEVNULL
            self.procs.append(await asyncio.create_subprocess_exec(*command, stdout=quiet, stderr=quiet))
        await asyncio.sleep(0.5)  # attached before the load starts
        return self

    async def __aexit__(self, *exc: object) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.send_signal(2)  # SIGINT: py-spy writes what it has and exits
        for proc in self.procs:
            await proc.wait()
