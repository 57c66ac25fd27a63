"""Background work beside the paging tick: the calendar job (with the people pass), and the heartbeat
/readyz reads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta

from runtime.clock import Clock
from services.catalog import Runbooks
from services.workspace import WorkspaceServices

log = logging.getLogger(__name__)

# How often the calendar job looks for copies older than `[oncall] refresh`.
CALENDAR_SECONDS = 30.0


async def fetch_outside(runbooks: Runbooks, contexts: list[WorkspaceServices]) -> int:
    """The calendar job's pass: due calendars and URL runbooks (each bounded) and, beside them, each
    workspace's people (users.info). Returns how many documents were fetched."""

    async def fetch() -> int:
        return await runbooks.refresh() + await refresh_calendars(contexts)

    fetched, _ = await asyncio.gather(fetch(), sweep_people(contexts))
    return fetched


class Heartbeat:
    """When the paging tick last completed. A process whose tick has not completed within the
    bound (3 ticks, at least 60 s) cannot send pages, whatever else answers."""

    def __init__(self, clock: Clock, interval: float) -> None:
        self.clock = clock
        self.bound = timedelta(seconds=max(3 * interval, 60))
        self.last = clock.now()  # a starting process has its first bound to complete one

    def beat(self) -> None:
        """A paging tick completed."""
        self.last = self.clock.now()

    def stuck(self) -> str | None:
        """Why the process is not ready, when the tick is overdue; else None."""
        late = self.clock.now() - self.last
        if late <= self.bound:
            return None
        return (
            f"the paging tick has not completed for {int(late.total_seconds())} s "
            f"(bound {int(self.bound.total_seconds())} s)"
        )


async def _in_each(
    contexts: Iterable[WorkspaceServices],
    work: Callable[[WorkspaceServices], Awaitable[int]],
    what: str,
) -> int:
    """`work` in every workspace at once, a failure logged and the others kept; the counts summed."""
    contexts = list(contexts)
    results = await asyncio.gather(*(work(ctx) for ctx in contexts), return_exceptions=True)
    total = 0
    for ctx, result in zip(contexts, results, strict=True):
        if isinstance(result, BaseException):
            log.error("%s of workspace %s failed: %r", what, ctx.team.team_id, result)
        else:
            total += result
    return total


async def refresh_calendars(contexts: Iterable[WorkspaceServices]) -> int:
    """Every workspace's due calendars at once, each fetch on its own deadline; how many were kept."""
    return await _in_each(contexts, lambda ctx: ctx.oncall.refresh(), "calendar refresh")


async def sweep_people(contexts: Iterable[WorkspaceServices]) -> int:
    """Every workspace's pass over the people its timelines name (users.info), at once; how many were
    named."""
    return await _in_each(contexts, lambda ctx: ctx.people.sweep(), "people pass")
