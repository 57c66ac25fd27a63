"""`/incident statuspage <status> <public message>`."""

from __future__ import annotations

from handlers import parse as p
from handlers.commands import Invocation, subcommand
from handlers.ops import allowed, answered
from runtime.inbox_worker import Job
from runtime.journal import once
from services.statuspage import STATUSES
from services.workspace import WorkspaceServices


@subcommand(
    "statuspage",
    usage=[
        (
            "<investigating|identified|monitoring|resolved> <public message>",
            "Create or update the public status page incident (incident channel)",
        )
    ],
)
async def statuspage(inv: Invocation) -> None:
    """Create or update the public incident; a human decides what the public reads."""
    status, _, text = inv.args.strip().partition(" ")
    if status.lower() not in STATUSES:
        raise p.UsageError(f"Pick a public status: {', '.join(STATUSES)}.", "statuspage")
    message = p.text_arg(text, "public message", "statuspage")
    await inv.store("statuspage", status=status.lower(), text=message)


@answered("statuspage")
async def run_statuspage(ctx: WorkspaceServices, job: Job) -> None:
    d = job.data
    await allowed(ctx, job, "statuspage")
    await once(
        job.steps,
        "published",
        lambda: ctx.statuspage.publish(d["channel"], d["status"], d["text"], d["user"]),
    )
