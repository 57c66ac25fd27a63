"""People of one workspace: the names Slack put in payloads and what users.info said of them, and who
the workspace's timelines name (for the background pass that looks them up)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.models import Incident, Person, TimelineEntry
from storage.repositories import insert_ignoring_duplicates

NAME_LENGTH, TZ_LENGTH = 120, 64  # the columns' sizes


@dataclass(frozen=True, slots=True)
class Named:
    """A timeline entry's author and text, read to find the people it names."""

    id: int
    author_id: str | None
    text: str


class PeopleRepo:
    """Names of one workspace's Slack users (a user id of another workspace may be someone else, or
    the same person under another name): seen in payloads, or looked up with users.info."""

    def __init__(self, session: AsyncSession | AsyncConnection, team_id: str) -> None:
        self.session, self.team_id = session, team_id

    async def remember(self, user_id: str, name: str) -> None:
        """Store a name seen in a payload: it fills in until users.info has named the person, whose
        own name it never replaces (a payload's is often the old handle)."""
        name = name[:NAME_LENGTH]
        person = await self.session.get(Person, (self.team_id, user_id))
        if person is None:
            await insert_ignoring_duplicates(
                self.session, Person, team_id=self.team_id, user_id=user_id, name=name
            )
        elif person.name != name and person.looked_up_at is None:
            person.name = name

    async def looked_up(
        self, user_id: str, name: str, real_name: str | None, tz: str | None, at: datetime
    ) -> None:
        """Store what users.info said of a person."""
        values = {
            "name": name[:NAME_LENGTH],
            "real_name": real_name[:NAME_LENGTH] if real_name else None,
            "tz": tz if tz and len(tz) <= TZ_LENGTH else None,
            "looked_up_at": at,
        }
        person = await self.session.get(Person, (self.team_id, user_id))
        if person is None and await insert_ignoring_duplicates(
            self.session, Person, team_id=self.team_id, user_id=user_id, **values
        ):
            return
        person = person or await self.session.get(Person, (self.team_id, user_id), populate_existing=True)
        assert person is not None
        for key, value in values.items():
            setattr(person, key, value)

    async def due(self, user_ids: Iterable[str], before: datetime) -> set[str]:
        """Those of `user_ids` never looked up, or last looked up before `before`."""
        wanted = sorted({u for u in user_ids if u})
        if not wanted:
            return set()
        stmt = select(Person.user_id).where(
            Person.team_id == self.team_id,
            Person.user_id.in_(wanted),
            Person.looked_up_at.is_not(None),
            Person.looked_up_at >= before,
        )
        fresh = set((await self.session.execute(stmt)).scalars())
        return set(wanted) - fresh

    async def name(self, user_id: str) -> str | None:
        """One person's name, when known."""
        return (await self.names([user_id])).get(user_id)

    async def names(self, user_ids: Iterable[str] | None = None) -> dict[str, str]:
        """User id → name of `user_ids` (None: everyone the workspace knows), those known only."""
        stmt = select(Person.user_id, Person.name).where(Person.team_id == self.team_id)
        if user_ids is not None:
            wanted = sorted({u for u in user_ids if u})
            if not wanted:
                return {}
            stmt = stmt.where(Person.user_id.in_(wanted))
        return {row.user_id: row.name for row in await self.session.execute(stmt)}

    async def zones(self, user_ids: Iterable[str]) -> dict[str, str]:
        """User id → time zone (as users.info gave it) of those of `user_ids` it gave one for."""
        wanted = sorted({u for u in user_ids if u})
        if not wanted:
            return {}
        stmt = select(Person.user_id, Person.tz).where(
            Person.team_id == self.team_id, Person.user_id.in_(wanted), Person.tz.is_not(None)
        )
        return {row.user_id: row.tz for row in await self.session.execute(stmt)}

    async def timeline_after(self, after: int, limit: int) -> list[Named]:
        """Up to `limit` of the workspace's timeline entries after entry id `after`, in id order: only
        those with an author or a mention (`<@`)."""
        e = TimelineEntry
        stmt = (
            select(e.id, e.author_id, e.text)
            .join(Incident, Incident.id == e.incident_id)
            .where(Incident.team_id == self.team_id, e.id > after)
            .where(or_(e.author_id.is_not(None), e.text.contains("<@")))
            .order_by(e.id)
            .limit(limit)
        )
        return [Named(*row) for row in (await self.session.execute(stmt)).all()]
