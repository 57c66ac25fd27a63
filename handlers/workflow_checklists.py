"""The checkboxes of a workflow's checklist: a tick is kept in the inbox (once per trigger_id) in order
with its channel, like every click; recording it and redrawing the checklist happen in the worker."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from config.policy import Policy
from handlers import parse as p
from handlers.replies import quiet
from handlers.wiring import Wiring
from messages import workflow_checklists as templates
from runtime import keys, logs
from runtime.ops import Asked, Intake, Job
from services import workflow_checklists
from services.workflows import Workflows


class TickChecklistItem(Asked):
    """A workflow checklist's item ticked or unticked (`item` as its checkbox names it)."""

    OP = "workflow_checklist_tick"
    channel: str
    message_ts: str
    item: str
    checked: bool
    trigger_id: str | None = None

    def order_key(self) -> str:
        return keys.channel(self.channel)

    def idem_key(self) -> str | None:
        return keys.click(self.trigger_id)

    def ref(self) -> templates.ItemRef | None:
        """The item, when the stored action_id still reads as one."""
        return templates.parse_item(self.item)


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The checklists' checkboxes and their op."""
    wiring.answered(TickChecklistItem, run_tick)
    app.action(templates.CHECK_ACTION_PATTERN)(item_ticked)


async def item_ticked(ack: AsyncAck, body: dict[str, Any], intake: Intake) -> None:
    """Kept once per tick, in order with the checklist's channel."""
    tick = p.checkbox_tick(body)
    ref = templates.parse_item(tick.action_id) if tick else None
    if tick is not None and ref is not None:
        logs.bind(request_id=body.get("trigger_id"))
        request = TickChecklistItem(
            **tick.asked,
            channel=tick.channel,
            message_ts=tick.message_ts,
            item=ref.action_id,
            checked=tick.checked,
        )
        await intake.keep(request)
    await ack()


async def run_tick(job: Job[TickChecklistItem], workflows: Workflows, policy: Policy) -> str | None:
    r = job.request
    ref = r.ref()
    if ref is None:
        return None
    out = await workflow_checklists.tick(
        job.steps, workflows, policy, r.channel, r.message_ts, ref, r.checked, r.user
    )
    return quiet(out)
