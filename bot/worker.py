"""`incident-bot worker`: carries out the acknowledged requests and runs the scheduled jobs (pages,
reminders, handoffs, calendars, deliveries, pruning) without serving Slack; /healthz, /readyz and
/metrics on its own port. Run beside `serve --no-worker`, or started by plain `serve` as its child."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator

from aiohttp import web

from bot.net import listen
from bot.runtime import Bot
from bot.serve import until
from config.errors import ConfigError
from config.policy import Policy
from config.settings import Settings
from storage.db import sqlite_file
from storage.wakeup import wakeup

log = logging.getLogger("bot")

LOCK_CHECK = 0.2  # how often a worker waiting for the SQLite file's worker lock tries again
_PR_SET_PDEATHSIG = 1


def check_worker(settings: Settings) -> None:
    """The settings a worker needs: a way to call Slack (SLACK_BOT_TOKEN, or OAuth's stored tokens)."""
    settings.check_install_mode()
    if not settings.oauth:
        settings.require(
            "slack_bot_token",
            why="the worker calls Slack with SLACK_BOT_TOKEN (or the tokens installed with OAuth)",
        )


async def work(settings: Settings, policy: Policy, *, host: str, port: int, parent: int | None) -> None:
    """Run until SIGTERM or SIGINT (or, with `parent`, until that process is gone); ConfigError when
    Slack rejects the bot token at start."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watch = await _follow(parent, stop) if parent is not None else None
    if stop.is_set():
        return  # serve ended before it said go (it says why itself)
    try:
        async with _sole_worker(sqlite_file(settings.database_url), stop) as mine:
            if mine:
                await _work(settings, policy, host, port, stop)
    finally:
        if watch is not None:
            watch.cancel()


async def _work(settings: Settings, policy: Policy, host: str, port: int, stop: asyncio.Event) -> None:
    bot = Bot(settings, policy, role="worker")
    await bot.start()
    runner = web.AppRunner(bot.probe_app(), access_log=None)
    wake = wakeup(bot.shared.db, bot.shared.worker.wake)
    try:
        await listen(runner, host, port)
        wake.start()
        await until(stop, bot.check_slack())  # a rejected token: one line, exit 2
        if not stop.is_set():
            log.info("worker running; probes on http://%s:%d", host, port)
        await stop.wait()
        log.info("worker shutting down")
    finally:
        await wake.stop()
        await runner.cleanup()
        await bot.stop()


@contextlib.asynccontextmanager
async def _sole_worker(sqlite_file: str | None, stop: asyncio.Event) -> AsyncIterator[bool]:
    """On SQLite, wait until no other worker runs on the file, then hold its lock until the block
    ends: a worker starts by taking over every claim, so two at once would carry rows out twice (a
    serve killed and started again waits here for its old child). False when stopped while waiting.
    On PostgreSQL workers share the rows by their leases: nothing to wait for."""
    if sqlite_file is None:
        yield True
        return
    try:
        fd = os.open(sqlite_file + ".worker-lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        yield True  # a folder that is not there or not writable: the start says so in one line
        return
    try:
        said = False
        while not _locked(fd):
            if not said:
                log.warning(
                    "another worker runs on %s; waiting until it stops (one worker per SQLite file)",
                    sqlite_file,
                )
                said = True
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(LOCK_CHECK):
                    await stop.wait()
            if stop.is_set():
                yield False
                return
        yield True
    finally:
        os.close(fd)  # releases the lock: the next worker on this file may start


def _locked(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


async def _follow(parent: int, stop: asyncio.Event) -> asyncio.Task[None] | None:
    """As serve's child: die with serve, and start only when it says go on stdin.

    On Linux the kernel kills this process the moment serve dies, so a serve killed and started
    again does not find its old worker still at work. Everywhere, the end of stdin (serve's end of
    the pipe closed) stops it. Returns the task watching for that end, or None (with `stop` set)
    when serve ended before it said go."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        raise ConfigError(f"--exit-with: process {parent} is not this worker's parent (it may have exited)")
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    said = b""

    async def hear() -> None:
        nonlocal said
        said = await reader.readline()  # b"go\n" once serve has started; b"" if serve ended first

    if not await until(stop, hear()) or not said:
        stop.set()
        return None

    async def watch() -> None:
        await reader.read()  # until the end of the pipe: serve is gone
        log.error("the serving process %d is gone; the worker stops", parent)
        stop.set()

    return asyncio.create_task(watch(), name="follow-parent")
