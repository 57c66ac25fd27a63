"""`/incident update | resolve`."""

from __future__ import annotations

from domain.severity import Status
from handlers import parse as p
from handlers.commands import Invocation, subcommand
from handlers.ops import allowed, answered
from handlers.replies import quiet
from handlers.update_typos import ask
from runtime.inbox_worker import Job
from runtime.journal import once
from services.workspace import WorkspaceServices


@subcommand(
    "update",
    usage=[
        (
            "[investigating|identified|mitigating|monitoring] <text>",
            "Post a status update (incident channel); a mistyped status is asked about first",
        )
    ],
)
async def update(inv: Invocation) -> None:
    """Post a status update in the incident channel (after asking, when the first word looks like a
    mistyped status)."""
    cmd = p.parse_update(inv.args)
    if cmd.looks_like:
        await ask(inv, cmd)
        return
    await inv.store("update", status=cmd.status.value if cmd.status else None, text=cmd.text)


@answered("update")
async def run_update(ctx: WorkspaceServices, job: Job) -> str | None:
    d = job.data
    await allowed(ctx, job, "update")
    status = Status(d["status"]) if d.get("status") else None
    return quiet(await ctx.lifecycle.update(job.steps, d["channel"], d["user"], status, d["text"]))


@subcommand(
    "resolve", usage=[("<summary>", "Resolve the incident and post the follow-ups (incident channel)")]
)
async def resolve(inv: Invocation) -> None:
    """Resolve the incident of this channel."""
    await inv.store("resolve", summary=p.parse_resolve(inv.args))


@answered("resolve")
async def run_resolve(ctx: WorkspaceServices, job: Job) -> str | None:
    d = job.data
    await allowed(ctx, job, "resolve")
    said = quiet(await ctx.lifecycle.resolve(job.steps, d["channel"], d["user"], d["summary"]))
    await once(job.steps, "statuspage_offer", lambda: ctx.statuspage.offer_resolve(d["channel"]))
    return said
