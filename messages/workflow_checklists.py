"""What a workflow's `dm` and `checklist` steps send: a DM pointing at the incident, and a checklist whose
items carry checkboxes (who ticked each, and when, once ticked)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from messages.blocks import MAX_SECTION, Block, Message, context, header, section, truncate, utc_time
from messages.text import escape

CHECK_ACTION = "workflow_check"  # an item's checkbox: `workflow_check:<workflow>|<step>.<item>|<digest>`
CHECK_ACTION_PATTERN = re.compile(rf"^{CHECK_ACTION}:")
_CHECK_ID = re.compile(
    rf"{CHECK_ACTION}:([a-z0-9][a-z0-9_-]{{0,59}})\|(\d{{1,3}})\.(\d{{1,3}})\|([0-9a-f]{{8}})"
)
_USER = re.compile(r"[UW][A-Z0-9]{2,30}")


@dataclass(frozen=True)
class ItemRef:
    """A checklist item's checkbox: the workflow, its step's place in `do`, the item, the list's digest."""

    workflow: str
    step: int
    item: int
    digest: str

    @property
    def action_id(self) -> str:
        """The checkbox's action_id."""
        return f"{CHECK_ACTION}:{self.workflow}|{self.step}.{self.item}|{self.digest}"


@dataclass(frozen=True)
class Ticked:
    """Who ticked an item, and when."""

    by: str
    at: datetime


def parse_item(action_id: str | None) -> ItemRef | None:
    """The item a checkbox's action_id names; None for anything else."""
    m = _CHECK_ID.fullmatch(action_id or "")
    return ItemRef(m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)) if m else None


def digest(title: str, items: Sequence[str]) -> str:
    """A short fingerprint of a checklist, so a tick never lands on an item the policy has since changed."""
    return hashlib.sha256("\n".join([title, *items]).encode()).hexdigest()[:8]


def checklist(
    workflow: str, step: int, title: str, items: Sequence[str], ticks: Mapping[int, Ticked]
) -> Message:
    """The checklist: its title, one checkbox per item (ticked ones say by whom and when), and which
    workflow posted it. Items are the policy's words, shown inert."""
    mark = digest(title, items)
    blocks: list[Block] = [header(title)]
    for i, item in enumerate(items):
        tick = ticks.get(i)
        tail = f"\n:white_check_mark: checked by {_who(tick.by)} at {utc_time(tick.at)}" if tick else ""
        text = truncate(escape(item), MAX_SECTION - len(tail)) + tail
        option = {"text": {"type": "plain_text", "text": "Done"}, "value": str(i)}
        accessory: dict[str, Any] = {
            "type": "checkboxes",
            "action_id": ItemRef(workflow, step, i, mark).action_id,
            "options": [option],
        }
        if tick:
            accessory["initial_options"] = [option]
        # The block id changes with the tick, so every client shows the new state rather than its own.
        blocks.append(
            {
                "type": "section",
                "block_id": f"item-{i}-{'y' if tick else 'n'}",
                "text": {"type": "mrkdwn", "text": text},
                "accessory": accessory,
            }
        )
    blocks.append(context(f":gear: Workflow *{escape(workflow)}*: tick an item when it is done"))
    return Message(text=truncate(f"Checklist: {escape(title)}", MAX_SECTION), blocks=blocks)


def direct(workflow: str, ref: str, channel: str, sections: Sequence[str]) -> Message:
    """A workflow's DM: its rendered sections, then which incident and workflow it is about."""
    blocks = [section(s) for s in sections[:20]]
    blocks.append(context(f":gear: Workflow *{escape(workflow)}* for {escape(ref)} in <#{channel}>"))
    fallback = truncate(sections[0] if sections else f"Workflow {workflow}", MAX_SECTION)
    return Message(text=fallback, blocks=blocks)


def _who(user_id: str) -> str:
    return f"<@{user_id}>" if _USER.fullmatch(user_id) else escape(user_id)
