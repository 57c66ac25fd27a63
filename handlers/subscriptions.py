"""Stakeholders: `/incident subscribe [INC-n]`, `/incident unsubscribe [INC-n]`, and the op that sends
an incident's news to its subscribers by DM."""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp

from handlers import parse as p
from handlers.subcommands import Invocation
from handlers.wiring import Wiring
from runtime.ops import Command, Job
from services.subscriptions import News, Subscriptions

SUBSCRIBE_USAGE = [
    ("", "Get this incident's updates and resolution by DM (incident channel); elsewhere, list yours"),
    ("INC-n", "Get INC-n's updates and resolution by DM (any channel)"),
]
UNSUBSCRIBE_USAGE = [("[INC-n]", "Stop the DMs about this channel's incident, or INC-n's")]
_NUMBER = re.compile(r"(?i)(?:INC-?)?(\d{1,9})")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^<>]*)?>")


class Subscribe(Command):
    """Subscribing the asker to `ref`'s incident (`INC-n` or a channel id), else the channel's."""

    OP = "subscribe"
    ref: str | None = None


class Unsubscribe(Command):
    """Unsubscribing the asker from `ref`'s incident, else the channel's."""

    OP = "unsubscribe"
    ref: str | None = None


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The two subcommands, their ops, and the op sending news to subscribers."""
    wiring.subcommands.add("subscribe", handler=subscribe, usage=SUBSCRIBE_USAGE)
    wiring.subcommands.add("unsubscribe", handler=unsubscribe, usage=UNSUBSCRIBE_USAGE)
    wiring.answered(Subscribe, run_subscribe)
    wiring.answered(Unsubscribe, run_unsubscribe)
    wiring.op(News, run_news)


def incident_ref(args: str, subcommand: str) -> str | None:
    """`INC-12`, `12` or a channel's mention as `INC-12` or the channel's id; None when not given."""
    arg = args.strip()
    if not arg:
        return None
    if m := _NUMBER.fullmatch(arg):
        return f"INC-{int(m.group(1))}"
    if m := _CHANNEL.fullmatch(arg):
        return m.group(1)
    shown = p.flatten(arg)[:80]
    raise p.UsageError(f"`{shown}` is not an incident: give its number, like INC-12.", subcommand)


async def subscribe(inv: Invocation, subscriptions: Subscriptions) -> None:
    """Subscribe to an incident; with none named outside an incident's channel, list your subscriptions."""
    ref = incident_ref(inv.args, "subscribe")
    if ref is None and not await subscriptions.incident_here(inv.channel):
        await inv.ack()

        async def listing() -> None:
            message = await subscriptions.mine(inv.user)
            await inv.respond(response_type="ephemeral", replace_original=False, **message.kwargs())

        inv.later(listing(), "subscriptions")
        return
    await inv.store(Subscribe(**inv.asked(), ref=ref))


async def unsubscribe(inv: Invocation) -> None:
    """Stop the DMs about an incident."""
    await inv.store(Unsubscribe(**inv.asked(), ref=incident_ref(inv.args, "unsubscribe")))


async def run_subscribe(job: Job[Subscribe], subscriptions: Subscriptions) -> str | None:
    r = job.request
    return await subscriptions.subscribe(job.steps, r.user, r.channel or "", r.ref)


async def run_unsubscribe(job: Job[Unsubscribe], subscriptions: Subscriptions) -> str | None:
    r = job.request
    return await subscriptions.unsubscribe(job.steps, r.user, r.channel or "", r.ref)


async def run_news(job: Job[News], subscriptions: Subscriptions) -> None:
    await subscriptions.send(job.steps, job.request)
