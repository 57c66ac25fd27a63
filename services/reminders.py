"""Update reminders: when an incident's next update is due, the channel hears who owes it. The reminder
is posted before its row is finished, so a worker dying in between means it is posted again."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from config.escalation import Level
from config.policy import Policy
from messages import pages as templates
from messages.templating import Mrkdwn
from messages.variables import level_vars, mention, reminder_vars
from runtime.clock import Clock
from runtime.jobs import Jobs
from runtime.journal import carry_on
from runtime.slack_ops import SlackOps
from services.wording import Wording
from storage.db import Database
from storage.models import Incident
from storage.repositories import IncidentRepo
from storage.schedule import REMINDER, Claim, ScheduleRepo

log = logging.getLogger(__name__)


class UpdateReminders:
    """Posts the due update reminder (a claimed `reminder` row) and plans the next one."""

    def __init__(
        self,
        db: Database,
        slack: SlackOps,
        policy: Policy,
        clock: Clock,
        jobs: Jobs,
        team_id: str,
        users: Callable[[Level], Awaitable[list[str]]],
        policy_of: Callable[[Incident], Policy],
        words: Wording,
    ) -> None:
        self.db, self.slack, self.policy, self.clock, self.team_id = db, slack, policy, clock, team_id
        self.jobs = jobs
        self.users = users  # who a level pages now (the escalation's answer)
        self.policy_of = policy_of  # an incident's escalation policy: its service's, else the workspace's
        self.words = words

    async def _responsible(self, incident: Incident) -> dict[str, Any]:
        """Who a reminder speaks to (`person`): the commander, else (an alert nobody took yet) the first
        level's people, with that `level`."""
        if incident.commander_id:
            return {"person": mention(incident.commander_id), "level": None}
        levels = self.policy_of(incident).escalation.levels
        if not levels:
            return {"person": None, "level": None}
        level = levels[0]
        people = " ".join(f"<@{u}>" for u in await self.users(level))
        return {"person": Mrkdwn(people) if people else None, "level": level_vars(level.name, level.title)}

    async def remind(self, claim: Claim) -> None:
        """Remind the channel that an update is due; the next reminder follows the cadence."""
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(claim.incident_id)
            last = await IncidentRepo(s, self.team_id).last_update(claim.incident_id) if incident else None
        if incident is None or not incident.is_open:
            await self.jobs.skip(claim, "resolved")
            return
        cadence = self.policy.updates.cadence(incident.severity)
        if cadence is None or (incident.next_update_due and incident.next_update_due > claim.due_at):
            await self.jobs.skip(claim, "update posted")
            return
        next_due = claim.due_at + cadence
        while next_due <= self.clock.now():  # after downtime: one reminder, then the next slot ahead
            next_due += cadence
        said = reminder_vars(cadence, last.posted_at if last else None, next_due, self.clock.now())
        who = await self._responsible(incident)
        head = await self.words.sections("reminder", incident, reminder=said, **who)
        message = templates.reminder(incident, head)
        # Transient: the claim's lease runs out and a later tick posts it.
        with carry_on(log, "could not post the update reminder", incident_id=incident.id):
            await self.slack.post(incident.channel_id or "", message)
        async with self.db.session() as s:
            if not await ScheduleRepo(s, self.team_id).finish(claim, self.clock.now()):
                return
            row = await IncidentRepo(s, self.team_id).get(incident.id)
            if row is not None and row.is_open:
                row.next_update_due = next_due
                await ScheduleRepo(s, self.team_id).plan(incident.id, REMINDER, next_due)
