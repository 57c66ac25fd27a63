"""Events API listeners: messages and reactions in incident channels feed the timeline.

Each listener returns at once (Bolt then answers Slack) after queueing the work on ctx.events, which
applies it in order; the core deduplicates by event id, so Slack's retries never double an entry.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot import logs
from bot.context import BotContext
from bot.timeline import PostedMessage

log = logging.getLogger(__name__)

# Message subtypes written by people; the rest (joins, topic changes, bot posts) are not transcript.
HUMAN_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}


def _event_id(body: dict[str, Any]) -> str | None:
    return body.get("event_id")


def _from_bot(message: dict[str, Any], bolt: AsyncBoltContext) -> bool:
    return bool(message.get("bot_id")) or message.get("user") in (None, bolt.bot_user_id)


def register(app: AsyncApp, ctx: BotContext) -> None:
    """Attach message and reaction listeners."""

    @app.event("message")
    async def on_message(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        logs.bind(event_id=body.get("event_id"))  # on every log line of this event's work
        subtype = event.get("subtype")
        channel = event.get("channel")
        if not channel:
            return
        if subtype == "message_changed":
            message = event.get("message") or {}
            if _from_bot(message, context) or not message.get("ts"):
                return
            event_id, ts, text = _event_id(body), message["ts"], message.get("text") or ""
            ctx.events.then(lambda: ctx.timeline.message_edited(event_id, channel, ts, text))
        elif subtype == "message_deleted":
            if not event.get("deleted_ts"):
                return
            event_id, ts = _event_id(body), event["deleted_ts"]
            ctx.events.then(lambda: ctx.timeline.message_deleted(event_id, channel, ts))
        elif subtype in HUMAN_SUBTYPES and not _from_bot(event, context):
            msg = PostedMessage(
                channel_id=channel,
                ts=event["ts"],
                user_id=event["user"],
                text=event.get("text") or "",
                thread_ts=event.get("thread_ts"),
            )
            ctx.events.posted(_event_id(body), msg)

    @app.event("reaction_added")
    async def on_reaction_added(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message" or event.get("user") == context.bot_user_id:
            return
        logs.bind(event_id=body.get("event_id"))
        args = (_event_id(body), item["channel"], item["ts"], event["user"], event.get("reaction", ""))
        ctx.events.soon(lambda: ctx.timeline.reaction_added(*args), name="reaction-added")

    @app.event("reaction_removed")
    async def on_reaction_removed(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message" or event.get("user") == context.bot_user_id:
            return
        args = (_event_id(body), item["channel"], item["ts"], event["user"], event.get("reaction", ""))
        ctx.events.then(lambda: ctx.timeline.reaction_removed(*args))
