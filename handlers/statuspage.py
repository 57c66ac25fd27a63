"""The public status page: `/incident statuspage <status> <public message>`, and the button that
resolves the public incident once the incident is resolved."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from config.permissions import Permission
from domain.errors import IncidentError
from handlers import parse as p
from handlers.parse import clicked_number
from handlers.subcommands import Invocation
from handlers.wiring import Wiring, allowed, answer
from messages.help import error
from messages.statuspage import RESOLVE_ACTION, public_resolved
from runtime import logs
from runtime.journal import once
from runtime.ops import Click, Command, Intake, Job
from runtime.slack_ops import SlackOps
from services.lifecycle import Lifecycle
from services.permissions import Permissions
from services.statuspage import STATUSES, StatuspageService

USAGE = [
    (
        "<investigating|identified|monitoring|resolved> <public message>",
        "Create or update the public status page incident (incident channel)",
    )
]


class Publish(Command):
    """Creating or updating the public incident of the channel's incident: a human decides what the
    public reads (`status`: one of services/statuspage.STATUSES)."""

    OP = "statuspage"
    channel: str
    status: str
    text: str


class ResolvePublic(Click):
    """The offer's Resolve button (`number`: the incident's id)."""

    OP = "statuspage_resolve"


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The subcommand, the Resolve button, and their ops."""
    wiring.subcommands.add("statuspage", handler=publish, usage=USAGE)
    wiring.answered(Publish, run_publish, Permission.STATUSPAGE)
    wiring.op(ResolvePublic, run_resolve_public)
    app.action(RESOLVE_ACTION)(resolve_clicked)


async def publish(inv: Invocation) -> None:
    """Create or update the public incident."""
    status, _, text = inv.args.strip().partition(" ")
    if status.lower() not in STATUSES:
        raise p.UsageError(f"Pick a public status: {', '.join(STATUSES)}.", "statuspage")
    message = p.text_arg(text, "public message", "statuspage")
    await inv.store(Publish(**inv.asked(), status=status.lower(), text=message))


async def run_publish(job: Job[Publish], statuspage: StatuspageService) -> None:
    r = job.request
    await once(job.steps, "published", lambda: statuspage.publish(r.channel, r.status, r.text, r.user))


async def resolve_clicked(ack: AsyncAck, body: dict[str, Any], intake: Intake, lifecycle: Lifecycle) -> None:
    """Kept in order with the incident's channel (looked up now), once per press."""
    incident_id = clicked_number(body)  # the button carries the incident id
    if incident_id is not None:
        logs.bind(request_id=body.get("trigger_id"))
        request = ResolvePublic(
            user=body["user"]["id"],
            response_url=body.get("response_url"),
            channel=await lifecycle.channel_of(incident_id),
            trigger_id=body.get("trigger_id"),
            number=incident_id,
        )
        await intake.keep(request)
    await ack()


async def run_resolve_public(
    job: Job[ResolvePublic], permissions: Permissions, statuspage: StatuspageService, slack: SlackOps
) -> None:
    """Idempotent by itself: a public incident already resolved is not resolved again."""
    r = job.request
    try:
        await allowed(permissions, job, Permission.STATUSPAGE)
        incident, link = await statuspage.resolve_public(r.number, r.user)
    except IncidentError as exc:
        await answer(slack, job, error(str(exc)))
        return
    await answer(slack, job, public_resolved(incident, r.user, link), replace=True)
