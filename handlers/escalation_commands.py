"""`/incident severity <sev>` and `/incident escalate`."""

from __future__ import annotations

from domain.severity import VALID_SEVERITIES, Severity
from handlers import parse as p
from handlers.commands import Invocation, subcommand
from handlers.ops import allowed, answered
from handlers.replies import quiet
from runtime.inbox_worker import Job
from services.workspace import WorkspaceServices


@subcommand(
    "severity",
    "sev",
    usage=[
        ("<sev1|sev2|sev3|sev4>", "Change the severity; escalation and reminders follow (incident channel)")
    ],
)
async def severity(inv: Invocation) -> None:
    """Change the severity and re-plan escalation and reminders."""
    arg = inv.args.strip()
    if not arg:
        raise p.UsageError("Which severity?", "severity")
    sev = Severity.parse(arg)
    if sev is None:
        raise p.UsageError(f"Unknown severity `{arg}`. Valid severities: {VALID_SEVERITIES}.", "severity")
    await inv.store("severity", severity=sev.value)


@answered("severity")
async def run_severity(ctx: WorkspaceServices, job: Job) -> str | None:
    d = job.data
    await allowed(ctx, job, "severity")
    return quiet(
        await ctx.lifecycle.change_severity(job.steps, d["channel"], Severity(d["severity"]), d["user"])
    )


@subcommand(
    "escalate",
    usage=[("", "Page the next escalation level now, within the severity's reach (incident channel)")],
)
async def escalate(inv: Invocation) -> None:
    """Page the next escalation level now."""
    if inv.args.strip():
        raise p.UsageError("`escalate` takes no arguments.", "escalate")
    await inv.store("escalate")


@answered("escalate")
async def run_escalate(ctx: WorkspaceServices, job: Job) -> str:
    await allowed(ctx, job, "escalate")
    incident = await ctx.timeline.incident_or_refuse(job.data["channel"], "escalate")
    return await ctx.escalation.escalate_now(job.steps, incident, job.data["user"])
