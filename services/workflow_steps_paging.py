"""Workflow steps that reach people outside the channel: `page`, `assign` and `webhook`.

Each goes through the path the bot already has for it: a page is a PAGE job (the usual DM,
acknowledgement and page updates), a role goes through Roles (timeline, topic, the assignee's DM),
a webhook is an outbox row (durable, retried, signed). `STEPS` is read by handlers/workflows.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from config.policy import Policy
from config.workflow_steps import Assign, Page, Step, WebhookStep
from domain.errors import IncidentError
from messages.text import escape
from runtime.jobs import Jobs
from runtime.journal import Steps
from runtime.outbox import Outbox
from runtime.slack_ops import SlackOps
from services.escalation import Escalation
from services.oncall import OnCall
from services.plans import reach
from services.roles import ROLES, Roles
from services.workflows import StepContext, StepFailed, StepFn
from storage.models import Incident
from storage.repositories import IncidentRepo
from storage.schedule import PAGE, PENDING, ScheduleRepo

T = TypeVar("T")


@dataclass
class _Scoped:
    """The run's journal seen by one use case of one step: its step names kept apart from the others'."""

    steps: Steps
    prefix: str

    @property
    def at(self) -> datetime:
        return self.steps.at

    def recorded(self, name: str) -> tuple[bool, Any]:
        return self.steps.recorded(f"{self.prefix}.{name}")

    async def record(self, name: str, value: Any) -> None:
        await self.steps.record(f"{self.prefix}.{name}", value)

    async def db(self, name: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return await self.steps.db(f"{self.prefix}.{name}", work)


async def _open(s: AsyncSession, incident: Incident) -> Incident:
    """The incident as it is now, refused once resolved."""
    now = await IncidentRepo(s, incident.team_id).get(incident.id)
    assert now is not None, "incidents are never deleted"
    if not now.is_open:
        raise StepFailed(f"{now.ref} is already resolved")
    return now


async def page(ctx: StepContext, step: Page, escalation: Escalation, jobs: Jobs) -> str:
    """Page now: a level by name (its pending page brought forward, else one planned), or whoever is on
    call on a schedule (the level paging it within the severity's reach, else the schedule on its own).
    The page job sends the DMs with their Acknowledge button, as for any page."""
    policy = escalation.policy_of(ctx.incident)
    levels = policy.escalation.levels
    named = step.level or step.schedule
    index = next(
        (i for i, lvl in enumerate(levels) if (lvl.name if step.level else lvl.schedule) == named), None
    )
    if index is None and step.level:
        raise StepFailed(f"this incident's escalation has no level {escape(step.level)}")

    async def plan(s: AsyncSession) -> int | None:
        incident = await _open(s, ctx.incident)
        repo = ScheduleRepo(s, incident.team_id)
        within = index is not None and index <= reach(policy, incident.severity)
        if step.schedule and not within:
            await repo.plan(incident.id, PAGE, ctx.steps.at, schedule=step.schedule)
            return None
        assert index is not None
        if not within:
            raise StepFailed(f"{escape(levels[index].name)} is beyond what {incident.severity} pages")
        pending = [j for j in await repo.jobs(incident.id, PAGE) if j.level == index and j.state == PENDING]
        for job in pending:
            job.due_at, job.note = ctx.steps.at, "workflow"
        if not pending:
            await repo.plan(incident.id, PAGE, ctx.steps.at, level=index)
        return index

    paged = await ctx.steps.db(f"do.{ctx.index}.plan", plan)
    await jobs.tick()  # the page goes out now, as escalate-now's does
    if paged is None:
        return f"paged the {escape(step.schedule or '')} on-call"
    return f"paged {escape(levels[paged].titled)}"


async def assign(ctx: StepContext, step: Assign, roles: Roles, oncall: OnCall, slack: SlackOps) -> str:
    """Give the role to the person named, or to whoever is on call on the schedule now (its fallback
    in a gap), as `/incident <role>` would: invited, on the timeline, announced, told by DM."""
    who = step.to
    if step.schedule is not None:
        schedule = step.schedule
        people = await ctx.once("oncall", lambda: _on_call(oncall, schedule))
        if not people:
            raise StepFailed(f"nobody is on call on {escape(schedule)}")
        who = people[0]
    assert who is not None
    by = await slack.bot_user_id()
    try:
        await roles.assign(_Scoped(ctx.steps, f"do.{ctx.index}.assign"), ctx.channel, step.role, who, by)
    except IncidentError as exc:
        raise StepFailed(str(exc).rstrip(".")) from None
    made = f"made <@{who}> {ROLES[step.role].title.lower()}"
    return made + (f" (on call on {escape(step.schedule)})" if step.schedule else "")


async def _on_call(oncall: OnCall, schedule: str) -> list[str]:
    return list(await oncall.now(schedule))


async def webhook(ctx: StepContext, step: WebhookStep, outbox: Outbox, policy: Policy) -> str:
    """Queue the `workflow` event (the incident, the workflow's name) for the named webhook, through the
    outbox like every other event: delivered once, retried, signed."""
    if not any(hook.name == step.name for hook in policy.webhooks):
        raise StepFailed(f"there is no webhook named {escape(step.name)}")
    db = ctx.steps

    async def queue(s: AsyncSession) -> bool:
        incident = await IncidentRepo(s, ctx.incident.team_id).get(ctx.incident.id)
        assert incident is not None, "incidents are never deleted"
        await outbox.record(s, incident, "workflow", {"workflow": ctx.workflow}, to=step.name)
        return True

    await db.db(f"do.{ctx.index}.queued", queue)
    return f"sent the incident to webhook {escape(step.name)}"


STEPS: tuple[tuple[type[Step], StepFn], ...] = ((Page, page), (Assign, assign), (WebhookStep, webhook))
