"""Workflow steps that change the incident, each through the path a person's change takes: `set` (a
field, as `/incident set`) and `severity` (raise only, as `/incident severity`, so pages and reminders
are planned again)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from config.policy import Policy
from config.workflow_steps import Raise, SetField, Step
from domain.fields import FieldValueError, parse
from domain.severity import Severity
from messages.fields import value_mrkdwn
from messages.text import escape
from runtime.journal import Steps
from runtime.slack_ops import SlackOps
from services.fields import Fields
from services.lifecycle import Lifecycle
from services.workflows import StepContext, StepFailed, StepFn

T = TypeVar("T")


class Within:
    """A workflow step's own part of the run's journal, for a use case that names its steps itself
    (`record`, `post`): two such steps in one workflow keep apart."""

    def __init__(self, ctx: StepContext) -> None:
        self._steps: Steps = ctx.steps
        self._prefix = f"do.{ctx.index}."

    @property
    def at(self) -> datetime:
        """When the run was asked for."""
        return self._steps.at

    def recorded(self, name: str) -> tuple[bool, Any]:
        """(True, result) when this step's `name` already ran."""
        return self._steps.recorded(self._prefix + name)

    async def record(self, name: str, value: Any) -> None:
        """Keep this step's `name` result."""
        await self._steps.record(self._prefix + name, value)

    async def db(self, name: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` once, recorded under this step."""
        return await self._steps.db(self._prefix + name, work)


async def set_field(ctx: StepContext, step: SetField, fields: Fields, policy: Policy, slack: SlackOps) -> str:
    """Set a custom field as `/incident set` does (on the timeline, to webhooks, a note in the
    channel); a value it already has is left and said."""
    field = policy.field(step.field)
    if field is None:
        raise StepFailed(f"there is no field `{escape(step.field)}` any more")
    raw = ", ".join(step.value) if isinstance(step.value, list) else str(step.value)
    try:
        value = parse(field.type, field.options, raw)
    except FieldValueError as exc:
        raise StepFailed(f"{escape(field.title)} does not take it: {exc}") from None
    before = await ctx.once("set.before", lambda: _value(fields, ctx.incident.id, field.name))
    if before == value:
        return f"left {escape(field.title)} at {value_mrkdwn(field, value)}"
    by = await slack.bot_user_id()
    await fields.set(Within(ctx), ctx.channel, by, {field.name: value}, batch=True)
    return f"set {escape(field.title)} to {value_mrkdwn(field, value)}"


async def _value(fields: Fields, incident_id: int, name: str) -> Any:
    return (await fields.values(incident_id)).get(name)


async def severity(ctx: StepContext, step: Raise, lifecycle: Lifecycle, slack: SlackOps) -> str:
    """Raise the severity through the usual change (pages and reminders planned again); a severity
    that is not higher than the incident's is left and said."""

    async def current() -> str:
        incident, _ = await lifecycle.overview(ctx.channel)
        return incident.severity

    was = Severity(await ctx.once("severity.was", current))
    if step.to.rank >= was.rank:
        return f"left the severity at {was.value}: a workflow only raises it (not to {step.to.value})"
    by = await slack.bot_user_id()
    await lifecycle.change_severity(Within(ctx), ctx.channel, step.to, by)
    return f"raised the severity from {was.value} to {step.to.value}"


STEPS: tuple[tuple[type[Step], StepFn], ...] = ((SetField, set_field), (Raise, severity))
