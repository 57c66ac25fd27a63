"""Plain `incident-bot serve`: the worker as a child process (`incident-bot worker`), started and
stopped with serve and started again, with backoff, whenever it dies on its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import aiohttp
    from prometheus_client.metrics_core import Metric

log = logging.getLogger("bot.worker_child")

FIRST_RESTART, MAX_RESTART = 1.0, 60.0
RAN_WELL = 60.0  # a child that ran this long before it died is restarted after FIRST_RESTART again
STOP_MARGIN = 10.0  # past the worker's own shutdown grace, it is killed
ASK_TIMEOUT = 2.0  # /readyz and /metrics of the child
WATCH = 0.1  # how often the child's exit is looked for


def free_port() -> int:
    """A local TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WorkerChild:
    """Runs `incident-bot worker` beside this process, with the same environment, folder and policy.

    It is launched early, so its imports overlap this process's start-up, but it waits for a "go" on
    its stdin before it opens the database: a serve that fails to start says why once, alone. That
    pipe also tells it when serve is gone (end of file), and on Linux the kernel kills it with serve
    (see bot/worker.py), so a SIGKILL of serve leaves no worker behind. Its probes listen on a free
    local port.
    """

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = False  # go was said: the child runs for real
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def launch(self) -> None:
        """Start the child now (before the event loop runs, so its start-up overlaps this one's)."""
        self.port = free_port()
        command = [
            sys.executable, "-m", "bot", "worker", "--host", "127.0.0.1", "--port", str(self.port),
            "--exit-with", str(os.getpid()),
        ]  # fmt: skip
        # Its own process group: a Ctrl-C at the terminal reaches serve, which stops it in turn.
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, process_group=0)

    def _go(self) -> None:
        """Let the launched child start its work."""
        assert self.proc is not None and self.proc.stdin is not None
        with contextlib.suppress(OSError):  # it died meanwhile: supervision starts another
            self.proc.stdin.write(b"go\n")
            self.proc.stdin.flush()
        log.info("worker process %d started (probes on 127.0.0.1:%d)", self.proc.pid, self.port)

    def start(self) -> None:
        """Serve has started: let the child work, and keep it running until stop()."""
        self.started = True
        if self.proc is None:
            self.launch()
        self._go()
        self._task = asyncio.create_task(self._supervise(), name="worker-child")

    def running(self) -> bool:
        """Whether the child process is alive now."""
        return self.proc is not None and self.proc.poll() is None

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        delay = FIRST_RESTART
        while not self._stopping.is_set():
            started = loop.time()
            try:
                if self.proc is None:
                    self.launch()
                    self._go()
            except OSError as exc:
                log.error("cannot start the worker process: %s", exc)
            else:
                assert self.proc is not None
                code = await self._exited(self.proc)
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
            self._forget()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()
            delay = min(delay * 2, MAX_RESTART)

    def _forget(self) -> None:
        """The child has exited: close our end of its stdin."""
        if self.proc is not None and self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self.proc = None

    @staticmethod
    async def _exited(proc: subprocess.Popen[bytes]) -> int:
        """The exit status of `proc`, once it has exited (looked at every WATCH seconds)."""
        while True:
            code = proc.poll()
            if code is not None:
                return code
            await asyncio.sleep(WATCH)

    def terminate(self) -> None:
        """Ask the child to stop (SIGTERM: it finishes the step in flight, hands back the rest)."""
        self._stopping.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the child if it still runs (serve failed to start, or before it could stop it)."""
        self._stopping.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._forget()

    async def stop(self) -> None:
        """terminate(), then wait for the child (killed after its grace and a margin)."""
        self.terminate()
        proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                await asyncio.wait_for(self._exited(proc), self.grace + STOP_MARGIN)
            except TimeoutError:
                log.error("the worker process %d did not stop in time; killing it", proc.pid)
                proc.kill()
                await self._exited(proc)
        if self._task is not None:
            await self._task
            self._task = None
        self._forget()

    async def ready(self) -> str | None:
        """Why the worker is not ready (its own /readyz), or None when it is."""
        if not self.running():
            return "the worker process is not running"
        try:
            async with _session() as session, session.get(self._url("/readyz")) as resp:
                status = (await resp.json()).get("status", "")
                return None if resp.status == 200 else f"worker: {status}"
        except Exception:
            return "the worker process does not answer"

    async def metrics(self) -> bytes | None:
        """The worker's Prometheus figures, or None when it does not answer."""
        if not self.running():
            return None
        try:
            async with _session() as session, session.get(self._url("/metrics")) as resp:
                return await resp.read() if resp.status == 200 else None
        except Exception:
            return None

    def _url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _session() -> aiohttp.ClientSession:
    import aiohttp  # not before: serve launches the child before its own heavier imports

    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ASK_TIMEOUT))


def merged(ours: bytes, theirs: bytes) -> bytes:
    """Two processes' Prometheus figures as one: counters and histograms added up, gauges (both read
    the same database) and creation times taken once."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.metrics_core import Metric
    from prometheus_client.parser import text_string_to_metric_families

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
