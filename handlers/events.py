"""Events API listeners: messages and reactions in incident channels feed the timeline.

Each listener stores the event in the inbox (keyed by Slack's event_id, ordered by channel) and
returns; Bolt then answers 200. The worker carries the events out in order per channel, so an edit
never overtakes its message and a 📌 removed right after it was added leaves nothing behind.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from handlers.ops import batch_op, op, store
from handlers.workspace import workspace
from runtime import logs
from runtime.inbox_worker import Job, MarkDone
from services.timeline import PostedMessage
from services.workspace import WorkspaceServices

log = logging.getLogger(__name__)

# Message subtypes written by people; the rest (joins, topic changes, bot posts) are not transcript.
HUMAN_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}


def _from_bot(message: dict[str, Any], bolt: AsyncBoltContext) -> bool:
    return bool(message.get("bot_id")) or message.get("user") in (None, bolt.bot_user_id)


async def _store(
    ctx: WorkspaceServices, body: dict[str, Any], channel: str, name: str, data: dict[str, Any]
) -> None:
    event_id = body.get("event_id")
    await store(ctx, event_id and f"ev:{event_id}", f"ch:{channel}", name, {"event_id": event_id, **data})


def register(app: AsyncApp) -> None:
    """Attach message and reaction listeners."""

    @app.event("message")
    async def on_message(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        logs.bind(event_id=body.get("event_id"))  # on every log line of this event's work
        ctx = workspace(context)
        subtype = event.get("subtype")
        channel = event.get("channel")
        if not channel:
            return
        if subtype == "message_changed":
            message = event.get("message") or {}
            if _from_bot(message, context) or not message.get("ts"):
                return
            data = {"channel": channel, "ts": message["ts"], "text": message.get("text") or ""}
            await _store(ctx, body, channel, "message_changed", data)
        elif subtype == "message_deleted":
            if not event.get("deleted_ts"):
                return
            await _store(
                ctx, body, channel, "message_deleted", {"channel": channel, "ts": event["deleted_ts"]}
            )
        elif subtype in HUMAN_SUBTYPES and not _from_bot(event, context):
            message = {
                "channel_id": channel,
                "ts": event["ts"],
                "user_id": event["user"],
                "text": event.get("text") or "",
                "thread_ts": event.get("thread_ts"),
            }
            await _store(ctx, body, channel, "message", {"message": message})

    @app.event("reaction_added")
    async def on_reaction_added(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await _reaction(body, event, context, "reaction_added")

    @app.event("reaction_removed")
    async def on_reaction_removed(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await _reaction(body, event, context, "reaction_removed")

    async def _reaction(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext, name: str
    ) -> None:
        ctx = workspace(context)
        item = event.get("item") or {}
        if item.get("type") != "message" or event.get("user") == context.bot_user_id:
            return
        if event.get("reaction", "") not in ctx.policy.timeline.emoji:
            return  # only the timeline emoji change anything
        logs.bind(event_id=body.get("event_id"))
        data = {
            "channel": item["channel"],
            "ts": item["ts"],
            "user": event["user"],
            "emoji": event["reaction"],
        }
        await _store(ctx, body, item["channel"], name, data)


@batch_op("message")
async def run_messages(ctx: WorkspaceServices, jobs: list[Job], mark_done: MarkDone) -> None:
    """A run of posted messages: one transaction stores them all and marks them done."""
    batch = [(j.data["event_id"], PostedMessage(**j.data["message"])) for j in jobs]
    await ctx.timeline.messages_posted(batch, also=mark_done)


@op("message_changed")
async def run_edit(ctx: WorkspaceServices, job: Job) -> None:
    d = job.data
    await ctx.timeline.message_edited(d["event_id"], d["channel"], d["ts"], d["text"])


@op("message_deleted")
async def run_delete(ctx: WorkspaceServices, job: Job) -> None:
    d = job.data
    await ctx.timeline.message_deleted(d["event_id"], d["channel"], d["ts"])


@op("reaction_added")
async def run_reaction_added(ctx: WorkspaceServices, job: Job) -> None:
    d = job.data
    await ctx.timeline.reaction_added(d["event_id"], d["channel"], d["ts"], d["user"], d["emoji"])


@op("reaction_removed")
async def run_reaction_removed(ctx: WorkspaceServices, job: Job) -> None:
    d = job.data
    await ctx.timeline.reaction_removed(d["event_id"], d["channel"], d["ts"], d["user"], d["emoji"])
