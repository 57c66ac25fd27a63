"""Workflow steps that speak in the channel or shape it: `post`, `invite`, `topic`.

A step is `async (ctx, step, <workspace services by name>) -> what it did` (mrkdwn, escaped); it
raises StepFailed for what cannot be done, and lets a SlackOpError through (transient: retried; for
good: said). `STEPS` pairs each step's config model with its function; handlers/workflows.py adds them.
"""

from __future__ import annotations

from config.workflow_steps import Invite, Post, Step, Topic
from messages.blocks import MAX_TOPIC, truncate
from messages.templating import TemplateError
from messages.text import escape, plain, unentities
from messages.workflows import posted, quoted
from runtime.slack_ops import SlackOps
from services.wording import Wording
from services.workflows import StepContext, StepFailed, StepFn


async def _words(ctx: StepContext, words: Wording, text: str | None, template: str | None) -> list[str]:
    """The step's words rendered for the incident; StepFailed when they do not render."""
    try:
        said = await words.workflow(ctx.incident, ctx.said, text, template, ctx.where)
    except TemplateError as exc:
        raise StepFailed(f"its words do not render ({exc.problem})") from None
    if not said:
        raise StepFailed("its words render as nothing")
    return said


async def post(ctx: StepContext, step: Post, slack: SlackOps, words: Wording) -> str:
    """Post the step's words in the incident channel, signed with the workflow's name."""
    said = await _words(ctx, words, step.text, step.template)
    await slack.post(ctx.channel, posted(ctx.workflow, said))
    # The words as posted (rendered), not the template's source.
    return f"posted {quoted(unentities(' '.join(said)))}"


async def invite(ctx: StepContext, step: Invite, slack: SlackOps) -> str:
    """Invite people and the members of user groups (by id or @handle); a handle no group has fails
    the step once everyone found is in."""
    people: list[str] = []
    named: list[str] = []
    missing: list[str] = []
    for who in step.who:
        if who.startswith(("U", "W")):
            people.append(who)
            named.append(f"<@{who}>")
            continue
        group = await slack.usergroup_id(who) if who.startswith("@") else who
        if group is None:
            missing.append(who)
            continue
        people += await slack.usergroup_members(group)
        named.append(escape(who) if who.startswith("@") else f"user group `{escape(who)}`")
    me = await slack.bot_user_id()
    await slack.invite(ctx.channel, [p for p in dict.fromkeys(people) if p != me])
    if missing:
        found = f"invited {', '.join(named)}, but " if named else ""
        raise StepFailed(f"{found}there is no user group {', '.join(missing)}")
    return f"invited {', '.join(named)}"


async def topic(ctx: StepContext, step: Topic, slack: SlackOps, words: Wording) -> str:
    """Set the channel topic to the step's words (plain text, cut to Slack's 250 characters)."""
    said = await _words(ctx, words, step.text, None)
    text = truncate(" ".join(plain(unentities(" ".join(said))).split()), MAX_TOPIC)
    await slack.set_topic(ctx.channel, text)
    return f"set the topic to {quoted(text)}"


STEPS: tuple[tuple[type[Step], StepFn], ...] = ((Post, post), (Invite, invite), (Topic, topic))
