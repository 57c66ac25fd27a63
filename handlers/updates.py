"""Status updates and resolving: `/incident update | resolve`, and the question asked before posting an
update whose first word looks like a mistyped status (`/incident update monitorng …`).

The question's buttons carry the whole request in their value (Slack keeps nothing for an ephemeral),
are stored in the inbox like every click, and share one idempotency key: the first press by the person
who typed the update posts it, exactly once; any later press, of either button, finds it already kept.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from config.permissions import Permission
from domain.errors import IncidentError
from domain.severity import UPDATE_STATUSES, Status
from handlers import parse as p
from handlers.fields import open_resolve_form
from handlers.replies import quiet, warnings_text
from handlers.subcommands import Invocation
from handlers.wiring import Wiring, allowed, answer
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
from runtime import keys, logs
from runtime.journal import once
from runtime.ops import Command, Intake, Job
from runtime.slack_ops import SlackOps
from runtime.tasks import BackgroundTasks
from services.fields import Fields
from services.lifecycle import Lifecycle
from services.permissions import Permissions
from services.statuspage import StatuspageService

UPDATE_USAGE = [
    (
        "[investigating|identified|mitigating|monitoring] <text>",
        "Post a status update (incident channel); a mistyped status is asked about first",
    )
]
RESOLVE_USAGE = [("<summary>", "Resolve the incident and post the follow-ups (incident channel)")]
MAX_VALUE = 2000  # Slack's limit for a button's value


class Update(Command):
    """A status update, with the status it moves the incident to, if any."""

    OP = "update"
    channel: str
    status: Status | None = None
    text: str


class Resolve(Command):
    """Resolving the channel's incident."""

    OP = "resolve"
    channel: str
    summary: str


class UpdateAnswered(Command):
    """The update the person chose to post from the question: every press of either button of one
    question is the same request (`question`: the question's id, which the first rows lack)."""

    OP = "update_answered"
    channel: str
    status: Status | None = None
    text: str
    question: str | None = None

    def idem_key(self) -> str | None:
        return keys.typo_answer(self.question) if self.question else None


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The two subcommands, the question's two buttons, and their three ops."""
    wiring.subcommands.add("update", handler=update, usage=UPDATE_USAGE)
    wiring.subcommands.add("resolve", handler=resolve, usage=RESOLVE_USAGE)
    wiring.answered(Update, run_update, Permission.UPDATE)
    wiring.answered(Resolve, run_resolve, Permission.RESOLVE)
    wiring.op(UpdateAnswered, run_update_answered)
    app.action(AS_STATUS_ACTION)(pressed)
    app.action(AS_WRITTEN_ACTION)(pressed)


async def update(inv: Invocation) -> None:
    """Post a status update in the incident channel (after asking, when the first word looks like a
    mistyped status)."""
    cmd = p.parse_update(inv.args)
    if cmd.looks_like:
        await ask(inv, cmd)
        return
    await inv.store(Update(**inv.asked(), status=cmd.status, text=cmd.text))


async def resolve(inv: Invocation, slack: SlackOps, fields: Fields) -> None:
    """Resolve the incident of this channel; while a field required to resolve is unset, a form asks
    for it (and the summary) instead."""
    if await open_resolve_form(inv, slack, fields, inv.args.strip()):
        return
    await inv.store(Resolve(**inv.asked(), summary=p.parse_resolve(inv.args)))


async def run_update(job: Job[Update], lifecycle: Lifecycle) -> str | None:
    r = job.request
    return quiet(await lifecycle.update(job.steps, r.channel, r.user, r.status, r.text))


async def run_resolve(
    job: Job[Resolve], lifecycle: Lifecycle, statuspage: StatuspageService, fields: Fields
) -> str | None:
    r = job.request
    if not job.steps.recorded("record")[0]:  # a retry after the resolution is not refused
        await fields.require_to_resolve(r.channel)
    said = quiet(await lifecycle.resolve(job.steps, r.channel, r.user, r.summary))
    await once(job.steps, "statuspage_offer", lambda: statuspage.offer_resolve(r.channel))
    return said


# The question


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


def _asked(body: dict[str, Any]) -> dict[str, Any] | None:
    """The question a button carries, or None when it is not one this bot asked."""
    try:
        value = json.loads(body["actions"][0]["value"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    fields = ("id", "by", "ch", "as", "text")
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in fields):
        return None
    choices = {s.value for s in UPDATE_STATUSES} | {RESOLVED}
    rest = value["text"].partition(" ")[2].strip()
    if value["as"] not in choices or not rest or len(value["text"]) > p.MAX_TEXT:
        return None
    return value


async def pressed(
    ack: AsyncAck, body: dict[str, Any], intake: Intake, tasks: BackgroundTasks, slack: SlackOps
) -> None:
    """Either button: refused to anyone but the typer, else the chosen update is kept, then acked."""
    asked = _asked(body)
    if asked is None:
        await ack()
        return
    logs.bind(request_id=body.get("trigger_id"))
    clicker, response_url = body["user"]["id"], body.get("response_url")
    if clicker != asked["by"]:
        await ack()
        if response_url:
            tasks.spawn(slack.respond(response_url, not_yours(asked["by"])), name="not-yours")
        return
    as_status = body["actions"][0].get("action_id") == AS_STATUS_ACTION and asked["as"] != RESOLVED
    text = asked["text"]
    request = UpdateAnswered(
        user=clicker,
        response_url=response_url,
        channel=asked["ch"],
        command=f"update {text}"[:120],
        status=Status(asked["as"]) if as_status else None,
        text=text.partition(" ")[2].strip() if as_status else text,
        question=asked["id"],
    )
    await intake.keep(request)
    await ack()  # only once the choice is kept


async def run_update_answered(
    job: Job[UpdateAnswered], lifecycle: Lifecycle, permissions: Permissions, slack: SlackOps
) -> None:
    """Post the update as the person chose; the question gives way to what was done."""
    r = job.request
    try:
        await allowed(permissions, job, Permission.UPDATE)
        out = await lifecycle.update(job.steps, r.channel, r.user, r.status, r.text)
    except IncidentError as exc:
        await answer(slack, job, error(str(exc)), replace=True)
        return
    said = posted_as(r.status.value if r.status else None) + warnings_text(out.warnings)
    await answer(slack, job, Message(text=said), replace=True)
