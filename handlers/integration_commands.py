"""`/incident statuspage <status> <public message>`."""

from __future__ import annotations

from bot.statuspage import STATUSES
from handlers import parse as p
from handlers.commands import Invocation, subcommand


@subcommand("statuspage")
async def statuspage(inv: Invocation) -> None:
    """Create or update the public incident; a human decides what the public reads."""
    status, _, text = inv.args.strip().partition(" ")
    if status.lower() not in STATUSES:
        raise p.UsageError(f"Pick a public status: {', '.join(STATUSES)}.", "statuspage")
    message = p.text_arg(text, "public message", "statuspage")
    await inv.ack()

    async def work() -> None:
        await inv.ctx.statuspage.publish(inv.channel, status.lower(), message, inv.user)

    inv.later(work(), "statuspage")
