"""Experts: `/incident expert [area]` in a service's incident channel lists the areas of its runbook,
or invites one area's Slack user group and says so on the timeline."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from config.permissions import Permission
from handlers.replies import quiet
from handlers.subcommands import Invocation
from handlers.wiring import Wiring
from runtime.ops import Command, Job
from services.experts import Experts

USAGE = [
    ("", "The experts of this incident's service, by area (from its runbook)"),
    ("<area>", "Invite that area's user group here (database, networking…) and say so on the timeline"),
]
MAX_AREA = 100


class BringExperts(Command):
    """One area's expert group, invited into the channel's incident."""

    OP = "expert"
    channel: str
    area: str


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The subcommand (also `experts`) and its op."""
    wiring.subcommands.add("expert", "experts", handler=expert, usage=USAGE)
    wiring.answered(BringExperts, run_expert, Permission.EXPERT)


async def expert(inv: Invocation, experts: Experts) -> None:
    """Without an area a read-only list, answered after the ack; with one, a stored request."""
    area = " ".join(inv.args.split())
    if area:
        await inv.store(BringExperts(**inv.asked(), area=area[:MAX_AREA]))
        return
    await inv.ack()

    async def work() -> str | None:
        message = await experts.listing(inv.channel)
        await inv.respond(response_type="ephemeral", replace_original=False, **message.kwargs())
        return None

    inv.later(work(), "experts")


async def run_expert(job: Job[BringExperts], experts: Experts) -> str | None:
    r = job.request
    return quiet(await experts.bring_in(job.steps, r.channel, r.area, r.user))
