"""Planned pages and reminders: plan, claim with a fencing token, finish, cancel; page deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import claims
from storage.claims import CLAIMED, PENDING
from storage.models import Incident, PageDelivery, ScheduledJob, TimelineEntry
from storage.repositories import insert_ignoring_duplicates

DONE, CANCELLED, SKIPPED = "done", "cancelled", "skipped"
PAGE, REMINDER = "page", "reminder"
# After the incident: a follow-up's due-date DM, the postmortem deadline, archiving the channel.
FOLLOWUP, POSTMORTEM, ARCHIVE = "followup", "postmortem", "archive"
# Bringing an incident's page DMs up to date after an acknowledgement or the resolution.
PAGE_UPDATE = "page_update"
# A workflow's `remind` step: its `level` holds the id of the timeline entry saying what it will post.
WORKFLOW_REMIND = "workflow_remind"


@dataclass(frozen=True)
class Claim:
    """A due job this worker now holds; `fence` must still match when it finishes."""

    job_id: int
    fence: int
    incident_id: int
    kind: str
    level: int | None
    due_at: datetime
    followup_id: int | None = None
    schedule: str | None = None  # a page of this schedule's on-call rather than of a level


class ScheduleRepo:
    """The scheduled_jobs table, one workspace's rows."""

    def __init__(self, session: AsyncSession, team_id: str) -> None:
        self.session, self.team_id = session, team_id

    async def plan(
        self,
        incident_id: int,
        kind: str,
        due_at: datetime,
        level: int | None = None,
        followup_id: int | None = None,
        schedule: str | None = None,
    ) -> None:
        """Add a pending job."""
        self.session.add(
            ScheduledJob(
                team_id=self.team_id,
                incident_id=incident_id,
                kind=kind,
                level=level,
                followup_id=followup_id,
                schedule=schedule,
                due_at=due_at,
                state=PENDING,
                fence=0,
            )
        )
        await self.session.flush()

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int = 100) -> list[Claim]:
        """Claim due jobs (and jobs whose claimer's lease ran out), bumping each fence."""
        j = ScheduledJob
        returning = (j.id, j.fence, j.incident_id, j.kind, j.level, j.due_at, j.followup_id, j.schedule)
        rows = (
            await self.session.execute(claims.claim_due(j, self.team_id, now, lease_until, limit, returning))
        ).all()
        return sorted((Claim(*row) for row in rows), key=lambda c: (c.due_at, c.job_id))

    async def holds(self, claim: Claim) -> bool:
        """Whether the claim is still current (locks the row on PostgreSQL until commit)."""
        stmt = (
            select(ScheduledJob.fence, ScheduledJob.state)
            .where(ScheduledJob.id == claim.job_id)
            .with_for_update()
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return row is not None and row.fence == claim.fence and row.state == CLAIMED

    async def finish(self, claim: Claim, at: datetime, state: str = DONE, note: str | None = None) -> bool:
        """Close a claimed job; False (a no-op) when the fence moved on."""
        stmt = claims.finish(ScheduledJob, claim.job_id, claim.fence, at, state, note)
        return bool((await self.session.execute(stmt)).rowcount)

    async def retry(self, claim: Claim, due_at: datetime) -> bool:
        """Hand a claimed job back to run again at `due_at`; False when the fence moved on."""
        stmt = (
            update(ScheduledJob)
            .where(
                ScheduledJob.id == claim.job_id,
                ScheduledJob.fence == claim.fence,
                ScheduledJob.state == CLAIMED,
            )
            .values(state=PENDING, due_at=due_at, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        return bool((await self.session.execute(stmt)).rowcount)

    async def cancel(
        self, incident_id: int, kind: str, at: datetime, note: str, levels: list[int] | None = None
    ) -> int:
        """Cancel pending jobs of an incident (optionally only some levels)."""
        stmt = update(ScheduledJob).where(
            ScheduledJob.incident_id == incident_id, ScheduledJob.kind == kind, ScheduledJob.state == PENDING
        )
        if levels is not None:
            stmt = stmt.where(ScheduledJob.level.in_(levels))
        stmt = stmt.values(state=CANCELLED, done_at=at, note=note).execution_options(
            synchronize_session=False
        )
        return (await self.session.execute(stmt)).rowcount or 0

    async def cancel_followup(self, followup_id: int, at: datetime, note: str) -> int:
        """Cancel a follow-up's pending reminder."""
        stmt = (
            update(ScheduledJob)
            .where(ScheduledJob.followup_id == followup_id, ScheduledJob.state == PENDING)
            .values(state=CANCELLED, done_at=at, note=note)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(stmt)).rowcount or 0

    async def jobs(self, incident_id: int, kind: str) -> list[ScheduledJob]:
        """Every job of a kind for an incident, oldest due first."""
        stmt = (
            select(ScheduledJob)
            .where(ScheduledJob.incident_id == incident_id, ScheduledJob.kind == kind)
            .order_by(ScheduledJob.due_at, ScheduledJob.id)
        )
        return list((await self.session.execute(stmt)).scalars())


class DeliveryRepo:
    """Who was paged for which job, and their acknowledgements."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def reserve(self, claim: Claim, user_id: str) -> PageDelivery | None:
        """The delivery row for one person, created if new; None when they were already paged."""
        await insert_ignoring_duplicates(
            self.session,
            PageDelivery,
            job_id=claim.job_id,
            incident_id=claim.incident_id,
            level=claim.level or 0,
            schedule=claim.schedule,
            user_id=user_id,
        )
        stmt = select(PageDelivery).where(
            PageDelivery.job_id == claim.job_id, PageDelivery.user_id == user_id
        )
        row = (await self.session.execute(stmt)).scalar_one()
        return None if row.sent_at is not None or row.given_up_at is not None else row

    async def sent_for_job(self, job_id: int) -> list[str]:
        """Who a job's DMs reached, in the order they were reserved."""
        stmt = (
            select(PageDelivery.user_id)
            .where(PageDelivery.job_id == job_id, PageDelivery.sent_at.is_not(None))
            .order_by(PageDelivery.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def was_paged(self, incident_id: int, user_id: str) -> bool:
        """Whether a page for this incident reached this person."""
        stmt = select(PageDelivery.id).where(
            PageDelivery.incident_id == incident_id,
            PageDelivery.user_id == user_id,
            PageDelivery.sent_at.is_not(None),
        )
        return (await self.session.execute(stmt.limit(1))).first() is not None

    async def sent_since(self, team_id: str, since: datetime) -> list[tuple[str, datetime]]:
        """(person, when) of every page DM of a workspace sent since `since`."""
        stmt = (
            select(PageDelivery.user_id, PageDelivery.sent_at)
            .join(Incident, Incident.id == PageDelivery.incident_id)
            .where(
                Incident.team_id == team_id, PageDelivery.sent_at.is_not(None), PageDelivery.sent_at >= since
            )
            .order_by(PageDelivery.sent_at)
        )
        return [(user, at) for user, at in (await self.session.execute(stmt)).all()]

    async def get(self, team_id: str, delivery_id: int) -> PageDelivery | None:
        """One delivery of a workspace's incident (a page button names it by id)."""
        stmt = (
            select(PageDelivery)
            .join(Incident, Incident.id == PageDelivery.incident_id)
            .where(PageDelivery.id == delivery_id, Incident.team_id == team_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def for_incident(self, incident_id: int) -> list[PageDelivery]:
        """Every page sent for an incident."""
        stmt = select(PageDelivery).where(PageDelivery.incident_id == incident_id).order_by(PageDelivery.id)
        return list((await self.session.execute(stmt)).scalars())

    async def delivered(self, incident_id: int, since: datetime) -> list[PageDelivery]:
        """The page DMs of an incident sent since `since` that Slack gave a ts (so can be edited)."""
        stmt = (
            select(PageDelivery)
            .where(
                PageDelivery.incident_id == incident_id,
                PageDelivery.sent_at >= since,
                PageDelivery.dm_channel.is_not(None),
                PageDelivery.dm_ts.is_not(None),
            )
            .order_by(PageDelivery.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def acknowledged(self, incident_id: int, since: datetime) -> list[PageDelivery]:
        """An incident's pages acknowledged since `since`, first acknowledged first."""
        stmt = (
            select(PageDelivery)
            .where(PageDelivery.incident_id == incident_id, PageDelivery.acknowledged_at >= since)
            .order_by(PageDelivery.acknowledged_at, PageDelivery.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def reopened_at(self, incident_id: int) -> datetime | None:
        """When the incident was last reopened: pages and acknowledgements before it are of its past."""
        stmt = select(func.max(TimelineEntry.at)).where(
            TimelineEntry.incident_id == incident_id, TimelineEntry.kind == "reopened"
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
