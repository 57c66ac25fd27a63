"""`/incident severity <sev>` and `/incident escalate`."""

from __future__ import annotations

from bot.lifecycle import IncidentError
from bot.severity import VALID_SEVERITIES, Severity
from handlers import parse as p
from handlers.commands import Invocation, subcommand
from handlers.lifecycle_commands import quiet


@subcommand("severity", "sev")
async def severity(inv: Invocation) -> None:
    """Change the severity and re-plan escalation and reminders."""
    arg = inv.args.strip()
    if not arg:
        raise p.UsageError("Which severity?", "severity")
    sev = Severity.parse(arg)
    if sev is None:
        raise p.UsageError(f"Unknown severity `{arg}`. Valid severities: {VALID_SEVERITIES}.", "severity")
    await inv.ack()
    inv.later(quiet(inv.ctx.lifecycle.change_severity(inv.channel, sev, inv.user)), "severity")


@subcommand("escalate")
async def escalate(inv: Invocation) -> None:
    """Page the next escalation level now."""
    if inv.args.strip():
        raise p.UsageError("`escalate` takes no arguments.", "escalate")
    await inv.ack()

    async def work() -> str:
        incident = await inv.ctx.timeline.incident_or_refuse(inv.channel, "escalate")
        if not incident.is_open:
            raise IncidentError(f"{incident.ref} is already resolved.")
        return await inv.ctx.escalation.escalate_now(incident, inv.user)

    inv.later(work(), "escalate")
