"""What workflows say: a step's message in the channel, a step that failed for good, and the run's
line on the timeline."""

from __future__ import annotations

from collections.abc import Sequence

from messages.blocks import MAX_SECTION, Message, context, section, truncate
from messages.text import escape, guard, plain

MAX_SAID = 60  # a quoted text in a summary (the timeline's line, the failure's)


def quoted(text: str, limit: int = MAX_SAID) -> str:
    """Outside text as a short inert quote for a summary: “Exec bridge: https://meet…”."""
    return f"“{escape(truncate(' '.join(plain(text).split()), limit))}”"


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
        f"{guard(truncate(why, 500))}. The other steps carry on."
    )
    return Message(text=text, blocks=[section(text)])


def run_entry(workflow: str, did: Sequence[str], failed: Sequence[tuple[int, str]]) -> str:
    """The run's timeline line: `Workflow *sev1-bridge*: invited <@U0ANA>, posted “…”; step 2
    (`invite`) failed`. `did` is already mrkdwn (each step says what it did, escaped)."""
    parts = [", ".join(d for d in did if d)] if any(did) else []
    parts += [f"step {i + 1} (`{kind}`) failed" for i, kind in failed]
    return truncate(f"Workflow *{escape(workflow)}*: " + ("; ".join(parts) or "nothing to do"), 2000)
