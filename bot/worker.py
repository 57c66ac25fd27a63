"""`incident-bot worker`: carries out the acknowledged requests and runs the scheduled jobs (pages,
reminders, handoffs, calendars, deliveries, pruning) without serving Slack; /healthz, /readyz and
/metrics on its own port. Run beside `serve --no-worker`, or started by plain `serve` as its child."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys

from aiohttp import web

from bot.net import listen
from bot.runtime import Bot
from bot.serve import until
from config.errors import ConfigError
from config.policy import Policy
from config.settings import Settings
from storage.wakeup import wakeup

log = logging.getLogger("bot")

DEFAULT_PORT = 3001
PARENT_CHECK = 1.0  # where the kernel cannot kill the child with its parent, how often it looks
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
    watch = _follow(parent, stop) if parent is not None else None
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
        if watch is not None:
            watch.cancel()
        await wake.stop()
        await runner.cleanup()
        await bot.stop()


def _follow(parent: int, stop: asyncio.Event) -> asyncio.Task[None]:
    """Die with `parent` (serve): on Linux the kernel kills this process the moment serve dies, so
    a serve killed and started again never finds its old worker still at work (on SQLite the new
    worker takes over every claim at once). Elsewhere, stop when the parent is seen gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        raise ConfigError(f"--exit-with: process {parent} is not this worker's parent (it may have exited)")

    async def watch() -> None:
        while True:
            await asyncio.sleep(PARENT_CHECK)
            if os.getppid() != parent:
                break
        log.error("the serving process %d is gone; the worker stops", parent)
        stop.set()

    return asyncio.create_task(watch(), name="follow-parent")
