"""Workflow steps that reach people or mark the channel: `dm`, `checklist` and `bookmark`.

A DM goes to each person once: who they are is settled on the first attempt, and each DM is its own
journal entry, so a retry after a failure sends only the ones not yet sent.
"""

from __future__ import annotations

from config.workflow_steps import ROLE_NAMES, Bookmark, Checklist, Dm, Step
from messages import workflow_checklists as templates
from messages.text import escape, plain
from messages.workflows import quoted
from runtime.slack_ops import SlackOps
from services.wording import Wording
from services.workflow_steps import _words
from services.workflows import StepContext, StepFailed, StepFn


async def _recipients(ctx: StepContext, step: Dm, slack: SlackOps) -> dict[str, list[str]]:
    """Who the step names, as people: `{"people": [...], "named": [...], "missing": [...]}`."""
    people: list[str] = []
    named: list[str] = []
    missing: list[str] = []
    for who in step.to:
        if who in ROLE_NAMES:
            holder = getattr(ctx.incident, f"{who}_id", None)
            if holder:
                people.append(holder)
                named.append(f"the {who} <@{holder}>")
            else:
                missing.append(f"no {who}")
        elif who.startswith(("U", "W")):
            people.append(who)
            named.append(f"<@{who}>")
        else:
            group = await slack.usergroup_id(who) if who.startswith("@") else who
            if group is None:
                missing.append(f"no user group {who}")
                continue
            people += await slack.usergroup_members(group)
            named.append(escape(who) if who.startswith("@") else f"user group `{escape(who)}`")
    me = await slack.bot_user_id()
    return {"people": [p for p in dict.fromkeys(people) if p != me], "named": named, "missing": missing}


async def dm(ctx: StepContext, step: Dm, slack: SlackOps, words: Wording) -> str:
    """DM the step's words to each person, user group member and role holder it names, once each; a
    group or role with nobody fails the step once the others have theirs."""
    said = await _words(ctx, words, step.text, step.template)
    found = await ctx.once("dm.to", lambda: _recipients(ctx, step, slack))
    message = templates.direct(ctx.workflow, ctx.incident.ref, ctx.channel, said)
    for person in found["people"]:
        await ctx.once(f"dm.{person}", lambda p=person: slack.dm(p, message))  # type: ignore[misc]
    sent = f"sent a DM to {', '.join(found['named'])}" if found["named"] else ""
    if found["missing"]:
        raise StepFailed(f"{sent + ', but there is ' if sent else 'there is '}{', '.join(found['missing'])}")
    return sent


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
