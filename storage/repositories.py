"""Queries the domain uses; each takes the caller's session (one transaction per use case)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Incident, IncidentUpdate, TimelineEntry


class IncidentRepo:
    """Incidents and their updates."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, incident: Incident) -> Incident:
        """Insert and assign the id."""
        self.session.add(incident)
        await self.session.flush()
        return incident

    async def get(self, incident_id: int) -> Incident | None:
        """By numeric id."""
        return await self.session.get(Incident, incident_id)

    async def by_channel(self, channel_id: str, *, for_update: bool = False) -> Incident | None:
        """The incident whose dedicated channel this is."""
        stmt = select(Incident).where(Incident.channel_id == channel_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def open_incidents(self) -> list[Incident]:
        """Unresolved incidents, oldest first."""
        stmt = select(Incident).where(Incident.resolved_at.is_(None)).order_by(Incident.declared_at)
        return list((await self.session.execute(stmt)).scalars())

    async def add_update(self, upd: IncidentUpdate) -> IncidentUpdate:
        """Record a status update."""
        self.session.add(upd)
        await self.session.flush()
        return upd

    async def mark_resolved(self, incident_id: int, at: datetime, summary: str) -> bool:
        """Resolve if still open; False when someone else resolved it first."""
        stmt = (
            update(Incident)
            .where(Incident.id == incident_id, Incident.resolved_at.is_(None))
            .values(resolved_at=at, status="resolved", summary=summary, next_update_due=None)
            .returning(Incident.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None


class TimelineRepo:
    """Timeline entries of one or more incidents."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        incident_id: int,
        kind: str,
        text: str,
        at: datetime,
        *,
        author_id: str | None = None,
        message_ts: str | None = None,
        permalink: str | None = None,
        source_key: str | None = None,
    ) -> TimelineEntry:
        """Add one entry (the caller's transaction commits it)."""
        entry = TimelineEntry(
            incident_id=incident_id,
            kind=kind,
            text=text,
            at=at,
            author_id=author_id,
            message_ts=message_ts,
            permalink=permalink,
            source_key=source_key,
        )
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def for_incident(self, incident_id: int) -> list[TimelineEntry]:
        """Entries in time order (ties in insertion order)."""
        stmt = (
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident_id)
            .order_by(TimelineEntry.at, TimelineEntry.id)
        )
        return list((await self.session.execute(stmt)).scalars())
