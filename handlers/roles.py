"""Roles and overviews: `/incident commander|ic|scribe|comms <@person>`, `/incident status`,
`/incident list`."""

from __future__ import annotations

from typing import Literal

from slack_bolt.async_app import AsyncApp

from config.permissions import Permission
from handlers import parse as p
from handlers.replies import quiet
from handlers.subcommands import Invocation
from handlers.wiring import Wiring
from messages.status import incident_list, status_summary
from runtime.clock import Clock
from runtime.ops import Command, Job
from services.escalation import Escalation
from services.fields import Fields
from services.lifecycle import Lifecycle
from services.people import People
from services.roles import Roles

RoleKey = Literal["commander", "scribe", "comms"]


class Assign(Command):
    """Giving one of the channel incident's roles to someone (named as the mention spelled them)."""

    OP = "role"
    channel: str
    role: RoleKey
    assignee: str
    assignee_name: str | None = None


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The role subcommands, `status` and `list`, and the op assigning a role."""
    wiring.subcommands.add(
        "commander",
        "ic",
        handler=commander,
        usage=[("<@person>", "Hand over incident command; `ic` works too (incident channel)")],
    )
    wiring.subcommands.add(
        "scribe",
        handler=scribe,
        usage=[("<@person>", "Name the scribe: their messages go on the timeline (incident channel)")],
    )
    wiring.subcommands.add(
        "comms", handler=comms, usage=[("<@person>", "Name the communications lead (incident channel)")]
    )
    wiring.subcommands.add(
        "status",
        handler=status,
        usage=[("", "Severity, status, roles, age and last update, only to you (incident channel)")],
    )
    wiring.subcommands.add(
        "list", handler=list_, usage=[("", "Open incidents with their channels, severities and ages")]
    )
    wiring.answered(Assign, run_assign, Permission.ROLES)


async def _assign(inv: Invocation, role: RoleKey) -> None:
    mention = p.parse_mention(inv.args, role)
    await inv.store(Assign(**inv.asked(), role=role, assignee=mention.user_id, assignee_name=mention.name))


async def commander(inv: Invocation) -> None:
    """Hand over incident command."""
    await _assign(inv, "commander")


async def scribe(inv: Invocation) -> None:
    """Name the scribe, whose messages go on the timeline."""
    await _assign(inv, "scribe")


async def comms(inv: Invocation) -> None:
    """Name the communications lead."""
    await _assign(inv, "comms")


async def run_assign(job: Job[Assign], roles: Roles, people: People) -> str | None:
    r = job.request
    await people.seen({r.assignee: r.assignee_name})
    return quiet(await roles.assign(job.steps, r.channel, r.role, r.assignee, r.user))


async def status(
    inv: Invocation, lifecycle: Lifecycle, escalation: Escalation, clock: Clock, fields: Fields
) -> None:
    """An ephemeral summary of this channel's incident."""
    await inv.ack()

    async def work() -> None:
        incident, last = await lifecycle.overview(inv.channel)
        pages = await escalation.open_pages(incident)
        message = status_summary(incident, last, clock.now(), pages, await fields.shown(incident, "status"))
        await inv.respond(response_type="ephemeral", replace_original=False, **message.kwargs())

    inv.later(work(), "status")


async def list_(inv: Invocation, lifecycle: Lifecycle, clock: Clock) -> None:
    """Open incidents, from any channel."""
    if inv.args.strip():
        raise p.UsageError("`list` takes no arguments.", "list")
    await inv.ack()

    async def work() -> None:
        message = incident_list(await lifecycle.open_incidents(seen_by=inv.user), clock.now())
        await inv.respond(response_type="ephemeral", replace_original=False, **message.kwargs())

    inv.later(work(), "list")
