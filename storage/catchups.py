"""What a catch-up reads and keeps: when each person last got one (the catchups table), the newest
entries of a timeline however long it is, and the reader's time zone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CatchUp, Person, TimelineEntry
from storage.repositories import insert_ignoring_duplicates


class CatchUpRepo:
    """When people of one incident last got its catch-up."""

    def __init__(self, session: AsyncSession, incident_id: int) -> None:
        self.session, self.incident_id = session, incident_id

    async def seen_at(self, user_id: str) -> datetime | None:
        """When `user_id` last got this incident's catch-up (None: never)."""
        stmt = select(CatchUp.seen_at).where(
            CatchUp.incident_id == self.incident_id, CatchUp.user_id == user_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def record(self, user_id: str, at: datetime) -> None:
        """`user_id` got the catch-up as of `at` (a later one is kept: a retry never moves it back)."""
        if await insert_ignoring_duplicates(
            self.session, CatchUp, incident_id=self.incident_id, user_id=user_id, seen_at=at
        ):
            return
        row = await self.session.get(CatchUp, (self.incident_id, user_id), with_for_update=True)
        if row is not None and row.seen_at < at:
            row.seen_at = at


class TimelineTail:
    """The newest entries of one incident's timeline, read with a limit (an index range, never all)."""

    def __init__(self, session: AsyncSession, incident_id: int) -> None:
        self.session, self.incident_id = session, incident_id

    async def newest(self, limit: int, after: datetime | None = None) -> tuple[list[TimelineEntry], int]:
        """Up to `limit` of the newest entries (later than `after`, when given) oldest first, and how
        many there are in all (since `after`)."""
        e = TimelineEntry
        wanted = [e.incident_id == self.incident_id]
        if after is not None:
            wanted.append(e.at > after)
        total = int((await self.session.execute(select(func.count()).where(*wanted))).scalar_one())
        stmt = select(e).where(*wanted).order_by(e.at.desc(), e.id.desc()).limit(limit)
        rows = list((await self.session.execute(stmt)).scalars())
        return rows[::-1], total


async def time_zone(session: AsyncSession, team_id: str, user_id: str) -> str | None:
    """The time zone users.info gave for a person of this workspace (None until looked up)."""
    stmt = select(Person.tz).where(Person.team_id == team_id, Person.user_id == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()
