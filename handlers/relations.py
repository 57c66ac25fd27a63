"""Related incidents: `/incident link INC-n` and `/incident duplicate INC-n`."""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp

from config.permissions import Permission
from handlers import parse as p
from handlers.replies import quiet
from handlers.subcommands import Invocation
from handlers.wiring import Wiring
from runtime.journal import once
from runtime.ops import Command, Job
from services.relations import Relations
from services.statuspage import StatuspageService

LINK_USAGE = [("INC-n", "Record that this incident and INC-n are related, posted in both (incident channel)")]
DUPLICATE_USAGE = [
    ("INC-n", "Resolve this incident as a duplicate of INC-n; its pages stop (incident channel)")
]
_REF = re.compile(r"(?i)(?:INC-)?(\d{1,9})")
_CHANNEL = re.compile(r"<#(C[A-Z0-9]+)(?:\|[^<>]*)?>")


class Link(Command):
    """Relating the channel's incident to another."""

    OP = "link"
    channel: str
    other: str  # `INC-n`, or an incident channel's id


class Duplicate(Command):
    """Resolving the channel's incident as a duplicate of another."""

    OP = "duplicate"
    channel: str
    original: str  # `INC-n`, or an incident channel's id


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The two subcommands and their ops."""
    wiring.subcommands.add("link", handler=link, usage=LINK_USAGE)
    wiring.subcommands.add("duplicate", handler=duplicate, usage=DUPLICATE_USAGE)
    wiring.answered(Link, run_link, Permission.LINK)
    wiring.answered(Duplicate, run_duplicate, Permission.DUPLICATE)


def incident_ref(args: str, subcommand: str) -> str:
    """`INC-12`, `12` or an incident channel's mention, as `INC-12` or the channel's id."""
    arg = args.strip()
    if not arg:
        raise p.UsageError("Which incident? Give its number, like INC-12.", subcommand)
    if m := _REF.fullmatch(arg):
        return f"INC-{int(m.group(1))}"
    if m := _CHANNEL.fullmatch(arg):
        return m.group(1)
    raise p.UsageError(f"`{arg[:80]}` is not an incident: give its number, like INC-12.", subcommand)


async def link(inv: Invocation) -> None:
    """Relate this channel's incident to another."""
    await inv.store(Link(**inv.asked(), other=incident_ref(inv.args, "link")))


async def duplicate(inv: Invocation) -> None:
    """Resolve this channel's incident as a duplicate of another."""
    await inv.store(Duplicate(**inv.asked(), original=incident_ref(inv.args, "duplicate")))


async def run_link(job: Job[Link], relations: Relations) -> str | None:
    r = job.request
    return quiet(await relations.link(job.steps, r.channel, r.user, r.other))


async def run_duplicate(
    job: Job[Duplicate], relations: Relations, statuspage: StatuspageService
) -> str | None:
    r = job.request
    said = quiet(await relations.duplicate(job.steps, r.channel, r.user, r.original))
    await once(job.steps, "statuspage_offer", lambda: statuspage.offer_resolve(r.channel))
    return said
