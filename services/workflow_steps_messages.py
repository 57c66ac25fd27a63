"""Workflow steps that reach people or mark the channel: `dm`, `checklist` and `bookmark`.

A DM goes to each person once: who they are is settled on the first attempt, and each DM is its own
journal entry, so a retry after a failure sends only the ones not yet sent. A private incident's DM to
someone outside its channel is redacted as its announcement is.
"""

from __future__ import annotations

from typing import Any

from config.workflow_steps import ROLE_NAMES, Bookmark, Checklist, Dm, Step
from messages import workflow_checklists as templates
from messages.blocks import Message
from messages.text import plain
from messages.workflows import quoted
from runtime.slack_ops import SlackOpError, SlackOps
from services.wording import Wording
from services.workflow_steps import _words, outcome, reach
from services.workflows import StepContext, StepFn


async def _recipients(ctx: StepContext, step: Dm, slack: SlackOps) -> dict[str, Any]:
    """Who the step names (`reach`), with `outside`: those not in a private incident's channel."""
    found = await reach(
        slack, step.to, {role: getattr(ctx.incident, f"{role}_id", None) for role in ROLE_NAMES}
    )
    found["outside"] = []
    if ctx.incident.private:
        members = await slack.channel_members(ctx.channel)
        found["outside"] = [p for p in found["people"] if p not in members]
    return found


async def _send(slack: SlackOps, person: str, message: Message) -> Any:
    """One DM: [channel, ts], or `{"failed": why}` when Slack will never take it."""
    try:
        return list(await slack.dm(person, message))
    except SlackOpError as exc:
        if exc.transient:
            raise
        return {"failed": exc.error}


async def dm(ctx: StepContext, step: Dm, slack: SlackOps, words: Wording) -> str:
    """DM the step's words to each person, user group member and role holder it names, once each (a
    private incident's redacted for people outside its channel); a group or role with nobody, or a DM
    Slack refuses, fails the step once the others have theirs."""
    said = await _words(ctx, words, step.text, step.template)
    found = await ctx.once("dm.who", lambda: _recipients(ctx, step, slack))
    hidden = await _words(ctx, words, step.text, step.template, outside=True) if found["outside"] else said
    full = templates.direct(ctx.workflow, ctx.incident.ref, ctx.channel, said)
    redacted = templates.direct(ctx.workflow, ctx.incident.ref, ctx.channel, hidden)
    refused: dict[str, str] = {}
    for person in found["people"]:
        message = redacted if person in found["outside"] else full
        sent = await ctx.once(f"dm.{person}", lambda p=person, m=message: _send(slack, p, m))  # type: ignore[misc]
        if isinstance(sent, dict):
            refused[person] = str(sent["failed"])
    return outcome(found, refused, "sent a DM to", "send a DM to")


async def checklist(ctx: StepContext, step: Checklist, slack: SlackOps) -> str:
    """Post the items with a checkbox each; ticks go on the timeline (services/workflow_checklists.py)."""
    message = templates.checklist(ctx.workflow, ctx.index, step.title, step.items, {})
    await ctx.once("checklist", lambda: slack.post(ctx.channel, message))
    count = len(step.items)
    return f"posted the checklist {quoted(step.title)} ({count} item{'s' if count != 1 else ''})"


async def bookmark(ctx: StepContext, step: Bookmark, slack: SlackOps) -> str:
    """Add the link to the channel's bookmarks."""
    await slack.bookmark(ctx.channel, plain(step.title), step.url)
    return f"bookmarked {quoted(step.title)}"


STEPS: tuple[tuple[type[Step], StepFn], ...] = ((Dm, dm), (Checklist, checklist), (Bookmark, bookmark))
