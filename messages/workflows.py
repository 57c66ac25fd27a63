"""What workflows say: a step's message in the channel, a step that failed for good, and the run's
line on the timeline."""

from __future__ import annotations

import re
from collections.abc import Sequence

from messages.blocks import MAX_SECTION, Message, context, section, truncate
from messages.text import cut, escape, guard, plain

MAX_SAID = 60  # a quoted text in a summary (the timeline's line, the failure's)
MAX_WHY = 120  # a failure's reason on the timeline's line
# An `&` that does not start one of Slack's entities (those are already escaped words).
_BARE_AMP = re.compile(r"&(?!(?:amp|lt|gt);)")


def quoted(text: str, limit: int = MAX_SAID) -> str:
    """Outside text as a short inert quote for a summary: “Exec bridge: https://meet…”."""
    return f"“{escape(cut(' '.join(plain(text).split()), limit))}”"


def reason(why: str, limit: int = 500) -> str:
    """A step's failure as the bot worded it, as one inert line of mrkdwn cut to `limit`: its mentions of
    people stay, words it escaped stay escaped once, any other `<`, `>` or `&` is escaped."""
    text = truncate(" ".join(guard(why, _inert).split()), limit)
    opened = text.rfind("<")
    return text[:opened] + "…" if opened > text.rfind(">") else text  # never half a mention


def _inert(text: str) -> str:
    return _BARE_AMP.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


def posted(workflow: str, sections: Sequence[str]) -> Message:
    """A workflow's message: its rendered sections, and which workflow said it."""
    blocks = [section(s) for s in sections[:20]]
    blocks.append(context(f":gear: Workflow *{escape(workflow)}*"))
    fallback = truncate(sections[0] if sections else f"Workflow {workflow}", MAX_SECTION)
    return Message(text=fallback, blocks=blocks)


def step_failed(workflow: str, index: int, total: int, kind: str, why: str) -> Message:
    """A step that failed for good, said in the channel: which workflow, which step, why (the bot's
    own words: its mentions of people stay, any other markup is made inert)."""
    text = (
        f":warning: Workflow *{escape(workflow)}*: step {index + 1} of {total} (`{kind}`) failed: "
        f"{reason(why)}. The other steps carry on."
    )
    return Message(text=text, blocks=[section(text)])


def run_entry(workflow: str, did: Sequence[str], failed: Sequence[tuple[int, str, str]]) -> str:
    """The run's timeline line: `Workflow *sev1-bridge*: invited <@U0ANA>, posted “…”; step 2
    (`invite`) failed: there is no user group @nope`. `did` is already mrkdwn (each step says what it
    did, escaped); each failure's reason is cut short."""
    parts = [", ".join(d for d in did if d)] if any(did) else []
    parts += [f"step {i + 1} (`{kind}`) failed: {reason(why, MAX_WHY)}" for i, kind, why in failed]
    return truncate(f"Workflow *{escape(workflow)}*: " + ("; ".join(parts) or "nothing to do"), 2000)
