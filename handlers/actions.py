"""Buttons: Acknowledge and Escalate now on page DMs; resolving the public status page incident."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import logs
from bot.context import BotContext
from handlers.replies import run_reporting
from messages.pages import ACK_ACTION, ESCALATE_ACTION
from messages.statuspage import RESOLVE_ACTION, public_resolved


def _delivery_id(body: dict[str, Any]) -> int | None:
    try:
        return int(body["actions"][0]["value"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def register(app: AsyncApp, ctx: BotContext) -> None:
    """Attach the page-button listeners."""

    async def reply_with(respond: AsyncRespond):  # type: ignore[no-untyped-def]
        async def reply(text: str) -> None:
            await respond(text=text, response_type="ephemeral", replace_original=False)

        return reply

    @app.action(ACK_ACTION)
    async def acknowledge(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        logs.bind(request_id=body.get("trigger_id"))
        delivery = _delivery_id(body)
        if delivery is None:
            return
        work = ctx.escalation.acknowledge(delivery, body["user"]["id"])
        ctx.tasks.spawn(run_reporting(work, await reply_with(respond)), name="acknowledge")

    @app.action(RESOLVE_ACTION)
    async def resolve_public(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        logs.bind(request_id=body.get("trigger_id"))
        incident_id = _delivery_id(body)  # the button carries the incident id
        if incident_id is None:
            return
        user = body["user"]["id"]

        async def work() -> None:
            incident, link = await ctx.statuspage.resolve_public(incident_id, user)
            await respond(replace_original=True, **public_resolved(incident, user, link).kwargs())

        ctx.tasks.spawn(run_reporting(work(), await reply_with(respond)), name="statuspage-resolve")

    @app.action(ESCALATE_ACTION)
    async def escalate(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        delivery = _delivery_id(body)
        if delivery is None:
            return

        async def work() -> str:
            incident = await ctx.escalation.incident_of_delivery(delivery)
            return await ctx.escalation.escalate_now(incident, body["user"]["id"])

        ctx.tasks.spawn(run_reporting(work(), await reply_with(respond)), name="escalate")
