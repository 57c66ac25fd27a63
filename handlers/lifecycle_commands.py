"""`/incident help | declare | update | resolve`."""

from __future__ import annotations

from collections.abc import Awaitable

from bot.context import BotContext
from bot.lifecycle import Outcome
from bot.severity import Severity
from handlers import parse as p
from handlers.commands import Invocation, subcommand
from handlers.replies import warnings_text
from messages.forms import declare_modal
from messages.help import help_message


@subcommand("help")
async def help_(inv: Invocation) -> None:
    """Every command with its syntax, ephemeral."""
    await inv.ack(**help_message().kwargs())


@subcommand("declare")
async def declare(inv: Invocation) -> None:
    """Declare from arguments, or open the form when there are none."""
    cmd = p.parse_declare(inv.args)
    if cmd is None:
        await inv.ack()
        inv.ctx.tasks.spawn(
            inv.ctx.client.views_open(trigger_id=inv.trigger_id, view=declare_modal(p.MAX_TITLE)),
            name="open-declare-modal",
        )
        return
    await inv.ack(text=f"Declaring a {cmd.severity.value} incident: {cmd.title} …")
    inv.later(declare_reply(inv.ctx, cmd.severity, cmd.title, inv.user), "declare")


@subcommand("update")
async def update(inv: Invocation) -> None:
    """Post a status update in the incident channel."""
    cmd = p.parse_update(inv.args)
    await inv.ack()
    inv.later(quiet(inv.ctx.lifecycle.update(inv.channel, inv.user, cmd.status, cmd.text)), "update")


@subcommand("resolve")
async def resolve(inv: Invocation) -> None:
    """Resolve the incident of this channel."""
    summary = p.parse_resolve(inv.args)
    await inv.ack()

    async def work() -> str | None:
        said = await quiet(inv.ctx.lifecycle.resolve(inv.channel, inv.user, summary))
        await inv.ctx.statuspage.offer_resolve(inv.channel)
        return said

    inv.later(work(), "resolve")


async def declare_reply(
    ctx: BotContext, severity: Severity, title: str, user: str, impact: str | None = None
) -> str:
    """Declare, then say where (and what went wrong on the way, if anything)."""
    out = await ctx.lifecycle.declare(severity, title, user, impact)
    inc = out.incident
    return f"{inc.severity} incident {inc.ref} declared in <#{inc.channel_id}>; you are the commander." + (
        warnings_text(out.warnings)
    )


async def quiet(work: Awaitable[Outcome]) -> str | None:
    """Updates and resolutions speak in the channel; only Slack failures go back to the caller."""
    out = await work
    return ("Done, but:" + warnings_text(out.warnings)) if out.warnings else None
