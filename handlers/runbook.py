"""Runbook cards: `/incident runbook` (every failure mode of the incident's service, one posted on
choice), its Post buttons, and the checkboxes of each card's diagnosis steps.

A tick is stored in the inbox (once per trigger_id) in order with its channel, like every click:
recording it and redrawing the card happen in the worker.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from handlers import parse as p
from handlers.replies import quiet
from handlers.subcommands import Invocation
from handlers.wiring import Wiring
from messages import runbook as templates
from runtime import keys, logs
from runtime.ops import Asked, Click, Intake, Job
from services.runbook_cards import RunbookCards

RUNBOOK_USAGE = [
    ("", "The failure modes of this incident's service; post one's card, a checklist (incident channel)")
]


class PostRunbookMode(Click):
    """A Post button of `/incident runbook`'s list (`number`: the mode's place in the runbook)."""

    OP = "runbook_post"
    digest: str


class TickStep(Asked):
    """A runbook card's step ticked or unticked (`card` and `step` as the checkbox names them)."""

    OP = "runbook_tick"
    channel: str
    card_ts: str
    card: str
    step: str
    checked: bool
    trigger_id: str | None = None

    def order_key(self) -> str:
        return keys.channel(self.channel)

    def idem_key(self) -> str | None:
        return keys.click(self.trigger_id)

    def ref(self) -> templates.StepRef | None:
        """The step, when the stored names still read as one."""
        return templates.parse_step(f"{templates.STEP_ACTION}:{self.card}|{self.step}")


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The subcommand, the list's buttons, the cards' checkboxes, and their ops."""
    wiring.subcommands.add("runbook", handler=runbook, usage=RUNBOOK_USAGE)
    wiring.answered(PostRunbookMode, run_post)
    wiring.answered(TickStep, run_tick)
    app.action(templates.POST_ACTION)(post_clicked)
    app.action(templates.STEP_ACTION_PATTERN)(step_ticked)


async def runbook(inv: Invocation, runbook_cards: RunbookCards) -> None:
    """Read-only: the list is answered after the ack, only to the caller."""
    if inv.args.strip():
        raise p.UsageError("`runbook` takes no arguments: it lists the failure modes to pick.", "runbook")
    await inv.ack()

    async def work() -> str | None:
        message = await runbook_cards.listing(inv.channel)
        await inv.respond(response_type="ephemeral", replace_original=False, **message.kwargs())
        return None

    inv.later(work(), "runbook")


async def post_clicked(ack: AsyncAck, body: dict[str, Any], intake: Intake) -> None:
    """Kept once per press, in order with the channel the list was shown in."""
    action = (body.get("actions") or [{}])[0]
    chosen = templates.posted_from_list(action.get("value"))
    channel = (body.get("channel") or {}).get("id")
    if chosen is not None and channel:
        logs.bind(request_id=body.get("trigger_id"))
        request = PostRunbookMode(
            user=body["user"]["id"],
            user_name=body["user"].get("username"),
            response_url=body.get("response_url"),
            channel=channel,
            trigger_id=body.get("trigger_id"),
            number=chosen[0],
            digest=chosen[1],
        )
        await intake.keep(request)
    await ack()


async def step_ticked(ack: AsyncAck, body: dict[str, Any], intake: Intake) -> None:
    """Kept once per tick, in order with the card's channel."""
    tick = p.checkbox_tick(body)
    ref = templates.parse_step(tick.action_id) if tick else None
    if tick is not None and ref is not None:
        logs.bind(request_id=body.get("trigger_id"))
        request = TickStep(
            **tick.asked,
            channel=tick.channel,
            card_ts=tick.message_ts,
            card=ref.card,
            step=ref.key,
            checked=tick.checked,
        )
        await intake.keep(request)
    await ack()


async def run_post(job: Job[PostRunbookMode], runbook_cards: RunbookCards) -> str | None:
    r = job.request
    return quiet(await runbook_cards.post_chosen(job.steps, r.channel or "", r.number, r.digest))


async def run_tick(job: Job[TickStep], runbook_cards: RunbookCards) -> str | None:
    r = job.request
    ref = r.ref()
    if ref is None:
        return None
    return quiet(await runbook_cards.tick(job.steps, r.channel, r.card_ts, ref, r.checked, r.user))
