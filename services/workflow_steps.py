"""Workflow steps that speak in the channel or shape it: `post`, `invite`, `topic`.

A step is `async (ctx, step, <workspace services by name>) -> what it did` (mrkdwn, escaped); it
raises StepFailed for what cannot be done, and lets a SlackOpError through (transient: retried; for
good: said). `STEPS` pairs each step's config model with its function; handlers/workflows.py adds them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from config.workflow_steps import Invite, Post, Step, Topic
from messages.blocks import MAX_TOPIC, truncate
from messages.templating import TemplateError
from messages.text import escape, plain, unentities
from messages.workflows import posted, quoted
from runtime.slack_ops import SlackOps
from services.wording import Wording
from services.workflows import StepContext, StepFailed, StepFn


async def _words(
    ctx: StepContext, words: Wording, text: str | None, template: str | None, outside: bool = False
) -> list[str]:
    """The step's words rendered for the incident (redacted, for a private one, for people `outside` its
    channel); StepFailed when they do not render."""
    try:
        said = await words.workflow(ctx.incident, ctx.said, text, template, ctx.where, outside)
    except TemplateError as exc:
        raise StepFailed(f"its words do not render ({exc.problem})") from None
    if not said:
        raise StepFailed("its words render as nothing")
    return said


async def reach(slack: SlackOps, targets: Sequence[str], roles: Mapping[str, str | None]) -> dict[str, Any]:
    """Who `targets` name (people, user groups by id or @handle, the holders of `roles`), as the journal
    keeps it: `named` ([how each is named, its people]), `missing` (each naming nobody) and `people`
    (each once, never the bot)."""
    named: list[list[Any]] = []
    missing: list[str] = []
    for who in targets:
        if who in roles:
            holder = roles[who]
            if holder:
                named.append([f"the {who} <@{holder}>", [holder]])
            else:
                missing.append(f"no {who}")
        elif who.startswith(("U", "W")):
            named.append([f"<@{who}>", [who]])
        else:
            group = await slack.usergroup_id(who) if who.startswith("@") else who
            members = None if group is None else await slack.known_usergroup_members(group)
            if members is None:
                missing.append(f"no user group {escape(who)}")
                continue
            handle = who.removeprefix("@") if who.startswith("@") else await slack.usergroup_handle(who)
            named.append([escape(f"@{handle}") if handle else f"user group `{escape(who)}`", members])
    me = await slack.bot_user_id()
    people = [p for _, each in named for p in each if p != me]
    return {"named": named, "missing": missing, "people": list(dict.fromkeys(people))}


def outcome(found: dict[str, Any], refused: Mapping[str, str], did: str, could_not: str) -> str:
    """What a step reaching people did (`did` and who it reached); StepFailed, naming what named nobody
    and who Slack refused (`could_not` and why), when not everyone was reached."""
    named = [label for label, each in found["named"] if not each or set(each) - refused.keys()]
    done = f"{did} {', '.join(named)}" if named else ""
    problems = [f"there is {', '.join(found['missing'])}"] if found["missing"] else []
    if refused:
        problems.append(
            f"could not {could_not} " + ", ".join(f"<@{p}> ({escape(e)})" for p, e in refused.items())
        )
    if problems:
        raise StepFailed((f"{done}, but " if done else "") + " and ".join(problems))
    return done


async def post(ctx: StepContext, step: Post, slack: SlackOps, words: Wording) -> str:
    """Post the step's words in the incident channel, signed with the workflow's name."""
    said = await _words(ctx, words, step.text, step.template)
    await slack.post(ctx.channel, posted(ctx.workflow, said))
    # The words as posted (rendered), not the template's source.
    return f"posted {quoted(unentities(' '.join(said)))}"


async def invite(ctx: StepContext, step: Invite, slack: SlackOps) -> str:
    """Invite people and the members of user groups (by id or @handle); a group Slack does not know, or
    a person it will not let in, fails the step once everyone else is in. Who that is is settled once."""
    found = await ctx.once("invite.who", lambda: reach(slack, step.who, {}))
    refused = await slack.invite_each(ctx.channel, found["people"])
    return outcome(found, refused, "invited", "invite")


async def topic(ctx: StepContext, step: Topic, slack: SlackOps, words: Wording) -> str:
    """Set the channel topic to the step's words (plain text, cut to Slack's 250 characters)."""
    said = await _words(ctx, words, step.text, None)
    text = truncate(" ".join(plain(unentities(" ".join(said))).split()), MAX_TOPIC)
    await slack.set_topic(ctx.channel, text)
    return f"set the topic to {quoted(text)}"


STEPS: tuple[tuple[type[Step], StepFn], ...] = ((Post, post), (Invite, invite), (Topic, topic))
