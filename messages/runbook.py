"""The runbook card of a service's incident (its facts and the failure modes with their diagnosis steps
as a checklist), and `/incident runbook`'s list of every failure mode. Runbook text is escaped here."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.catalog import Service
from domain.runbooks import DiagnosisStep, FailureMode
from messages.blocks import (
    MAX_BLOCKS,
    MAX_SECTION,
    Block,
    Message,
    context,
    header,
    section,
    truncate,
    utc_time,
)
from messages.text import code, escape

STEP_ACTION = "runbook_step"  # a step's checkbox: `runbook_step:<card>|<step>`
STEP_ACTION_PATTERN = re.compile(rf"^{STEP_ACTION}:")
POST_ACTION = "runbook_post"  # a failure mode's Post button in `/incident runbook`'s list
FOOTER = "Tick a step when it is done: it goes on the timeline. `/incident runbook` lists every failure mode."
CUT = "\n_… (cut; see the runbook)_"
MAX_DASHBOARDS = 10
MAX_LISTED = MAX_BLOCKS - 2  # the list's head and its "more" line
_FENCES = len("\n```\n\n```")
_STEP_ID = re.compile(rf"{STEP_ACTION}:([mc])(\d{{1,4}}(?:,\d{{1,4}}){{0,2}})\|(\d{{1,4}})\.(\d{{1,4}})")
_USER = re.compile(r"[UW][A-Z0-9]{2,30}")


@dataclass(frozen=True)
class Shown:
    """A failure mode on a card: its place among the service's modes, and why it was matched."""

    index: int
    mode: FailureMode
    why: str = ""


@dataclass(frozen=True)
class Tick:
    """Who ticked a step, and when."""

    by: str
    at: datetime


@dataclass(frozen=True)
class StepRef:
    """A checkbox of a card: the card's kind (`m` matched, `c` chosen) and modes, and the step's key."""

    kind: str
    modes: tuple[int, ...]
    mode: int
    step: int

    @property
    def card(self) -> str:
        """The card's part of the id (`m0,2`): enough to draw the card again."""
        return self.kind + ",".join(map(str, self.modes))

    @property
    def key(self) -> str:
        """The step within the card (`2.3`: the third mode of the service, its fourth step)."""
        return f"{self.mode}.{self.step}"


def parse_step(action_id: str | None) -> StepRef | None:
    """The step a checkbox's action_id names; None for anything else."""
    m = _STEP_ID.fullmatch(action_id or "")
    if m is None:
        return None
    return StepRef(m.group(1), tuple(int(x) for x in m.group(2).split(",")), int(m.group(3)), int(m.group(4)))


def parse_card(card: str) -> tuple[str, tuple[int, ...]] | None:
    """A card id (`m0,2`) as its kind and modes; None when it is not one."""
    ref = parse_step(f"{STEP_ACTION}:{card}|0.0")
    return (ref.kind, ref.modes) if ref else None


def mode_digest(mode: FailureMode) -> str:
    """A short fingerprint of a mode's name, so a list's button cannot post a mode the runbook has
    since replaced."""
    return hashlib.sha256(mode.name.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Card:
    """What a card shows: the service, its modes (matched to `title`, or one chosen), who owns and is
    on call for it, the alert's runbook link, and the ticked steps (by step key)."""

    service: Service
    shown: tuple[Shown, ...]
    chosen: bool = False
    title: str = ""
    owner_is_group: bool | None = None  # None: not known (not asked, or Slack did not say)
    on_call: tuple[str, ...] | None = None  # None: the service has no schedule
    runbook_url: str | None = None
    ticks: Mapping[str, Tick] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return ("c" if self.chosen else "m") + ",".join(str(s.index) for s in self.shown)


def is_user(user: str) -> bool:
    """Whether a name from a schedule is a Slack user id (shown as a mention), not text."""
    return _USER.fullmatch(user) is not None


def _who(user: str) -> str:
    return f"<@{user}>" if is_user(user) else escape(user)


def _mode(s: Shown) -> Block:
    mode = s.mode
    ref = f"{truncate(escape(mode.reference), 30)} · " if mode.reference else ""
    lines = [f":mag: {ref}*{truncate(escape(mode.name), 200)}*" + (f"  _{escape(s.why)}_" if s.why else "")]
    said = [f"Severity {truncate(escape(mode.severity), 40)}"] if mode.severity else []
    said += [f"Recovery time {truncate(escape(mode.time), 40)}"] if mode.time else []
    if said:
        lines.append(" · ".join(said))
    if mode.symptoms:
        lines.append("Symptoms: " + "; ".join(truncate(escape(x), 200) for x in mode.symptoms[:5]))
    return section("\n".join(lines))


def _code(raw: str, room: int) -> str:
    """The step's code as a ``` block within `room` characters: cut (at a line end when one is near)
    with a note when it does not fit."""
    if not raw.strip():
        return ""
    whole = f"\n```\n{code(raw)}\n```"
    if len(whole) <= room:
        return whole
    budget = max(0, room - _FENCES - len(CUT))
    text = raw[:budget]
    line_end = text.rfind("\n")
    if line_end > budget // 2:
        text = text[:line_end]
    inner = code(text)
    while len(inner) > budget:  # escaping lengthened it: cut the raw text by the excess
        text = text[: max(0, len(text) - (len(inner) - budget) - 1)]
        inner = code(text)
    return f"\n```\n{inner}\n```{CUT}"


def _step(c: Card, s: Shown, number: int, step: DiagnosisStep) -> Block:
    key = f"{s.index}.{number}"
    tick = c.ticks.get(key)
    head = f"*{number + 1}. {truncate(escape(step.title), 300) or 'Step'}*"
    if step.detail:
        head += "\n" + truncate(escape(step.detail), 600)
    tail = f"\n:white_check_mark: checked by {_who(tick.by)} at {utc_time(tick.at)}" if tick else ""
    text = head + _code(step.code, MAX_SECTION - len(head) - len(tail)) + tail
    option = {"text": {"type": "plain_text", "text": "Checked"}, "value": key}
    accessory: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": f"{STEP_ACTION}:{c.ref}|{key}",
        "options": [option],
    }
    if tick:
        accessory["initial_options"] = [option]
    # The block id changes with the tick, so every client shows the new state rather than its own.
    return {
        "type": "section",
        "block_id": f"step-{key}-{'y' if tick else 'n'}",
        "text": {"type": "mrkdwn", "text": text},
        "accessory": accessory,
    }


