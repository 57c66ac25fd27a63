"""A workflow checklist's ticks: each one on the timeline with who and when (once per change, like a
runbook card's steps, in the same table), then the checklist drawn again for everyone."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from config.policy import Policy
from config.workflow_steps import Checklist
from domain.errors import IncidentError
from messages import workflow_checklists as templates
from messages.blocks import truncate
from messages.workflow_checklists import ItemRef, Ticked
from runtime.journal import Outcome, Steps
from services.workflows import Workflows
from storage.repositories import IncidentRepo, TimelineRepo
from storage.runbooks import RunbookCheckRepo

CHANGED = "The workflow changed since this checklist was posted: its ticks can no longer be recorded."


def checklist_of(policy: Policy, ref: ItemRef) -> Checklist:
    """The checklist step a checkbox belongs to, as the policy has it; refused when it has changed."""
    workflow = next((w for w in policy.workflows if w.name == ref.workflow), None)
    steps = workflow.do if workflow else ()
    step = steps[ref.step] if ref.step < len(steps) else None
    if not isinstance(step, Checklist) or templates.digest(step.title, step.items) != ref.digest:
        raise IncidentError(CHANGED)
    if ref.item >= len(step.items):
        raise IncidentError(CHANGED)
    return step


async def tick(
    steps: Steps,
    workflows: Workflows,
    policy: Policy,
    channel_id: str,
    message_ts: str,
    ref: ItemRef,
    checked: bool,
    by: str,
) -> Outcome:
    """Record an item ticked (or unticked) on the timeline, once; then show the checklist as it is."""
    db, slack, team_id = workflows.db, workflows.slack, workflows.team_id
    step = checklist_of(policy, ref)
    item = truncate(step.items[ref.item], 300)

    async def record(s: AsyncSession) -> int:
        incident = await IncidentRepo(s, team_id).by_channel(channel_id)
        if incident is None:
            raise IncidentError("This checklist's incident is gone.")
        who = by if checked else None
        if await RunbookCheckRepo(s, incident.id).set(message_ts, f"w{ref.item}", item, who, steps.at):
            said = f"{'Checked' if checked else 'Unchecked'}: {item}"
            await TimelineRepo(s).record(incident.id, "checklist", said, steps.at, author_id=by)
        return incident.id

    incident_id = await steps.db("record", record)
    async with db.session() as s:
        incident = await IncidentRepo(s, team_id).get(incident_id)
        rows = await RunbookCheckRepo(s, incident_id).of_card(message_ts)
    assert incident is not None
    ticks = {
        int(k[1:]): Ticked(r.checked_by, r.checked_at)
        for k, r in rows.items()
        if k.startswith("w") and k[1:].isdigit() and r.checked_by and r.checked_at
    }
    message = templates.checklist(ref.workflow, ref.step, step.title, step.items, ticks)
    out = Outcome(incident, steps)
    await out.step("checklist", lambda: slack.update(channel_id, message_ts, message))
    return out
