"""Plain `incident-bot serve`: the worker as a child process (`incident-bot worker`), started and
stopped with serve and started again, with backoff, whenever it dies on its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections import defaultdict
from collections.abc import Iterator

import aiohttp
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger("bot.worker_child")

FIRST_RESTART, MAX_RESTART = 1.0, 60.0
RAN_WELL = 60.0  # a child that ran this long before it died is restarted after FIRST_RESTART again
STOP_MARGIN = 10.0  # past the worker's own shutdown grace, it is killed
ASK_TIMEOUT = 2.0  # /readyz and /metrics of the child


def free_port() -> int:
    """A local TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WorkerChild:
    """Runs `incident-bot worker` beside this process, with the same environment, folder and policy.

    The child listens for probes on a free local port; it is killed by the kernel if this process is
    killed (see bot/worker.py), so a SIGKILL of serve leaves no worker behind.
    """

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.port = 0
        self.proc: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the child and keep it running until stop()."""
        self._task = asyncio.create_task(self._supervise(), name="worker-child")

    def _command(self) -> list[str]:
        return [
            sys.executable, "-m", "bot", "worker", "--host", "127.0.0.1", "--port", str(self.port),
            "--exit-with", str(os.getpid()),
        ]  # fmt: skip

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        delay = FIRST_RESTART
        while not self._stopping.is_set():
            started = loop.time()
            self.port = free_port()
            try:
                # Its own process group: a Ctrl-C at the terminal reaches serve, which stops it in turn.
                self.proc = await asyncio.create_subprocess_exec(*self._command(), process_group=0)
            except OSError as exc:
                log.error("cannot start the worker process: %s", exc)
            else:
                log.info("worker process %d started (probes on 127.0.0.1:%d)", self.proc.pid, self.port)
                code = await self.proc.wait()
                if self._stopping.is_set():
                    return
                if loop.time() - started >= RAN_WELL:
                    delay = FIRST_RESTART
                how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
                log.error(
                    "THE WORKER PROCESS %d %s: acknowledged requests, pages and reminders wait until it "
                    "runs again; restarting it in %.0f s",
                    self.proc.pid,
                    how,
                    delay,
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()
            delay = min(delay * 2, MAX_RESTART)
            if not self._stopping.is_set():
                self.restarts += 1

    def terminate(self) -> None:
        """Ask the child to stop (SIGTERM: it finishes the step in flight, hands back the rest)."""
        self._stopping.set()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)

    async def stop(self) -> None:
        """terminate(), then wait for the child (killed after its grace and a margin)."""
        self.terminate()
        if self.proc is not None and self.proc.returncode is None:
            try:
                await asyncio.wait_for(self.proc.wait(), self.grace + STOP_MARGIN)
            except TimeoutError:
                log.error("the worker process %d did not stop in time; killing it", self.proc.pid)
                self.proc.kill()
                await self.proc.wait()
        if self._task is not None:
            await self._task
            self._task = None

    async def ready(self) -> str | None:
        """Why the worker is not ready (its own /readyz), or None when it is."""
        if self.proc is None or self.proc.returncode is not None:
            return "the worker process is not running"
        try:
            async with _session() as session, session.get(self._url("/readyz")) as resp:
                status = (await resp.json()).get("status", "")
                return None if resp.status == 200 else f"worker: {status}"
        except Exception:
            return "the worker process does not answer"

    async def metrics(self) -> bytes | None:
        """The worker's Prometheus figures, or None when it does not answer."""
        if self.proc is None or self.proc.returncode is not None:
            return None
        try:
            async with _session() as session, session.get(self._url("/metrics")) as resp:
                return await resp.read() if resp.status == 200 else None
        except Exception:
            return None

    def _url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ASK_TIMEOUT))


def merged(ours: bytes, theirs: bytes) -> bytes:
    """Two processes' Prometheus figures as one: counters and histograms added up, gauges (both read
    the same database) and creation times taken once."""
    families: dict[str, Metric] = {}
    values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = defaultdict(dict)
    for text in (ours, theirs):
        for family in text_string_to_metric_families(text.decode()):
            families.setdefault(family.name, Metric(family.name, family.documentation, family.type))
            seen = values[family.name]
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                if key not in seen:
                    seen[key] = sample.value
                elif family.type == "gauge" or sample.name.endswith("_created"):
                    seen[key] = max(seen[key], sample.value)
                else:
                    seen[key] += sample.value
    for name, family in families.items():
        for (sample, labels), value in values[name].items():
            family.add_sample(sample, dict(labels), value)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(list(families.values())))
    return generate_latest(registry)


class _Fixed:
    """A collector of metrics already made."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families