def _more(count: int) -> Block:
    return context(f"{count} more step{'s' if count != 1 else ''} in the runbook")


def card(c: Card, head: Sequence[str]) -> Message:
    """The card: header, its head (the `runbook_card` template's sections: owner, on call, dashboards…),
    then each mode with its steps as checkboxes, within 50 blocks."""
    service = c.service
    name = service.title if service.title.lower() == service.name else f"{service.title} ({service.name})"
    blocks: list[Block] = [header(f"Runbook: {name}"), *(section(text) for text in head)]
    footer = context(FOOTER)
    room = MAX_BLOCKS - len(blocks) - 1
    for n, s in enumerate(c.shown):
        later = 2 * (len(c.shown) - n - 1)  # each later mode keeps room for its name and a "more" line
        steps = list(s.mode.steps)
        fit = room - later - 1
        shown = steps if len(steps) <= fit else steps[: max(0, fit - 1)]
        blocks.append(_mode(s))
        blocks += [_step(c, s, i, step) for i, step in enumerate(shown)]
        if not steps:
            blocks.append(context("No diagnosis steps in the runbook for this one."))
        elif len(shown) < len(steps):
            blocks.append(_more(len(steps) - len(shown)))
        room = MAX_BLOCKS - len(blocks) - 1
    blocks.append(footer)
    names = ", ".join(s.mode.name for s in c.shown) or "no matching failure mode"
    return Message(text=truncate(escape(f"Runbook of {service.name}: {names}"), 300), blocks=blocks)


def mode_list(service: Service, incident_ref: str) -> Message:
    """Every failure mode of the service's runbook, each with a button posting its card here."""
    modes = service.failure_modes
    if not modes:
        return Message(text=f"The runbook of `{escape(service.name)}` names no failure modes.")
    title = truncate(escape(service.title), 150)
    head = section(f"*Failure modes of {title}* ({incident_ref}): post one here, its steps as a checklist.")
    blocks: list[Block] = [head]
    for index, mode in enumerate(modes[:MAX_LISTED]):
        count = len(mode.steps)
        about = f"{count} diagnosis step{'s' if count != 1 else ''}"
        if mode.symptoms:
            about += " · " + truncate(escape(mode.symptoms[0]), 200)
        block = section(f"*{truncate(escape(mode.name), 200)}*\n{about}")
        block["accessory"] = {
            "type": "button",
            "action_id": POST_ACTION,
            "text": {"type": "plain_text", "text": "Post"},
            "value": f"{index}:{mode_digest(mode)}",
        }
        blocks.append(block)
    if len(modes) > MAX_LISTED:
        blocks.append(context(f"{len(modes) - MAX_LISTED} more in the runbook"))
    return Message(text=f"Failure modes of {title}", blocks=blocks)


def posted_from_list(value: str | None) -> tuple[int, str] | None:
    """A Post button's value as (the mode's index, its digest); None when it is not one."""
    index, _, digest = (value or "").partition(":")
    return (int(index), digest) if index.isdigit() and len(index) <= 4 and digest else None
