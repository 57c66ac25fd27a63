"""Page DMs that follow their incident: once someone acknowledges, or the incident is resolved, every
page DM of it is edited (who and when, or resolved and when; the buttons go).

The edit pass is a scheduled job (`page_update`) planned in the transaction of the change it shows, so
it is never lost, and run after that change committed. A page DM sent meanwhile by a page job that had
read the incident before the change (on another replica) is caught by that job: once the DM is
recorded it reads the state again and plans another pass if it differs from what it rendered. Of the
pass reading the DMs and the page job reading the state, one must see the other's write: none is
missed. A pass Slack fails transiently is tried again with backoff (DMs it already edited are edited
again, to the same content); a pass whose state moved on while it ran (two passes racing on two
replicas) runs again, so the last edit of each DM shows the newest state.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from config.escalation import ACK_TIMEOUT
from config.policy import Policy
from messages import pages as templates
from messages.pages import PageStatus
from messages.variables import page_vars
from runtime.clock import Clock
from runtime.retry import is_transient, retry_delay
from runtime.slack_ops import SlackOpError, SlackOps
from services.catalog import ServiceCatalog
from services.plans import paged_level
from services.wording import Wording
from storage.db import Database
from storage.models import Incident, PageDelivery
from storage.repositories import IncidentRepo
from storage.schedule import DONE, PAGE, PAGE_UPDATE, PENDING, SKIPPED, Claim, DeliveryRepo, ScheduleRepo

log = logging.getLogger(__name__)

ROUNDS = 3  # passes in one run while the state keeps moving; each later change plans its own pass

Upcoming = list[tuple[str, str, datetime]]


class PageUpdates:
    """What became of an incident's pages, and the `page_update` job that shows it in every page DM."""

    def __init__(
        self,
        db: Database,
        slack: SlackOps,
        policy: Policy,
        catalog: ServiceCatalog,
        clock: Clock,
        team_id: str,
        words: Wording,
    ) -> None:
        self.db, self.slack, self.clock, self.team_id = db, slack, clock, team_id
        self.delivery, self.catalog, self.words = policy.delivery, catalog, words
        self._failing: dict[int, tuple[datetime, int]] = {}  # job id → (first failure, attempts)

    async def plan(self, s: AsyncSession, incident_id: int, at: datetime) -> None:
        """Plan a pass over the incident's page DMs, in the caller's transaction (the change it shows)."""
        await ScheduleRepo(s, self.team_id).plan(incident_id, PAGE_UPDATE, at)

    async def since(self, s: AsyncSession, incident: Incident) -> datetime:
        """When the incident's current life began: its declaration, or its last reopen."""
        return await DeliveryRepo(s).reopened_at(incident.id) or incident.declared_at

    async def status(self, s: AsyncSession, incident: Incident, since: datetime) -> PageStatus:
        """Who acknowledged its pages since `since`, and whether it is resolved."""
        policy = self.catalog.policy_for(incident.service)
        acks = await DeliveryRepo(s).acknowledged(incident.id, since)
        return PageStatus(
            acks=tuple(
                (d.acknowledged_by or "", paged_level(policy, d.level, d.schedule).name, d.acknowledged_at)
                for d in acks
                if d.acknowledged_at is not None
            ),
            resolved_at=None if incident.is_open else incident.resolved_at,
        )

    async def upcoming(
        self, s: AsyncSession, incident: Incident, level: int | None, acknowledged: bool
    ) -> Upcoming:
        """The levels after `level` (None: a schedule's page, off the levels) still planned and not due
        yet, when they fall due (counted from the declaration or the reopen that planned them); a level
        waiting on an acknowledgement that came is left out."""
        after = -1 if level is None else level
        levels, now = self.catalog.policy_for(incident.service).escalation.levels, self.clock.now()
        found: dict[int, datetime] = {}
        for job in await ScheduleRepo(s, self.team_id).jobs(incident.id, PAGE):
            index = job.level
            if job.state != PENDING or index is None or not after < index < len(levels) or job.due_at <= now:
                continue
            if acknowledged and levels[index].after == ACK_TIMEOUT:
                continue
            found[index] = min(found.get(index, job.due_at), job.due_at)
        return sorted(
            ((levels[i].name, levels[i].title, due) for i, due in found.items()), key=lambda x: x[2]
        )

    async def recheck(self, claim: Claim, rendered: PageStatus | None) -> None:
        """After a page job recorded its DMs: plan a pass when the incident was acknowledged or resolved
        since they were rendered (`rendered` None: an earlier attempt sent some, from a state unknown)."""
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(claim.incident_id)
            if incident is None:
                return
            status = await self.status(s, incident, await self.since(s, incident))
            if not status.settled or status == rendered:
                return
            if await DeliveryRepo(s).sent_for_job(claim.job_id):
                await self.plan(s, incident.id, self.clock.now())

    async def run(self, claim: Claim) -> None:
        """The `page_update` job: edit every page DM of the incident's current life to its state."""
        for _ in range(ROUNDS):
            async with self.db.session() as s:
                incident = await IncidentRepo(s, self.team_id).get(claim.incident_id)
                if incident is None:
                    break
                since = await self.since(s, incident)
                status = await self.status(s, incident, since)
                dms = await DeliveryRepo(s).delivered(incident.id, since)
                follows = {
                    _after(d): await self.upcoming(s, incident, _after(d), bool(status.acks)) for d in dms
                }
            if not status.settled:
                break  # reopened since: its pages are new ones, with their buttons
            if not await self._edit(claim, incident, status, dms, follows):
                return  # retried later, or another worker holds the job now
            async with self.db.session() as s:
                now = await IncidentRepo(s, self.team_id).get(claim.incident_id)
                if now is None or await self.status(s, now, await self.since(s, now)) == status:
                    break
        self._failing.pop(claim.job_id, None)
        async with self.db.session() as s:
            await ScheduleRepo(s, self.team_id).finish(claim, self.clock.now(), DONE)

    async def _edit(
        self,
        claim: Claim,
        incident: Incident,
        status: PageStatus,
        dms: list[PageDelivery],
        follows: dict[int, Upcoming],
    ) -> bool:
        """Edit each DM; False when the job was handed back for a retry or lost to another worker."""
        policy = self.catalog.policy_for(incident.service)
        for dm in dms:
            async with self.db.session() as s:
                if not await ScheduleRepo(s, self.team_id).holds(claim):
                    log.warning("job %s was re-claimed by another worker; stopping", claim.job_id)
                    return False
            # Worded as the page was (the same template, level and person), the outcome beneath.
            level = paged_level(policy, dm.level, dm.schedule)
            head = await self.words.sections(
                "page", incident, **page_vars(level.name, level.title, dm.user_id)
            )
            message = templates.page_updated(
                incident, head, status, follows.get(_after(dm), []), self.clock.now()
            )
            try:
                await self.slack.update(dm.dm_channel or "", dm.dm_ts or "", message)
            except Exception as exc:
                if not is_transient(exc):
                    if not isinstance(exc, SlackOpError):
                        raise
                    # The person deleted the DM, or it is otherwise beyond editing: the others still are.
                    log.warning("could not update the page DM to %s: %s", dm.user_id, exc.error)
                    continue
                await self._retry(claim, incident, exc)
                return False
        return True

    async def _retry(self, claim: Claim, incident: Incident, exc: Exception) -> None:
        """Hand the job back with backoff; give up (loudly in the log) after `inbound_give_up`."""
        now = self.clock.now()
        first, attempts = self._failing.get(claim.job_id, (now, 0))
        self._failing[claim.job_id] = (first, attempts + 1)
        async with self.db.session() as s:
            schedule = ScheduleRepo(s, self.team_id)
            if now - first >= self.delivery.inbound_give_up:
                log.error("gave up updating the page DMs of %s: %s", incident.ref, exc)
                self._failing.pop(claim.job_id, None)
                await schedule.finish(claim, now, SKIPPED, "gave up")
                return
            log.warning("could not update the page DMs of %s (will retry): %s", incident.ref, exc)
            await schedule.retry(claim, now + retry_delay(self.delivery, attempts + 1, exc))


def _after(dm: PageDelivery) -> int | None:
    """The level a DM's "still to come" counts from: its own, or none for a schedule's page."""
    return None if dm.schedule else dm.level
