"""Buttons: Acknowledge and Escalate now on page DMs; resolving the public status page incident.

Each click is stored in the inbox (keyed by its trigger_id) and ordered with its incident's channel,
so an acknowledgement never overtakes the requests acknowledged before it.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from domain.errors import IncidentError
from handlers.ops import allowed, answer, answered, clicked_number, op, store_click
from handlers.workspace import workspace
from messages.help import error
from messages.pages import ACK_ACTION, ESCALATE_ACTION
from messages.statuspage import RESOLVE_ACTION, public_resolved
from runtime.inbox_worker import Job
from services.workspace import WorkspaceServices


def register(app: AsyncApp) -> None:
    """Attach the page-button listeners."""

    async def keep(
        ctx: WorkspaceServices, body: dict[str, Any], name: str, number: int, channel: str | None
    ) -> None:
        key = f"ch:{channel}" if channel else f"{name}:{number}"
        await store_click(ctx, body, name, channel, {"number": number}, key)

    @app.action(ACK_ACTION)
    async def acknowledge(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        ctx, delivery = workspace(context), clicked_number(body)
        if delivery is not None:
            await keep(ctx, body, "acknowledge", delivery, await _page_channel(ctx, delivery))
        await ack()

    @app.action(ESCALATE_ACTION)
    async def escalate(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        ctx, delivery = workspace(context), clicked_number(body)
        if delivery is not None:
            await keep(ctx, body, "escalate_page", delivery, await _page_channel(ctx, delivery))
        await ack()

    @app.action(RESOLVE_ACTION)
    async def resolve_public(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        ctx, incident_id = workspace(context), clicked_number(body)  # the button carries the incident id
        if incident_id is not None:
            await keep(
                ctx, body, "statuspage_resolve", incident_id, await ctx.lifecycle.channel_of(incident_id)
            )
        await ack()


async def _page_channel(ctx: WorkspaceServices, delivery: int) -> str | None:
    try:
        return (await ctx.escalation.incident_of_delivery(delivery)).channel_id
    except IncidentError:
        return None


@answered("acknowledge")
async def run_acknowledge(ctx: WorkspaceServices, job: Job) -> str | None:
    return await ctx.escalation.acknowledge(job.steps, job.data["number"], job.data["user"])


@answered("escalate_page")
async def run_escalate_page(ctx: WorkspaceServices, job: Job) -> str:
    incident = await ctx.escalation.incident_of_delivery(job.data["number"])
    await allowed(ctx, job, "escalate")
    return await ctx.escalation.escalate_now(job.steps, incident, job.data["user"])


@op("statuspage_resolve")
async def run_statuspage_resolve(ctx: WorkspaceServices, job: Job) -> None:
    """Idempotent by itself: a public incident already resolved is not resolved again."""
    user = job.data["user"]
    try:
        await allowed(ctx, job, "statuspage")
        incident, link = await ctx.statuspage.resolve_public(job.data["number"], user)
    except IncidentError as exc:
        await answer(ctx, job, error(str(exc)))
        return
    await answer(ctx, job, public_resolved(incident, user, link), replace=True)
