"""Queries the domain uses; each takes the caller's session (one transaction per use case)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Insert, Select, Table, delete, func, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.models import (
    Base,
    Incident,
    IncidentUpdate,
    ProcessedEvent,
    TimelineEntry,
)


async def insert_ignoring_duplicates(
    session: AsyncSession | AsyncConnection, model: type[Base], **values: Any
) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row is new.

    On PostgreSQL a concurrent insert of the same key waits for the other transaction, so a retry
    that races the first delivery is decided by whether that one commits.
    """
    result = await session.execute(insert_ignore(session, model), values)
    return bool(result.rowcount)


def insert_ignore(session: AsyncSession | AsyncConnection | Connection, model: type[Base]) -> Insert:
    """A cached INSERT … ON CONFLICT DO NOTHING on the model's table, for the session's dialect.

    Built on the Table (not the ORM class) and given values at execution, so SQLAlchemy compiles it
    once; execute it with a dict, or a list of dicts for many rows.
    """
    dialect = session.bind.dialect if isinstance(session, AsyncSession) else session.dialect
    return _insert_ignore(dialect.name, model.__table__)  # type: ignore[arg-type]


@lru_cache(maxsize=64)
def _insert_ignore(dialect_name: str, table: Table) -> Insert:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


class IncidentRepo:
    """Incidents of one workspace and their updates: no query sees another workspace's."""

    def __init__(self, session: AsyncSession | AsyncConnection, team_id: str) -> None:
        self.session, self.team_id = session, team_id

    def _select(self) -> Select[tuple[Incident]]:
        return select(Incident).where(Incident.team_id == self.team_id)

    async def add(self, incident: Incident) -> Incident:
        """Insert with the workspace's next number (`INC-n`) and assign the id.

        PostgreSQL: declarations of one workspace take turns for the number (a lock held until
        the transaction ends); SQLite has one writer at a time anyway.
        """
        incident.team_id = self.team_id
        dialect = (
            self.session.bind.dialect if isinstance(self.session, AsyncSession) else self.session.dialect
        )
        if dialect.name == "postgresql":
            key = f"incident-number:{self.team_id}"
            await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
        top = select(func.coalesce(func.max(Incident.number), 0)).where(Incident.team_id == self.team_id)
        incident.number = int((await self.session.execute(top)).scalar_one()) + 1
        self.session.add(incident)
        await self.session.flush()
        return incident

    async def get(self, incident_id: int) -> Incident | None:
        """By numeric id."""
        return (
            await self.session.execute(self._select().where(Incident.id == incident_id))
        ).scalar_one_or_none()

    async def by_channel(self, channel_id: str, *, for_update: bool = False) -> Incident | None:
        """The incident whose dedicated channel this is."""
        stmt = self._select().where(Incident.channel_id == channel_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_ref(self, ref: str) -> Incident | None:
        """By channel id, `INC-42` or `42`."""
        number = ref.upper().removeprefix("INC-")
        if number.isdigit():
            stmt = self._select().where(Incident.number == int(number))
            return (await self.session.execute(stmt)).scalar_one_or_none()
        return await self.by_channel(ref)

    async def declared_since(self, since: datetime) -> list[Incident]:
        """Incidents declared at or after `since`, oldest first."""
        stmt = self._select().where(Incident.declared_at >= since).order_by(Incident.declared_at)
        return list((await self.session.execute(stmt)).scalars())

    async def open_counts(self) -> dict[str, int]:
        """Open incidents per severity."""
        stmt = (
            select(Incident.severity, func.count())
            .where(Incident.team_id == self.team_id, Incident.resolved_at.is_(None))
            .group_by(Incident.severity)
        )
        return {severity: int(n) for severity, n in (await self.session.execute(stmt)).all()}

    async def open_incidents(self) -> list[Incident]:
        """Unresolved incidents, oldest first."""
        stmt = self._select().where(Incident.resolved_at.is_(None)).order_by(Incident.declared_at)
        return list((await self.session.execute(stmt)).scalars())

    async def last_update(self, incident_id: int) -> IncidentUpdate | None:
        """The newest status update (or None)."""
        stmt = (
            select(IncidentUpdate)
            .where(IncidentUpdate.incident_id == incident_id)
            .order_by(IncidentUpdate.posted_at.desc(), IncidentUpdate.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def updates(self, incident_id: int) -> list[IncidentUpdate]:
        """Every status update of an incident, oldest first."""
        stmt = (
            select(IncidentUpdate)
            .where(IncidentUpdate.incident_id == incident_id)
            .order_by(IncidentUpdate.posted_at, IncidentUpdate.id)
        )
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
            .where(
                Incident.id == incident_id, Incident.team_id == self.team_id, Incident.resolved_at.is_(None)
            )
            .values(
                status_before_resolve=Incident.status,  # the old value: what a reopen goes back to
                resolved_at=at,
                status="resolved",
                summary=summary,
                next_update_due=None,
            )
            .returning(Incident.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None


@dataclass(frozen=True, slots=True)
class EntryRow:
    """A timeline entry's columns, read for a download."""

    id: int
    at: datetime
    kind: str
    author_id: str | None
    text: str
    message_ts: str | None
    permalink: str | None


class TimelineRepo:
    """Timeline entries of one or more incidents."""

    def __init__(self, session: AsyncSession | AsyncConnection) -> None:
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

    async def record_once(
        self,
        incident_id: int,
        kind: str,
        text: str,
        at: datetime,
        *,
        author_id: str | None,
        message_ts: str,
        permalink: str | None = None,
        source_key: str,
    ) -> bool:
        """Add the entry of a Slack message unless it is there already (race-free); True if added."""
        return await insert_ignoring_duplicates(
            self.session,
            TimelineEntry,
            incident_id=incident_id,
            kind=kind,
            text=text,
            at=at,
            author_id=author_id,
            message_ts=message_ts,
            permalink=permalink,
            source_key=source_key,
        )

    async def by_source(self, incident_id: int, source_key: str) -> TimelineEntry | None:
        """The entry that came from one Slack message (or None)."""
        stmt = select(TimelineEntry).where(
            TimelineEntry.incident_id == incident_id, TimelineEntry.source_key == source_key
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def one(self, incident_id: int, entry_id: int) -> TimelineEntry | None:
        """One entry of an incident, by id."""
        stmt = select(TimelineEntry).where(
            TimelineEntry.id == entry_id, TimelineEntry.incident_id == incident_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def remove_source(self, incident_id: int, source_key: str, kinds: tuple[str, ...]) -> int:
        """Delete the entry of a Slack message if it is of one of `kinds`; returns rows deleted."""
        stmt = delete(TimelineEntry).where(
            TimelineEntry.incident_id == incident_id,
            TimelineEntry.source_key == source_key,
            TimelineEntry.kind.in_(kinds),
        )
        return (await self.session.execute(stmt)).rowcount or 0

    async def for_incident(self, incident_id: int) -> list[TimelineEntry]:
        """Entries in time order (ties in insertion order)."""
        stmt = (
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident_id)
            .order_by(TimelineEntry.at, TimelineEntry.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def part_of(self, incident_id: int, limit: int, offset: int) -> list[TimelineEntry]:
        """Entries `offset` … `offset + limit` in time order (one page of a long timeline)."""
        stmt = (
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident_id)
            .order_by(TimelineEntry.at, TimelineEntry.id)
            .limit(limit)
            .offset(offset)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def page_after(
        self, incident_id: int, after: tuple[datetime, int] | None, limit: int
    ) -> list[EntryRow]:
        """Up to `limit` entries following `after` (an entry's time and id) in time order: one page of
        a long timeline read by keyset however far in it is, as plain rows (no ORM objects to build)."""
        e = TimelineEntry
        stmt = select(e.id, e.at, e.kind, e.author_id, e.text, e.message_ts, e.permalink)
        stmt = stmt.where(e.incident_id == incident_id)
        if after is not None:
            stmt = stmt.where(tuple_(e.at, e.id) > tuple_(after[0], after[1]))  # one index range, not an OR
        stmt = stmt.order_by(e.at, e.id).limit(limit)
        return [EntryRow(*row) for row in (await self.session.execute(stmt)).all()]

    async def span(self, incident_id: int) -> tuple[int, datetime | None, datetime | None]:
        """How many entries an incident's timeline has, and the first and last entry's time."""
        e = TimelineEntry
        stmt = select(func.count(), func.min(e.at), func.max(e.at)).where(e.incident_id == incident_id)
        n, first, last = (await self.session.execute(stmt)).one()
        return int(n), first, last

    async def count(self, incident_id: int) -> int:
        """How many entries an incident's timeline has."""
        stmt = select(func.count()).where(TimelineEntry.incident_id == incident_id)
        return int((await self.session.execute(stmt)).scalar_one())


class EventRepo:
    """Slack event ids already processed (the Events API delivers at least once)."""

    def __init__(self, session: AsyncSession | AsyncConnection) -> None:
        self.session = session

    async def claim(self, event_id: str, at: datetime) -> bool:
        """Record the id in the caller's transaction; False when it was processed before."""
        return await insert_ignoring_duplicates(
            self.session, ProcessedEvent, event_id=event_id, received_at=at
        )

    async def prune(self, before: datetime) -> int:
        """Forget ids older than `before` (Slack stops retrying within the hour)."""
        stmt = delete(ProcessedEvent).where(ProcessedEvent.received_at < before)
        return (await self.session.execute(stmt)).rowcount or 0
