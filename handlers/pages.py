"""Severity and escalation: `/incident severity <sev>`, `/incident escalate`, and the Acknowledge and
Escalate now buttons of page DMs.

A button press is stored in the inbox (once per trigger_id) in order with its incident's channel, looked
up when it is pressed, so an acknowledgement never overtakes the requests acknowledged before it.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from config.permissions import Permission
from domain.errors import IncidentError
from domain.severity import VALID_SEVERITIES, Severity
from handlers import parse as p
from handlers.parse import clicked_number
from handlers.replies import quiet
from handlers.subcommands import Invocation
from handlers.wiring import Wiring, allowed
from messages.pages import ACK_ACTION, ESCALATE_ACTION
from runtime import logs
from runtime.ops import Click, Command, Intake, Job
from services.escalation import Escalation
from services.lifecycle import Lifecycle
from services.permissions import Permissions
from services.timeline import Timeline

SEVERITY_USAGE = [
    ("<sev1|sev2|sev3|sev4>", "Change the severity; escalation and reminders follow (incident channel)")
]
ESCALATE_USAGE = [("", "Page the next escalation level now, within the severity's reach (incident channel)")]


class ChangeSeverity(Command):
    """A new severity for the channel's incident."""

    OP = "severity"
    channel: str
    severity: Severity


class Escalate(Command):
    """Paging the next level of the channel's incident now."""

    OP = "escalate"
    channel: str


class Acknowledge(Click):
    """A page DM's Acknowledge button (`number`: the page's delivery)."""

    OP = "acknowledge"


class EscalatePage(Click):
    """A page DM's Escalate now button (`number`: the page's delivery)."""

    OP = "escalate_page"


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The two subcommands, the two page buttons, and their ops."""
    wiring.subcommands.add("severity", "sev", handler=severity, usage=SEVERITY_USAGE)
    wiring.subcommands.add("escalate", handler=escalate, usage=ESCALATE_USAGE)
    wiring.answered(ChangeSeverity, run_severity, Permission.SEVERITY)
    wiring.answered(Escalate, run_escalate, Permission.ESCALATE)
    wiring.answered(Acknowledge, run_acknowledge)
    wiring.answered(EscalatePage, run_escalate_page)
    app.action(ACK_ACTION)(acknowledge_clicked)
    app.action(ESCALATE_ACTION)(escalate_clicked)


async def severity(inv: Invocation) -> None:
    """Change the severity and re-plan escalation and reminders."""
    arg = inv.args.strip()
    if not arg:
        raise p.UsageError("Which severity?", "severity")
    sev = Severity.parse(arg)
    if sev is None:
        raise p.UsageError(f"Unknown severity `{arg}`. Valid severities: {VALID_SEVERITIES}.", "severity")
    await inv.store(ChangeSeverity(**inv.asked(), severity=sev))


async def run_severity(job: Job[ChangeSeverity], lifecycle: Lifecycle) -> str | None:
    r = job.request
    return quiet(await lifecycle.change_severity(job.steps, r.channel, r.severity, r.user))


async def escalate(inv: Invocation) -> None:
    """Page the next escalation level now."""
    if inv.args.strip():
        raise p.UsageError("`escalate` takes no arguments.", "escalate")
    await inv.store(Escalate(**inv.asked()))


async def run_escalate(job: Job[Escalate], timeline: Timeline, escalation: Escalation) -> str:
    incident = await timeline.incident_or_refuse(job.request.channel, "escalate")
    return await escalation.escalate_now(job.steps, incident, job.request.user)


async def acknowledge_clicked(
    ack: AsyncAck, body: dict[str, Any], intake: Intake, escalation: Escalation
) -> None:
    await _keep(Acknowledge, body, intake, escalation)
    await ack()


async def escalate_clicked(
    ack: AsyncAck, body: dict[str, Any], intake: Intake, escalation: Escalation
) -> None:
    await _keep(EscalatePage, body, intake, escalation)
    await ack()


async def _keep(
    kind: type[Acknowledge | EscalatePage], body: dict[str, Any], intake: Intake, escalation: Escalation
) -> None:
    """Store a page button's press (the button carries the delivery), with its incident's channel."""
    delivery = clicked_number(body)
    if delivery is None:
        return
    logs.bind(request_id=body.get("trigger_id"))
    try:
        channel = (await escalation.incident_of_delivery(delivery)).channel_id
    except IncidentError:
        channel = None  # refused in order of its own, when carried out
    request = kind(
        user=body["user"]["id"],
        response_url=body.get("response_url"),
        channel=channel,
        trigger_id=body.get("trigger_id"),
        number=delivery,
    )
    await intake.keep(request)


async def run_acknowledge(job: Job[Acknowledge], escalation: Escalation) -> str | None:
    return await escalation.acknowledge(job.steps, job.request.number, job.request.user)


async def run_escalate_page(job: Job[EscalatePage], escalation: Escalation, permissions: Permissions) -> str:
    incident = await escalation.incident_of_delivery(job.request.number)
    await allowed(permissions, job, Permission.ESCALATE)
    return await escalation.escalate_now(job.steps, incident, job.request.user)
