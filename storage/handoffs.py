"""The handoffs table: DMs due at shift changes, claimed with a fence like pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Handoff
from storage.repositories import insert_ignoring_duplicates
from storage.schedule import CLAIMED, DONE, PENDING, SKIPPED

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
    """Plans, claims and finishes handoff DMs."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
        due = (
            select(Handoff.id)
            .where(
                or_(
                    (Handoff.state == PENDING) & (Handoff.due_at <= now),
                    (Handoff.state == CLAIMED) & (Handoff.lease_until < now),
                )
            )
            .order_by(Handoff.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(Handoff)
            .where(Handoff.id.in_(due.scalar_subquery()))
            .values(state=CLAIMED, fence=Handoff.fence + 1, lease_until=lease_until)
            .returning(
                Handoff.id,
                Handoff.fence,
                Handoff.schedule,
                Handoff.kind,
                Handoff.shift_start,
                Handoff.shift_end,
                Handoff.incoming,
                Handoff.outgoing,
                Handoff.due_at,
            )
            .execution_options(synchronize_session=False)
        )
        rows = (await self.session.execute(stmt)).all()
        claims = [
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
        return sorted(claims, key=lambda c: (c.due_at, c.id))

    async def finish(
        self, claim: HandoffClaim, at: datetime, state: str = DONE, note: str | None = None
    ) -> bool:
        """Close a claimed row; False (a no-op) when another worker's claim replaced this one."""
        stmt = (
            update(Handoff)
            .where(Handoff.id == claim.id, Handoff.fence == claim.fence, Handoff.state == CLAIMED)
            .values(state=state, done_at=at, lease_until=None, note=note)
            .execution_options(synchronize_session=False)
        )
        return bool((await self.session.execute(stmt)).rowcount)

    async def holds(self, claim: HandoffClaim) -> bool:
        """Whether the claim is still this worker's (locks the row on PostgreSQL until commit)."""
        stmt = select(Handoff.fence, Handoff.state).where(Handoff.id == claim.id).with_for_update()
        row = (await self.session.execute(stmt)).one_or_none()
        return row is not None and row.fence == claim.fence and row.state == CLAIMED

    async def next_due(self) -> datetime | None:
        """When the next pending handoff falls due."""
        stmt = select(func.min(Handoff.due_at)).where(Handoff.state == PENDING)
        return (await self.session.execute(stmt)).scalar()

    async def release_all(self) -> int:
        """Hand back every claim (SQLite at start-up: one process, so no claim can be alive)."""
        stmt = (
            update(Handoff)
            .where(Handoff.state == CLAIMED)
            .values(state=PENDING, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(stmt)).rowcount or 0
