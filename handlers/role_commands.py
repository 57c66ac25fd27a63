"""`/incident commander|ic|scribe|comms <@user>`, `/incident status`, `/incident list`."""

from __future__ import annotations

from handlers import parse as p
from handlers.commands import Invocation, subcommand
from handlers.ops import allowed, answered
from handlers.replies import quiet
from messages.status import incident_list, status_summary
from runtime.inbox_worker import Job
from services.workspace import WorkspaceServices


async def _assign(inv: Invocation, role: str) -> None:
    mention = p.parse_mention(inv.args, role)
    await inv.store("role", role=role, assignee=mention.user_id, assignee_name=mention.name)


@answered("role")
async def run_assign(ctx: WorkspaceServices, job: Job) -> str | None:
    d = job.data
    await allowed(ctx, job, "roles")
    if d.get("assignee_name"):
        await ctx.roles.remember_names({d["assignee"]: d["assignee_name"]})
    return quiet(await ctx.roles.assign(job.steps, d["channel"], d["role"], d["assignee"], d["user"]))


@subcommand(
    "commander", "ic", usage=[("<@person>", "Hand over incident command; `ic` works too (incident channel)")]
)
async def commander(inv: Invocation) -> None:
    """Hand over incident command."""
    await _assign(inv, "commander")


@subcommand(
    "scribe", usage=[("<@person>", "Name the scribe: their messages go on the timeline (incident channel)")]
)
async def scribe(inv: Invocation) -> None:
    """Name the scribe, whose messages go on the timeline."""
    await _assign(inv, "scribe")


@subcommand("comms", usage=[("<@person>", "Name the communications lead (incident channel)")])
async def comms(inv: Invocation) -> None:
    """Name the communications lead."""
    await _assign(inv, "comms")


@subcommand(
    "status", usage=[("", "Severity, status, roles, age and last update, only to you (incident channel)")]
)
async def status(inv: Invocation) -> None:
    """An ephemeral summary of this channel's incident."""
    await inv.ack()

    async def work() -> None:
        incident, last = await inv.ctx.lifecycle.overview(inv.channel)
        pages = await inv.ctx.escalation.open_pages(incident.id)
        message = status_summary(incident, last, inv.ctx.clock.now(), pages)
        await inv.respond(response_type="ephemeral", replace_original=False, **message.kwargs())

    inv.later(work(), "status")


@subcommand("list", usage=[("", "Open incidents with their channels, severities and ages")])
async def list_(inv: Invocation) -> None:
    """Open incidents, from any channel."""
    if inv.args.strip():
        raise p.UsageError("`list` takes no arguments.", "list")
    await inv.ack()

    async def work() -> None:
        message = incident_list(await inv.ctx.lifecycle.open_incidents(seen_by=inv.user), inv.ctx.clock.now())
        await inv.respond(response_type="ephemeral", replace_original=False, **message.kwargs())

    inv.later(work(), "list")
