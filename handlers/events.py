"""Events API listeners: messages and reactions in incident channels feed the timeline.

Each listener acks at once (Bolt answers Slack when the listener returns) and hands the work to
ctx.tasks; the core deduplicates by event id, so Slack's retries never double an entry.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

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
        subtype = event.get("subtype")
        channel = event.get("channel")
        if not channel:
            return
        if subtype == "message_changed":
            message = event.get("message") or {}
            if _from_bot(message, context) or not message.get("ts"):
                return
            work = ctx.timeline.message_edited(
                _event_id(body), channel, message["ts"], message.get("text") or ""
            )
        elif subtype == "message_deleted":
            if not event.get("deleted_ts"):
                return
            work = ctx.timeline.message_deleted(_event_id(body), channel, event["deleted_ts"])
        elif subtype in HUMAN_SUBTYPES and not _from_bot(event, context):
            msg = PostedMessage(
                channel_id=channel,
                ts=event["ts"],
                user_id=event["user"],
                text=event.get("text") or "",
                thread_ts=event.get("thread_ts"),
            )
            work = ctx.timeline.message_posted(_event_id(body), msg)
        else:
            return
        ctx.tasks.spawn(work, name=f"message-{subtype or 'new'}")

    @app.event("reaction_added")
    async def on_reaction_added(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message" or event.get("user") == context.bot_user_id:
            return
        ctx.tasks.spawn(
            ctx.timeline.reaction_added(
                _event_id(body), item["channel"], item["ts"], event["user"], event.get("reaction", "")
            ),
            name="reaction-added",
        )

    @app.event("reaction_removed")
    async def on_reaction_removed(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message" or event.get("user") == context.bot_user_id:
            return
        ctx.tasks.spawn(
            ctx.timeline.reaction_removed(
                _event_id(body), item["channel"], item["ts"], event["user"], event.get("reaction", "")
            ),
            name="reaction-removed",
        )
