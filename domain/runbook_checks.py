"""What is wrong with a runbook, each problem at its line, as `incident-bot runbooks check` reports it.

Errors make the bot read the runbook wrongly or not at all: no failure modes, text cut at the 1 MB
cap, an escalation path out of order. Warnings leave something out the bot can do without: a failure
mode without diagnosis steps, no owner (or an owner that is no @handle), an expert without a handle.
Whether a schedule or a handle exists is Slack's to say: nothing here checks it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from domain import markdown as md
from domain.durations import format_duration
from domain.runbooks import MAX_TEXT, EscalationLevel, Runbook

_SHOWN = 80  # characters of a name quoted in a message


@dataclass(frozen=True)
class Problem:
    """One thing wrong at a line of the runbook (1 for the runbook as a whole)."""

    line: int
    message: str
    error: bool = False

    @property
    def kind(self) -> str:
        """`error` or `warning`."""
        return "error" if self.error else "warning"


def find_problems(text: str, runbook: Runbook, overrides: Collection[str] = ()) -> tuple[Problem, ...]:
    """The problems of `runbook` (read from `text`), in line order; `overrides` names the keys the
    policy file sets over the runbook (`owner`, `experts`), whose absence is then no problem."""
    lines = md.lines(text[:MAX_TEXT])
    found: list[Problem] = []
    if runbook.truncated:
        found.append(
            Problem(
                max(len(lines), 1),
                f"longer than the {MAX_TEXT:,} character cap: the text after this line is not read",
                error=True,
            )
        )
    if not runbook.failure_modes:
        found.append(
            Problem(
                1,
                "no failure modes: head each one `## Incident: <name>` (or `### Issue N: <name>`, "
                "`## RB-00N: <name>`, or a whole `# RUN-XXX: <title>` runbook)",
                error=True,
            )
        )
    for mode in runbook.failure_modes:
        if not mode.steps:
            line = mode.line or _table_row(lines, mode.name)
            where = "" if mode.line else " (it has a Quick Reference row but no section)"
            found.append(Problem(line, f"failure mode {_quoted(mode.name)} has no diagnosis steps{where}"))
    if "owner" not in overrides:
        found += _owner(lines, runbook.owner)
    found += _escalation(runbook.escalation)
    if "experts" not in overrides:
        found += [
            Problem(e.line or 1, f"expert {_quoted(e.area)} names no @handle: {_quoted(e.handle)}")
            for e in runbook.experts
            if not e.handle.startswith("@")
        ]
    return tuple(sorted(found, key=lambda p: p.line))


def _quoted(text: str) -> str:
    text = " ".join(text.split())
    return f"“{text[:_SHOWN]}…”" if len(text) > _SHOWN else f"“{text}”"


def _table_row(lines: list[md.Line], name: str) -> int:
    """The line of the table row a failure mode comes from (1 when none is found)."""
    for line in lines:
        cells = line.head.strip().strip("|").split("|")
        if not line.code and line.head.lstrip().startswith("|") and cells[0].strip() == name:
            return line.number
    return 1


def _owner(lines: list[md.Line], owner: str) -> list[Problem]:
    if not owner:
        return [Problem(1, "no owner: add `**Owner**: @team` (or `owner` in the policy file)")]
    if owner.startswith("@"):
        return []
    line = next((x.number for x in lines if not x.code and x.head.lstrip().lower().startswith("**owner")), 1)
    return [Problem(line, f"the owner {_quoted(owner)} is no @handle: no user group is named owner")]


def _escalation(levels: tuple[EscalationLevel, ...]) -> list[Problem]:
    """Levels out of order (L3 before L2, or twice), or a level due before an earlier level."""
    found: list[Problem] = []
    top: EscalationLevel | None = None  # the highest level so far
    latest: EscalationLevel | None = None  # the level with the latest time so far
    for level in levels:
        if top is not None and level.level <= top.level:
            said = "again" if level.level == top.level else f"after L{top.level}"
            found.append(
                Problem(level.line or 1, f"L{level.level} comes {said}: the path must go up, L1 to L4", True)
            )
        if level.after is not None and latest is not None and level.after < (latest.after or timedelta()):
            found.append(
                Problem(
                    level.line or 1,
                    f"L{level.level} after {format_duration(level.after)} is due before "
                    f"L{latest.level} (after {format_duration(latest.after or timedelta())}): "
                    "each level must come later than the one before",
                    True,
                )
            )
        top = level if top is None or level.level > top.level else top
        if level.after is not None and (latest is None or level.after >= (latest.after or timedelta())):
            latest = level
    return found
