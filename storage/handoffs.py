"""The handoffs table: DMs due at shift changes, claimed with a fence like pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import claims
from storage.claims import PENDING
from storage.models import Handoff
from storage.repositories import insert_ignoring_duplicates
from storage.schedule import DONE, SKIPPED

HANDOFF, REMINDER = "handoff", "reminder"
__all__ = ["DONE", "HANDOFF", "REMINDER", "SKIPPED", "HandoffClaim", "HandoffRepo"]


@dataclass(frozen=True)
class HandoffClaim:
    """A due handoff this worker now holds."""

    id: int
    fence: int
    schedule: str
    kind: str
    shift_start: datetime
    shift_end: datetime
    incoming: tuple[str, ...]
    outgoing: tuple[str, ...]
    due_at: datetime


class HandoffRepo:
    """Plans, claims and finishes one workspace's handoff DMs."""

    def __init__(self, session: AsyncSession, team_id: str) -> None:
        self.session, self.team_id = session, team_id

    async def plan(
        self,
        schedule: str,
        kind: str,
        start: datetime,
        end: datetime,
        incoming: tuple[str, ...],
        outgoing: tuple[str, ...],
        due_at: datetime,
    ) -> bool:
        """One row per (schedule, shift start, kind), whatever replicas plan it; True when new."""
        return await insert_ignoring_duplicates(
            self.session,
            Handoff,
            team_id=self.team_id,
            schedule=schedule,
            kind=kind,
            shift_start=start,
            shift_end=end,
            incoming=",".join(incoming),
            outgoing=",".join(outgoing) or None,
            due_at=due_at,
            state=PENDING,
            fence=0,
        )

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int = 50) -> list[HandoffClaim]:
        """Claim due rows (and rows whose claimer's lease ran out), bumping each fence."""
        h = Handoff
        returning = (
            h.id,
            h.fence,
            h.schedule,
            h.kind,
            h.shift_start,
            h.shift_end,
            h.incoming,
            h.outgoing,
            h.due_at,
        )
        rows = (
            await self.session.execute(claims.claim_due(h, self.team_id, now, lease_until, limit, returning))
        ).all()
        found = [
            HandoffClaim(
                r.id,
                r.fence,
                r.schedule,
                r.kind,
                r.shift_start,
                r.shift_end,
                tuple(u for u in r.incoming.split(",") if u),
                tuple(u for u in (r.outgoing or "").split(",") if u),
                r.due_at,
            )
            for r in rows
        ]
        return sorted(found, key=lambda c: (c.due_at, c.id))

    async def finish(
        self, claim: HandoffClaim, at: datetime, state: str = DONE, note: str | None = None
    ) -> bool:
        """Close a claimed row; False (a no-op) when another worker's claim replaced this one."""
        stmt = claims.finish(Handoff, claim.id, claim.fence, at, state, note)
        return bool((await self.session.execute(stmt)).rowcount)

    async def next_due(self) -> datetime | None:
        """When the next pending handoff falls due."""
        stmt = select(func.min(Handoff.due_at)).where(
            Handoff.team_id == self.team_id, Handoff.state == PENDING
        )
        return (await self.session.execute(stmt)).scalar()
