"""Follow-ups: actions an incident leaves behind, each with an owner and a due date, reminded on the
due date and weekly while overdue, optionally filed as tracker issues (through the outbox)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from config.policy import Policy
from domain.errors import IncidentError
from messages import followups as templates
from runtime.clock import Clock
from runtime.journal import Outcome, Steps, carry_on
from runtime.outbox import Outbox
from runtime.slack_ops import SlackOps
from storage.db import Database
from storage.followups import DONE, OPEN, FollowupRepo
from storage.models import Followup, Incident
from storage.repositories import IncidentRepo, TimelineRepo
from storage.schedule import FOLLOWUP, SKIPPED, Claim, ScheduleRepo

log = logging.getLogger(__name__)

REMIND_AT = time(9, 0)  # UTC, on the due date
OVERDUE_EVERY = timedelta(days=7)


def reminder_at(due_on: date, now: datetime) -> datetime:
    """When the owner hears of a follow-up: 09:00 UTC on its due date (at once when that is past)."""
    return max(datetime.combine(due_on, REMIND_AT, UTC), now)


class Followups:
    """Adds, lists, completes and reminds of one workspace's follow-ups."""

    def __init__(
        self, db: Database, slack: SlackOps, policy: Policy, clock: Clock, outbox: Outbox, team_id: str
    ) -> None:
        self.db, self.slack, self.policy, self.clock = db, slack, policy, clock
        self.outbox, self.team_id = outbox, team_id

    async def add(
        self, steps: Steps, channel_id: str, by: str, owner: str, due_on: date, text: str
    ) -> Outcome:
        """Record the follow-up (and its reminder, and its tracker issues), then post it in the channel."""

        async def record(s: AsyncSession) -> int:
            incident = await IncidentRepo(s, self.team_id).by_channel(channel_id)
            if incident is None:
                raise IncidentError("`/incident followup` only works in an incident channel.")
            f = await FollowupRepo(s, self.team_id).add(incident.id, owner, text, due_on, by, steps.at)
            await ScheduleRepo(s, self.team_id).plan(
                incident.id, FOLLOWUP, reminder_at(due_on, steps.at), followup_id=f.id
            )
            await TimelineRepo(s).record(
                incident.id,
                "followup",
                f"Follow-up for <@{owner}>, due {due_on.isoformat()}: {text}",
                steps.at,
                author_id=by,
            )
            await self.outbox.file_followup(s, incident, f)
            return f.id

        followup_id = await steps.db("record", record)
        f, incident = await self._load(followup_id)
        out = Outcome(incident, steps)
        ts = await out.step("post", lambda: self.slack.post(channel_id, self._message(f, incident)))
        if ts:
            await steps.db("message", lambda s: self._set_message(s, followup_id, ts))
        return out

    async def _set_message(self, s: AsyncSession, followup_id: int, ts: str) -> None:
        row = await FollowupRepo(s, self.team_id).get(followup_id)
        if row is not None:
            row.message_ts = ts

    async def _load(self, followup_id: int) -> tuple[Followup, Incident]:
        async with self.db.session() as s:
            f = await FollowupRepo(s, self.team_id).get(followup_id)
            incident = await IncidentRepo(s, self.team_id).get(f.incident_id) if f else None
        if f is None or incident is None:
            raise IncidentError("That follow-up no longer exists.")
        return f, incident

    async def channel_of(self, followup_id: int) -> str | None:
        """The incident channel of a follow-up (None when it no longer exists)."""
        try:
            return (await self._load(followup_id))[1].channel_id
        except IncidentError:
            return None

    def _message(self, f: Followup, incident: Incident) -> templates.Message:
        return templates.followup(f, incident, self.clock.now().date())

    async def of_channel(self, channel_id: str) -> list[tuple[Followup, Incident]]:
        """The follow-ups of this channel's incident."""
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).by_channel(channel_id)
            if incident is None:
                raise IncidentError("`/incident followups` lists an incident's follow-ups in its channel.")
            return [(f, incident) for f in await FollowupRepo(s, self.team_id).of_incident(incident.id)]

    async def mine(self, user: str) -> list[tuple[Followup, Incident]]:
        """A person's open follow-ups across incidents, overdue first."""
        async with self.db.session() as s:
            return await FollowupRepo(s, self.team_id).open_of(user)

    async def of_incident(self, incident_id: int) -> list[Followup]:
        """An incident's follow-ups (for the postmortem and export)."""
        async with self.db.session() as s:
            return await FollowupRepo(s, self.team_id).of_incident(incident_id)

    async def may_change(self, followup_id: int, user: str) -> Followup:
        """The follow-up, when `user` is its owner or the incident's commander; else a refusal."""
        f, incident = await self._load(followup_id)
        if user not in (f.owner_id, incident.commander_id):
            raise IncidentError(
                f"Only <@{f.owner_id}> (its owner) or the commander of {incident.ref} can change this "
                "follow-up."
            )
        return f

    async def set_done(self, steps: Steps, followup_id: int, done: bool, by: str) -> bool:
        """Mark done (or open again): the reminder stops (or is planned again), the message shows it;
        False when it already was."""

        async def record(s: AsyncSession) -> bool:
            repo = FollowupRepo(s, self.team_id)
            f = await repo.get(followup_id, for_update=True)
            if f is None or not await repo.set_state(followup_id, DONE if done else OPEN, by, steps.at):
                return False
            schedule = ScheduleRepo(s, self.team_id)
            await schedule.cancel_followup(followup_id, steps.at, "done" if done else "reopened")
            if not done:
                await schedule.plan(
                    f.incident_id, FOLLOWUP, reminder_at(f.due_on, steps.at), followup_id=f.id
                )
            verb = "done" if done else "open again"
            await TimelineRepo(s).record(f.incident_id, "followup", f"Follow-up {verb}: {f.text}", steps.at)
            return True

        changed = await steps.db("record", record)
        if changed:
            await self._refresh(steps, followup_id)
        return bool(changed)

    async def change_due(self, steps: Steps, followup_id: int, due_on: date) -> None:
        """Move the due date; the reminder moves with it."""

        async def record(s: AsyncSession) -> None:
            f = await FollowupRepo(s, self.team_id).get(followup_id, for_update=True)
            if f is None:
                raise IncidentError("That follow-up no longer exists.")
            f.due_on = due_on
            schedule = ScheduleRepo(s, self.team_id)
            await schedule.cancel_followup(followup_id, steps.at, "due date changed")
            if f.is_open:
                await schedule.plan(f.incident_id, FOLLOWUP, reminder_at(due_on, steps.at), followup_id=f.id)

        await steps.db("record", record)
        await self._refresh(steps, followup_id)

    async def _refresh(self, steps: Steps, followup_id: int) -> None:
        """Show the follow-up's new state on its message (a failure there only loses the echo)."""
        f, incident = await self._load(followup_id)
        if not f.message_ts or not incident.channel_id:
            return
        out = Outcome(incident, steps)
        ts, channel = f.message_ts, incident.channel_id
        await out.step("refresh", lambda: self.slack.update(channel, ts, self._message(f, incident)))

    async def filed(self, followup_id: int, tracker: str, key: str, url: str | None) -> None:
        """A tracker issue was created for the follow-up: remember it and show its link."""
        async with self.db.session() as s:
            await FollowupRepo(s, self.team_id).set_tracker(followup_id, tracker, key, url)
        f, incident = await self._load(followup_id)
        if f.message_ts and incident.channel_id:
            await self.slack.update(incident.channel_id, f.message_ts, self._message(f, incident))

    async def remind(self, claim: Claim) -> None:
        """The owner's DM on the due date, then weekly while the follow-up stays open."""
        now = self.clock.now()
        async with self.db.session() as s:
            f = await FollowupRepo(s, self.team_id).get(claim.followup_id or 0)
            incident = await IncidentRepo(s, self.team_id).get(f.incident_id) if f else None
        if f is None or incident is None or not f.is_open:
            async with self.db.session() as s:
                await ScheduleRepo(s, self.team_id).finish(claim, now, SKIPPED, "done")
            return
        # Transient: the lease runs out and a later tick sends it.
        with carry_on(log, "could not remind %s of follow-up %s", f.owner_id, f.id):
            await self.slack.dm(f.owner_id, templates.reminder(f, incident, now.date()))
        async with self.db.session() as s:
            schedule = ScheduleRepo(s, self.team_id)
            if await schedule.finish(claim, now):
                # With the claim's end: one event per reminder sent (its due date, then weekly).
                data = {"followup": f.id, "text": f.text, "owner": f.owner_id, "due_on": f.due_on.isoformat()}
                await self.outbox.record(s, incident, "followup_overdue", data)
                following = claim.due_at + OVERDUE_EVERY
                while following <= now:  # after downtime: one reminder, then the next week ahead
                    following += OVERDUE_EVERY
                await schedule.plan(f.incident_id, FOLLOWUP, following, followup_id=f.id)
