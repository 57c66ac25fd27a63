"""Scheduled jobs: each kind of due row (a page, a reminder, a follow-up's DM…) and what carries it
out, and the tick that claims one workspace's due rows and runs them.

Each due row is claimed with a fencing token (storage.schedule), so replicas never run one twice at
once. A handler that raises leaves its claim: when the claim's lease (LEASE) runs out, a later tick
claims the row again and the handler runs again, so a handler must be safe to repeat. A worker that
dies or stalls longer than LEASE while holding a claim delays the job by up to LEASE, never loses
it; a handler checks the fence (`ScheduleRepo.holds`) before each effect it must not repeat, and
finishes the row fenced. Rows that fell due while no worker ran are claimed at the next tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from runtime import logs
from runtime.clock import Clock
from storage.db import Database
from storage.schedule import DONE, SKIPPED, Claim, ScheduleRepo

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
# Incidents served at once by one tick: many falling due together are handled in parallel.
PARALLEL = 16

Handler = Callable[[Claim], Awaitable[None]]


class Jobs:
    """One workspace's scheduled jobs: who carries out each kind, and the tick that claims due rows."""

    def __init__(self, db: Database, clock: Clock, team_id: str) -> None:
        self.db, self.clock, self.team_id = db, clock, team_id
        self._handlers: dict[str, Handler] = {}

    def register(self, kind: str, handler: Handler) -> None:
        """`handler` carries out due rows of `kind`; one handler a kind."""
        if kind in self._handlers:
            raise ValueError(f"job kind {kind!r} already has a handler")
        self._handlers[kind] = handler

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds this runner carries out."""
        return frozenset(self._handlers)

    async def tick(self) -> int:
        """Claim everything due and carry it out; returns how many jobs were claimed.

        Incidents are served in parallel (up to PARALLEL), each incident's jobs in due order, so
        L1 is paged before L2 when both fell due during downtime.
        """
        now = self.clock.now()
        async with self.db.session() as s:
            claims = await ScheduleRepo(s, self.team_id).claim_due(now, now + LEASE)
        by_incident: dict[int, list[Claim]] = {}
        for claim in claims:  # claims come in due order
            by_incident.setdefault(claim.incident_id, []).append(claim)
        limit = asyncio.Semaphore(PARALLEL)
        await asyncio.gather(*(self._run(jobs, limit) for jobs in by_incident.values()))
        return len(claims)

    async def _run(self, claims: list[Claim], limit: asyncio.Semaphore) -> None:
        async with limit:
            logs.bind(incident_id=claims[0].incident_id)
            for claim in claims:
                handler = self._handlers.get(claim.kind)
                if handler is None:  # left claimed: a process that knows the kind takes it later
                    log.error("job %s: no handler for kind %r", claim.job_id, claim.kind)
                    continue
                try:
                    await handler(claim)
                except Exception:
                    # The claim stays; its lease runs out and a later tick retries it.
                    log.exception("job %s (%s) failed", claim.job_id, claim.kind)

    async def finish(self, claim: Claim, state: str = DONE, note: str | None = None) -> bool:
        """Close a claimed row now; False (a no-op) when another worker claimed it since."""
        async with self.db.session() as s:
            return await ScheduleRepo(s, self.team_id).finish(claim, self.clock.now(), state, note)

    async def skip(self, claim: Claim, why: str) -> bool:
        """Close a claimed row as not needed any more (resolved, acknowledged, done…)."""
        return await self.finish(claim, SKIPPED, why)
