"""After resolution: the postmortem deadline and its link, archiving the channel, and reopening."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.durations import format_duration
from domain.errors import IncidentError
from domain.severity import Status
from domain.urls import safe_url
from messages import followups as templates
from messages import incident as incident_templates
from runtime.clock import Clock
from runtime.journal import Outcome, Steps, carry_on
from runtime.outbox import Outbox
from runtime.slack_ops import SlackOps
from services import plans
from services.announcements import Announcements
from services.catalog import ServiceCatalog
from storage.db import Database
from storage.followups import FollowupRepo
from storage.models import Incident
from storage.repositories import IncidentRepo, TimelineRepo
from storage.schedule import ARCHIVE, DONE, POSTMORTEM, SKIPPED, Claim, ScheduleRepo

log = logging.getLogger(__name__)

_URL = re.compile(r"^https?://[^\s<>|]{1,480}$")
RECHECK = timedelta(days=1)  # an archive held back by open follow-ups looks again this much later


class Aftercare:
    """Postmortem deadlines and links, archiving resolved channels, and reopening incidents."""

    def __init__(
        self,
        db: Database,
        slack: SlackOps,
        catalog: ServiceCatalog,
        clock: Clock,
        team_id: str,
        announcements: Announcements,
        outbox: Outbox,
    ) -> None:
        self.db, self.slack, self.clock, self.team_id = db, slack, clock, team_id
        self.announcements, self.outbox = announcements, outbox  # reopened, postmortem_overdue: workflows
        self.catalog, self.policy = catalog, catalog.policy  # the workspace's policy
        self.wake: Callable[[], None] = lambda: None  # set by the runtime: a reopen's pages are due

    async def _incident(self, incident_id: int) -> Incident | None:
        async with self.db.session() as s:
            return await IncidentRepo(s, self.team_id).get(incident_id)

    async def _finish(self, claim: Claim, state: str = DONE, note: str | None = None) -> bool:
        async with self.db.session() as s:
            return await ScheduleRepo(s, self.team_id).finish(claim, self.clock.now(), state, note)

    # the postmortem

    async def postmortem_due(self, claim: Claim) -> None:
        """Remind the commander that the postmortem is due, then again every `remind_every`."""
        incident = await self._incident(claim.incident_id)
        if incident is None or incident.postmortem_url or incident.is_open:
            await self._finish(
                claim, SKIPPED, "written" if incident and incident.postmortem_url else "reopened"
            )
            return
        owner = incident.commander_id or incident.declared_by
        if owner:
            with carry_on(log, "could not remind %s of the postmortem", owner):
                await self.slack.dm(owner, templates.postmortem_reminder(incident, self.clock.now()))
        every = self.policy.postmortem.remind_every
        async with self.db.session() as s:
            # The claim's end and the event commit together: one event per reminder, however retried.
            if not await ScheduleRepo(s, self.team_id).finish(claim, self.clock.now(), DONE, None):
                return
            due = incident.postmortem_due_at.isoformat() if incident.postmortem_due_at else None
            await self.outbox.record(s, incident, "postmortem_overdue", {"due_at": due, "owner": owner})
            if every:
                following = claim.due_at + every
                while following <= self.clock.now():
                    following += every
                await ScheduleRepo(s, self.team_id).plan(incident.id, POSTMORTEM, following)

    async def postmortem_done(self, steps: Steps, channel_id: str, url: str, by: str) -> Outcome:
        """Record where the postmortem is: the channel topic, the channel, the announcement's thread
        and the export show it, and the reminders stop."""
        if not _URL.match(url) or safe_url(url) is None:
            raise IncidentError("Give the postmortem's address: `/incident postmortem done https://…`")

        async def record(s: AsyncSession) -> int:
            incident = await IncidentRepo(s, self.team_id).by_channel(channel_id, for_update=True)
            if incident is None:
                raise IncidentError("`/incident postmortem done` only works in an incident channel.")
            incident.postmortem_url = url
            await ScheduleRepo(s, self.team_id).cancel(incident.id, POSTMORTEM, steps.at, "written")
            await TimelineRepo(s).record(
                incident.id, "postmortem", f"Postmortem: {url}", steps.at, author_id=by
            )
            return incident.id

        incident = await self._incident(await steps.db("record", record))
        assert incident is not None
        out = Outcome(incident, steps)
        message = templates.postmortem_recorded(incident, url, by)
        await out.step("post", lambda: self.slack.post(channel_id, message))
        await out.step(
            "topic", lambda: self.slack.set_topic(channel_id, incident_templates.incident_topic(incident))
        )
        await self.announcements.reply(out, incident, message)
        return out

    # archive

    async def archive_due(self, claim: Claim) -> None:
        """Archive a resolved incident's channel once no follow-up of it is open (else look again later)."""
        incident = await self._incident(claim.incident_id)
        if incident is None or incident.is_open or incident.archived_at or not incident.channel_id:
            await self._finish(claim, SKIPPED, "reopened" if incident and incident.is_open else "gone")
            return
        async with self.db.session() as s:
            still_open = await FollowupRepo(s, self.team_id).open_count(incident.id)
        if still_open:
            if await self._finish(claim, SKIPPED, f"{still_open} follow-ups open"):
                async with self.db.session() as s:
                    await ScheduleRepo(s, self.team_id).plan(incident.id, ARCHIVE, self.clock.now() + RECHECK)
            return
        resolved = incident.resolved_at or self.clock.now()
        after = format_duration(max(self.clock.now() - resolved, timedelta(seconds=1)))
        with carry_on(log, "could not archive %s", incident.channel_id) as lapse:
            await self.slack.post(incident.channel_id, templates.archive_notice(incident, after))
            await self.slack.archive(incident.channel_id)
        if lapse.error is not None:
            await self._finish(claim, SKIPPED, lapse.error.error[:40])
            return
        async with self.db.session() as s:
            if await ScheduleRepo(s, self.team_id).finish(claim, self.clock.now()):
                row = await IncidentRepo(s, self.team_id).get(incident.id)
                if row is not None:
                    row.archived_at = self.clock.now()
                await TimelineRepo(s).record(incident.id, "archived", "Channel archived", self.clock.now())

    # reopen

    async def reopen(self, steps: Steps, channel_id: str, reason: str, by: str) -> Outcome:
        """Back to the status before resolution; escalation planned again from now, reminders resumed,
        the channel brought back if it was archived; recorded and announced."""

        async def record(s: AsyncSession) -> dict[str, object]:
            incident = await IncidentRepo(s, self.team_id).by_channel(channel_id, for_update=True)
            if incident is None:
                raise IncidentError("`/incident reopen` only works in an incident channel.")
            if incident.is_open:
                raise IncidentError(f"{incident.ref} is not resolved.")
            archived = incident.archived_at is not None
            incident.status = incident.status_before_resolve or Status.INVESTIGATING.value
            incident.resolved_at = incident.archived_at = None
            incident.next_update_due = plans.next_update_due(self.policy, incident.severity, steps.at)
            policy = self.catalog.policy_for(incident.service)
            await plans.plan_reopened(ScheduleRepo(s, self.team_id), policy, incident, steps.at)
            await TimelineRepo(s).record(
                incident.id, "reopened", f"Reopened: {reason}", steps.at, author_id=by
            )
            data = {"reason": reason, "by": by, "status": incident.status}
            await self.outbox.record(s, incident, "reopened", data)
            return {"incident": incident.id, "archived": archived}

        done = await steps.db("record", record)
        self.wake()
        incident = await self._incident(int(done["incident"]))  # type: ignore[call-overload]
        assert incident is not None
        out = Outcome(incident, steps)
        if done["archived"]:
            await out.step("unarchive", lambda: self.slack.unarchive(channel_id))
        message = templates.reopened(incident, reason, by)
        await out.step("post", lambda: self.slack.post(channel_id, message))
        await out.step(
            "topic", lambda: self.slack.set_topic(channel_id, incident_templates.incident_topic(incident))
        )
        await self.announcements.reopened(out, incident, reason, by)
        return out
