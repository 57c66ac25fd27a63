"""Buttons: Acknowledge and Escalate now on page DMs.

Each click is stored in the inbox (keyed by its trigger_id) and ordered with its incident's channel,
so an acknowledgement never overtakes the requests acknowledged before it.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from domain.errors import IncidentError
from handlers.ops import allowed, answered, clicked_number, store_click
from handlers.workspace import workspace
from messages.pages import ACK_ACTION, ESCALATE_ACTION
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
