"""The timed workflow step, `remind`: a scheduled job (WORKFLOW_REMIND) due `after` the run, posting
its text in the incident channel unless the incident is resolved first (resolve cancels it).

The text is kept in a timeline entry planned with the job (the job's `level` names it), so it
survives restarts and shows on the timeline what is to come. `STEPS` is read by handlers/workflows.py.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from config.workflow_steps import Remind, Step
from messages.blocks import Message, context, section, truncate
from messages.text import escape, unentities
from messages.workflows import quoted
from runtime.clock import Clock
from runtime.jobs import Jobs
from runtime.slack_ops import SlackOps
from services.wording import Wording
from services.workflow_steps import _words
from services.workflows import StepContext, StepFailed, StepFn
from storage.db import Database
from storage.repositories import IncidentRepo, TimelineRepo
from storage.schedule import WORKFLOW_REMIND, Claim, ScheduleRepo

log = logging.getLogger(__name__)

KIND = "reminder"  # the timeline entry holding a reminder's words (people's text: escaped when shown)


def _after(delta: timedelta) -> str:
    """`30m`, `2h`, `1h 30m`, `45s`: how long, as the policy writes it."""
    seconds = int(delta.total_seconds())
    parts = [(seconds // 86400, "d"), (seconds % 86400 // 3600, "h"), (seconds % 3600 // 60, "m")]
    said = " ".join(f"{n}{unit}" for n, unit in parts if n)
    return said or f"{seconds}s"


async def remind(ctx: StepContext, step: Remind, words: Wording) -> str:
    """Plan the reminder `after` the run (the time it was set off), with its words (rendered for the
    incident now, as a `post` step's are) on the timeline."""
    due = ctx.steps.at + step.after
    # Kept as words, not mrkdwn: escaped once more when posted and when shown, so they stay inert.
    text = await ctx.once("remind.text", lambda: _rendered(ctx, words, step.text))

    async def plan(s: AsyncSession) -> int:
        incident = await IncidentRepo(s, ctx.incident.team_id).get(ctx.incident.id)
        assert incident is not None, "incidents are never deleted"
        if not incident.is_open:
            raise StepFailed(f"{incident.ref} is already resolved")
        head = f"Workflow {ctx.workflow} will remind at {due:%Y-%m-%d %H:%M} UTC:"
        entry = await TimelineRepo(s).record(incident.id, KIND, f"{head}\n{text}", ctx.steps.at)
        await ScheduleRepo(s, incident.team_id).plan(incident.id, WORKFLOW_REMIND, due, level=entry.id)
        return entry.id

    await ctx.steps.db(f"do.{ctx.index}.plan", plan)
    return f"will remind in {_after(step.after)}: {quoted(text)}"


async def _rendered(ctx: StepContext, words: Wording, text: str) -> str:
    return unentities("\n".join(await _words(ctx, words, text, None)))


def reminder(workflow: str, text: str) -> Message:
    """A workflow's reminder in the channel: its words (inert) and which workflow set it."""
    said = f":alarm_clock: {escape(truncate(text, 2900))}"
    return Message(text=said, blocks=[section(said), context(f":gear: Workflow *{escape(workflow)}*")])


class WorkflowReminders:
    """The WORKFLOW_REMIND job: post the reminder's words when due, if the incident is still open."""

    def __init__(self, db: Database, slack: SlackOps, clock: Clock, jobs: Jobs, team_id: str) -> None:
        self.db, self.slack, self.clock, self.jobs, self.team_id = db, slack, clock, jobs, team_id

    async def due(self, claim: Claim) -> None:
        """Post once (at least once across a crash between the post and the finish), then close the job."""
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(claim.incident_id)
            entry = await TimelineRepo(s).one(claim.incident_id, claim.level or 0)
        words = entry.text if entry is not None else None
        if incident is None or not incident.is_open:
            await self.jobs.skip(claim, "resolved")
            return
        if words is None or "\n" not in words:
            log.error("workflow reminder %s lost its words", claim.job_id, extra={"incident_id": incident.id})
            await self.jobs.skip(claim, "no words")
            return
        head, text = words.split("\n", 1)
        workflow = head.removeprefix("Workflow ").split(" will remind", 1)[0]
        async with self.db.session() as s:
            if not await ScheduleRepo(s, self.team_id).holds(claim):
                return  # another worker holds it now
        await self.slack.post(incident.channel_id or "", reminder(workflow, text))
        await self.jobs.finish(claim)


STEPS: tuple[tuple[type[Step], StepFn], ...] = ((Remind, remind),)
