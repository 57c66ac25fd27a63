"""On-call rows: overrides, calendar copies and resolved e-mails."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CalendarCopy, EmailUser, OncallOverride
from storage.repositories import insert_ignoring_duplicates


class OverrideRepo:
    """The oncall_overrides table."""

    def __init__(self, session: AsyncSession, team_id: str) -> None:
        self.session, self.team_id = session, team_id

    async def add(
        self, schedule: str, user_id: str, start: datetime, end: datetime, by: str | None, now: datetime
    ) -> OncallOverride:
        """A new override; its id is set on return."""
        row = OncallOverride(
            team_id=self.team_id,
            schedule=schedule,
            user_id=user_id,
            start_at=start,
            end_at=end,
            created_by=by,
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, override_id: int) -> OncallOverride | None:
        """One override."""
        stmt = select(OncallOverride).where(
            OncallOverride.id == override_id, OncallOverride.team_id == self.team_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def between(self, schedule: str | None, start: datetime, end: datetime) -> list[OncallOverride]:
        """Live overrides (of one schedule, or all) overlapping [start, end), earliest first."""
        stmt = select(OncallOverride).where(
            OncallOverride.team_id == self.team_id,
            OncallOverride.cancelled_at.is_(None),
            OncallOverride.end_at > start,
            OncallOverride.start_at < end,
        )
        if schedule is not None:
            stmt = stmt.where(OncallOverride.schedule == schedule)
        return list((await self.session.execute(stmt.order_by(OncallOverride.start_at))).scalars())


class CalendarRepo:
    """The last good copy of each fetched calendar."""

    def __init__(self, session: AsyncSession, team_id: str) -> None:
        self.session, self.team_id = session, team_id

    async def get(self, schedule: str) -> CalendarCopy | None:
        """The copy, with when it was fetched and the last error."""
        return await self.session.get(CalendarCopy, (self.team_id, schedule))

    async def save(self, schedule: str, body: str, at: datetime) -> None:
        """Keep a good copy."""
        row = await self.session.get(CalendarCopy, (self.team_id, schedule), with_for_update=True)
        if row is None:
            self.session.add(CalendarCopy(team_id=self.team_id, schedule=schedule, body=body, fetched_at=at))
        else:
            row.body, row.fetched_at, row.last_error = body, at, None

    async def failed(self, schedule: str, error: str, at: datetime) -> None:
        """Note a failed fetch; the last good copy stays."""
        row = await self.session.get(CalendarCopy, (self.team_id, schedule), with_for_update=True)
        if row is None:
            copy = CalendarCopy(
                team_id=self.team_id, schedule=schedule, last_error=error[:300], last_error_at=at
            )
            self.session.add(copy)
        else:
            row.last_error, row.last_error_at = error[:300], at


class EmailRepo:
    """Calendar attendees' e-mails resolved to Slack users."""

    def __init__(self, session: AsyncSession, team_id: str) -> None:
        self.session, self.team_id = session, team_id

    async def known(self, emails: Iterable[str]) -> dict[str, str | None]:
        """The e-mails already looked up (a None user: Slack knows no such member)."""
        wanted = list(emails)
        if not wanted:
            return {}
        stmt = select(EmailUser.email, EmailUser.user_id).where(
            EmailUser.team_id == self.team_id, EmailUser.email.in_(wanted)
        )
        return {email: user for email, user in (await self.session.execute(stmt)).all()}

    async def remember(self, email: str, user_id: str | None, at: datetime) -> None:
        """Keep one lookup's answer."""
        await insert_ignoring_duplicates(
            self.session, EmailUser, team_id=self.team_id, email=email, user_id=user_id, looked_up_at=at
        )
