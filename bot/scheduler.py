"""APScheduler only wakes the bot: a tick every second, and at once when new rows may be due."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
_JOB = "tick"


class Ticker:
    """Runs `work` every TICK_SECONDS (never two at once) and on `wake()`."""

    def __init__(self, work: Callable[[], Awaitable[object]], interval: float = TICK_SECONDS) -> None:
        self._work, self._interval = work, interval
        self._scheduler: AsyncIOScheduler | None = None

    def start(self) -> None:
        """Start ticking on the running event loop."""
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.add_job(
            self._run,
            "interval",
            seconds=self._interval,
            id=_JOB,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
        )
        self._scheduler.start()

    def wake(self) -> None:
        """Tick as soon as possible (a tick already running finishes first)."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.modify_job(_JOB, next_run_time=datetime.now(UTC))

    async def _run(self) -> None:
        try:
            await self._work()
        except Exception:
            log.exception("scheduler tick failed")

    def shutdown(self) -> None:
        """Stop ticking (a running tick is left to finish)."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
