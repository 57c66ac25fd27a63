"""The outbox table: deliveries written with the change they report, claimed in order per target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Incident, OutboxMessage
from storage.repositories import insert_ignoring_duplicates

PENDING, DELIVERING, DELIVERED, FAILED = "pending", "delivering", "delivered", "failed"


@dataclass(frozen=True)
class Delivery:
    """A claimed outbox row; finishing it needs the same fence."""

    id: int
    fence: int
    event_id: str
    incident_id: int
    target: str
    kind: str
    body: str
    attempts: int
    team_id: str = ""  # the workspace of the incident: whose policy names the receiver


class OutboxRepo:
    """Queries on the outbox table."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, event_id: str, incident_id: int, target: str, kind: str, body: str, now: datetime
    ) -> None:
        """Queue one delivery (the same event for the same target only once)."""
        await insert_ignoring_duplicates(
            self.session,
            OutboxMessage,
            event_id=event_id,
            incident_id=incident_id,
            target=target,
            kind=kind,
            body=body,
            state=PENDING,
            attempts=0,
            fence=0,
            next_attempt_at=now,
            created_at=now,
        )

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int = 100) -> list[Delivery]:
        """Claim due rows that are the oldest undelivered of their (target, incident), so each
        receiver gets an incident's events in order; expired leases are claimable again."""
        earlier = aliased(OutboxMessage)
        blocked = exists().where(
            earlier.target == OutboxMessage.target,
            earlier.incident_id == OutboxMessage.incident_id,
            earlier.id < OutboxMessage.id,
            earlier.state.in_((PENDING, DELIVERING)),
        )
        due = (
            select(OutboxMessage.id)
            .where(
                or_(
                    and_(OutboxMessage.state == PENDING, OutboxMessage.next_attempt_at <= now),
                    and_(OutboxMessage.state == DELIVERING, OutboxMessage.lease_until < now),
                ),
                ~blocked,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(due.scalar_subquery()))
            .values(state=DELIVERING, fence=OutboxMessage.fence + 1, lease_until=lease_until)
            .returning(
                OutboxMessage.id,
                OutboxMessage.fence,
                OutboxMessage.event_id,
                OutboxMessage.incident_id,
                OutboxMessage.target,
                OutboxMessage.kind,
                OutboxMessage.body,
                OutboxMessage.attempts,
            )
            .execution_options(synchronize_session=False)
        )
        rows = (await self.session.execute(stmt)).all()
        ids = {row.incident_id for row in rows}
        teams = dict(
            (
                await self.session.execute(select(Incident.id, Incident.team_id).where(Incident.id.in_(ids)))
            ).all()
        )
        return sorted((Delivery(*row, teams.get(row.incident_id, "")) for row in rows), key=lambda d: d.id)

    async def finish(
        self,
        d: Delivery,
        state: str,
        now: datetime,
        *,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> bool:
        """Record the outcome of one attempt; a stale claim (fence moved on) is a no-op."""
        values: dict[str, object] = {"state": state, "attempts": d.attempts + 1, "lease_until": None}
        if state == DELIVERED:
            values["delivered_at"] = now
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        if error is not None:
            values["last_error"] = error[:500]
        stmt = (
            update(OutboxMessage)
            .where(
                OutboxMessage.id == d.id, OutboxMessage.fence == d.fence, OutboxMessage.state == DELIVERING
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool((await self.session.execute(stmt)).rowcount)

    async def summary(self) -> list[tuple[str, str, int]]:
        """(target, state, count) for every target."""
        stmt = (
            select(OutboxMessage.target, OutboxMessage.state, func.count())
            .group_by(OutboxMessage.target, OutboxMessage.state)
            .order_by(OutboxMessage.target, OutboxMessage.state)
        )
        return [(t, s, int(n)) for t, s, n in (await self.session.execute(stmt)).all()]

    async def failed(self, limit: int = 50) -> list[OutboxMessage]:
        """Deliveries given up on, newest first."""
        stmt = (
            select(OutboxMessage)
            .where(OutboxMessage.state == FAILED)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())
