"""`/incident commander|ic|scribe|comms <@user>`, `/incident status`, `/incident list`."""

from __future__ import annotations

from handlers import parse as p
from handlers.commands import Invocation, subcommand
from handlers.lifecycle_commands import quiet
from messages.status import incident_list, status_summary


async def _assign(inv: Invocation, role: str) -> None:
    mention = p.parse_mention(inv.args, role)
    await inv.ack()
    if mention.name:
        inv.ctx.tasks.spawn(inv.ctx.roles.remember_names({mention.user_id: mention.name}), name="names")
    inv.later(quiet(inv.ctx.roles.assign(inv.channel, role, mention.user_id, inv.user)), role)


@subcommand("commander", "ic")
async def commander(inv: Invocation) -> None:
    """Hand over incident command."""
    await _assign(inv, "commander")


@subcommand("scribe")
async def scribe(inv: Invocation) -> None:
    """Name the scribe, whose messages go on the timeline."""
    await _assign(inv, "scribe")


@subcommand("comms")
async def comms(inv: Invocation) -> None:
    """Name the communications lead."""
    await _assign(inv, "comms")


@subcommand("status")
async def status(inv: Invocation) -> None:
    """An ephemeral summary of this channel's incident."""
    await inv.ack()

    async def work() -> None:
        incident, last = await inv.ctx.lifecycle.overview(inv.channel)
        pages = await inv.ctx.escalation.open_pages(incident.id)
        message = status_summary(incident, last, inv.ctx.clock.now(), pages)
        await inv.respond(response_type="ephemeral", replace_original=False, **message.kwargs())

    inv.later(work(), "status")


@subcommand("list")
async def list_(inv: Invocation) -> None:
    """Open incidents, from any channel."""
    if inv.args.strip():
        raise p.UsageError("`list` takes no arguments.", "list")
    await inv.ack()

    async def work() -> None:
        message = incident_list(await inv.ctx.lifecycle.open_incidents(), inv.ctx.clock.now())
        await inv.respond(response_type="ephemeral", replace_original=False, **message.kwargs())

    inv.later(work(), "list")
