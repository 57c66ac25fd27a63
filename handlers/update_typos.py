"""`/incident update monitorng …`: ask before posting, then post the answer from the question's buttons.

The buttons carry the whole request in their value (Slack keeps nothing for an ephemeral), are stored
in the inbox like every click, and share one idempotency key: the first press by the person who typed
the update posts it, exactly once; any later press, of either button, finds it already kept.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from domain.errors import IncidentError
from domain.severity import UPDATE_STATUSES, Status
from handlers import parse as p
from handlers.commands import Invocation
from handlers.ops import allowed, answer, op, store
from handlers.replies import warnings_text
from handlers.workspace import workspace
from messages.blocks import Message
from messages.help import error
from messages.update_typo import (
    AS_STATUS_ACTION,
    AS_WRITTEN_ACTION,
    RESOLVED,
    not_yours,
    posted_as,
    status_question,
)
from runtime import logs
from runtime.inbox_worker import Job
from services.workspace import WorkspaceServices

MAX_VALUE = 2000  # Slack's limit for a button's value


def question_value(inv: Invocation, looks_like: str, text: str) -> str | None:
    """What both buttons carry, or None when it does not fit in a button."""
    value = json.dumps(
        {
            "id": inv.trigger_id or uuid.uuid4().hex,
            "by": inv.user,
            "ch": inv.channel,
            "as": looks_like,
            "text": text,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return value if len(value) <= MAX_VALUE else None


async def ask(inv: Invocation, cmd: p.Update) -> None:
    """Answer with the question instead of posting (`cmd.looks_like` is set)."""
    assert cmd.looks_like is not None
    word = cmd.text.split(" ", 1)[0]
    value = question_value(inv, cmd.looks_like, cmd.text)
    await inv.ack(**status_question(word, cmd.looks_like, value, cmd.text).kwargs())


def _request(body: dict[str, Any]) -> dict[str, Any] | None:
    try:
        value = json.loads(body["actions"][0]["value"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    keys = ("id", "by", "ch", "as", "text")
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in keys):
        return None
    choices = {s.value for s in UPDATE_STATUSES} | {RESOLVED}
    rest = value["text"].partition(" ")[2].strip()
    if value["as"] not in choices or not rest or len(value["text"]) > p.MAX_TEXT:
        return None  # not a question this bot asked
    return value


def register(app: AsyncApp) -> None:
    """Attach the two buttons of the question."""

    async def pressed(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        ctx, asked = workspace(context), _request(body)
        if asked is None:
            await ack()
            return
        logs.bind(request_id=body.get("trigger_id"))
        clicker, response_url = body["user"]["id"], body.get("response_url")
        if clicker != asked["by"]:
            await ack()
            if response_url:
                ctx.tasks.spawn(ctx.slack.respond(response_url, not_yours(asked["by"])), name="not-yours")
            return
        as_status = body["actions"][0].get("action_id") == AS_STATUS_ACTION and asked["as"] != RESOLVED
        text = asked["text"]
        data = {
            "user": clicker,
            "response_url": response_url,
            "channel": asked["ch"],
            "command": f"update {text}"[:120],
            "status": asked["as"] if as_status else None,
            "text": text.partition(" ")[2].strip() if as_status else text,
        }
        await store(ctx, f"typo:{asked['id']}", f"ch:{asked['ch']}", "update_answered", data)
        await ack()  # only once the choice is kept

    app.action(AS_STATUS_ACTION)(pressed)
    app.action(AS_WRITTEN_ACTION)(pressed)


@op("update_answered")
async def run_update_answered(ctx: WorkspaceServices, job: Job) -> None:
    """Post the update as the person chose; the question gives way to what was done."""
    d = job.data
    try:
        await allowed(ctx, job, "update")
        status = Status(d["status"]) if d.get("status") else None
        out = await ctx.lifecycle.update(job.steps, d["channel"], d["user"], status, d["text"])
    except IncidentError as exc:
        await answer(ctx, job, error(str(exc)), replace=True)
        return
    await answer(
        ctx, job, Message(text=posted_as(d.get("status")) + warnings_text(out.warnings)), replace=True
    )
