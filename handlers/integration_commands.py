"""`/incident statuspage <status> <public message>`."""

from __future__ import annotations

from bot.context import BotContext
from bot.inbox_worker import Job
from bot.journal import once
from bot.statuspage import STATUSES
from handlers import parse as p
from handlers.commands import Invocation, subcommand
from handlers.ops import allowed, answered


@subcommand("statuspage")
async def statuspage(inv: Invocation) -> None:
    """Create or update the public incident; a human decides what the public reads."""
    status, _, text = inv.args.strip().partition(" ")
    if status.lower() not in STATUSES:
        raise p.UsageError(f"Pick a public status: {', '.join(STATUSES)}.", "statuspage")
    message = p.text_arg(text, "public message", "statuspage")
    await inv.store("statuspage", status=status.lower(), text=message)


@answered("statuspage")
async def run_statuspage(ctx: BotContext, job: Job) -> None:
    d = job.data
    await allowed(ctx, job, "statuspage")
    await once(
        job.steps,
        "published",
        lambda: ctx.statuspage.publish(d["channel"], d["status"], d["text"], d["user"]),
    )
