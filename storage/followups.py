"""The followups table: one workspace's follow-ups, and finding one by its tracker issue."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Followup, Incident

OPEN, DONE = "open", "done"


class FollowupRepo:
    """Follow-ups of one workspace."""

    def __init__(self, session: AsyncSession, team_id: str) -> None:
        self.session, self.team_id = session, team_id

    async def add(
        self, incident_id: int, owner: str, text: str, due_on: date, by: str | None, at: datetime
    ) -> Followup:
        """A new open follow-up; its id is set on return."""
        row = Followup(
            team_id=self.team_id,
            incident_id=incident_id,
            owner_id=owner,
            text=text,
            due_on=due_on,
            state=OPEN,
            created_by=by,
            created_at=at,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, followup_id: int, *, for_update: bool = False) -> Followup | None:
        """One follow-up of this workspace."""
        stmt = select(Followup).where(Followup.id == followup_id, Followup.team_id == self.team_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of_incident(self, incident_id: int) -> list[Followup]:
        """An incident's follow-ups, by due date."""
        stmt = (
            select(Followup)
            .where(Followup.team_id == self.team_id, Followup.incident_id == incident_id)
            .order_by(Followup.due_on, Followup.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def open_of(self, owner: str) -> list[tuple[Followup, Incident]]:
        """A person's open follow-ups across incidents, soonest due (so the overdue) first."""
        stmt = (
            select(Followup, Incident)
            .join(Incident, Incident.id == Followup.incident_id)
            .where(Followup.team_id == self.team_id, Followup.owner_id == owner, Followup.state == OPEN)
            .order_by(Followup.due_on, Followup.id)
        )
        return [(f, i) for f, i in (await self.session.execute(stmt)).all()]

    async def open_count(self, incident_id: int) -> int:
        """How many of an incident's follow-ups are still open."""
        stmt = select(func.count()).where(
            Followup.team_id == self.team_id, Followup.incident_id == incident_id, Followup.state == OPEN
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def set_state(self, followup_id: int, state: str, by: str | None, at: datetime | None) -> bool:
        """Mark done (or open again); False when it already was."""
        stmt = (
            update(Followup)
            .where(Followup.id == followup_id, Followup.team_id == self.team_id, Followup.state != state)
            .values(state=state, done_by=by if state == DONE else None, done_at=at if state == DONE else None)
            .execution_options(synchronize_session=False)
        )
        return bool((await self.session.execute(stmt)).rowcount)

    async def set_tracker(self, followup_id: int, tracker: str, key: str, url: str | None) -> None:
        """Remember the issue the follow-up was filed as (its URL only when it is a safe link)."""
        stmt = (
            update(Followup)
            .where(Followup.id == followup_id, Followup.team_id == self.team_id)
            .values(tracker=tracker, tracker_key=key, tracker_url=url)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(stmt)


async def by_tracker(session: AsyncSession, tracker: str, key: str) -> Followup | None:
    """The follow-up filed as this issue, in whichever workspace (a tracker's webhook names no team)."""
    stmt = select(Followup).where(Followup.tracker == tracker, Followup.tracker_key == key).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()
