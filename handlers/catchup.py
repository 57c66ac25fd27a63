"""Catch-ups: `member_joined_channel` in an incident channel, and `/incident catchup [INC-n] [since …]`.

Both are ops: a catch-up read out of the database is also recorded as given (where `since last`
starts), so the worker carries it out once, in order with the channel's other requests.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from domain.since import check_since
from handlers import parse as p
from handlers.subcommands import Invocation
from handlers.wiring import Wiring, answer
from runtime import logs
from runtime.ops import Command, Event, Intake, Job
from runtime.slack_ops import SlackOps
from services.catchup import CatchUps

CATCHUP_USAGE = [
    ("", "Where this incident stands, only to you: status, roles, last update, latest timeline, links"),
    ("since <14:05|30m|2h|ISO time|last>", "Only what happened since then (`last`: your last catch-up)"),
    ("INC-n [since …]", "The same from any channel (a private incident: its channel's members only)"),
]
_NUMBER = re.compile(r"(?i)(?:inc-)?(\d{1,9})")


class Joined(Event):
    """Someone (not the bot) joined a channel the bot is in."""

    OP = "member_joined"
    user: str


class CatchUpAsked(Command):
    """`/incident catchup`: of this channel's incident or INC-`incident`, whole or `since` a time."""

    OP = "catchup"
    incident: int | None = None
    since: str | None = None


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The join listener, the subcommand, and their ops."""
    app.event("member_joined_channel")(on_member_joined)
    wiring.op(Joined, run_joined)
    wiring.subcommands.add("catchup", handler=catchup, usage=CATCHUP_USAGE)
    wiring.answered(CatchUpAsked, run_catchup)


async def on_member_joined(
    body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext, intake: Intake
) -> None:
    """Kept once per event id (Slack's retries are the same join), in order with the channel."""
    user, channel = event.get("user"), event.get("channel")
    if not user or not channel or user == context.bot_user_id:
        return
    logs.bind(event_id=body.get("event_id"))
    await intake.keep(Joined(event_id=body.get("event_id"), channel=channel, user=user))


async def run_joined(job: Job[Joined], catchups: CatchUps) -> None:
    await catchups.joined(job.steps, job.request.channel, job.request.user)


def parse_catchup(args: str) -> tuple[int | None, str | None]:
    """`[INC-n] [since <time>|last]` → (the incident's number, the `since` words)."""
    words = args.split()
    number = None
    if words and (found := _NUMBER.fullmatch(words[0])):
        number, words = int(found.group(1)), words[1:]
    if not words:
        return number, None
    if words[0].lower() != "since":
        raise p.UsageError(f"Unknown option `{p.flatten(words[0])[:40]}`.", "catchup")
    if len(words) == 1:
        raise p.UsageError("Since when? Give a time like `14:05`, `30m`, or `last`.", "catchup")
    try:
        return number, check_since(" ".join(words[1:]))
    except ValueError as exc:
        raise p.UsageError(str(exc), "catchup") from None


async def catchup(inv: Invocation) -> None:
    """Stored: the catch-up is recorded as given when it is answered."""
    number, since = parse_catchup(inv.args)
    await inv.store(CatchUpAsked(**inv.asked(), incident=number, since=since))


async def run_catchup(job: Job[CatchUpAsked], catchups: CatchUps, slack: SlackOps) -> None:
    r = job.request
    incident, message = await catchups.read(r.channel or "", r.user, r.incident, r.since, job.steps.at)
    await answer(slack, job, message)
    await catchups.seen(job.steps, incident.id, r.user)
