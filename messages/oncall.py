"""On-call: who is on call now and next, overrides, handoff DMs. Times render in each reader's zone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.records import Incident
from messages.blocks import Message, context, header, section, truncate


def when(at: datetime) -> str:
    """A time Slack shows in the reader's own time zone (`<!date^…>`), with a UTC fallback."""
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{at:%Y-%m-%d %H:%M} UTC>"


def people(users: Sequence[str]) -> str:
    """`<@U1>, <@U2>`, or _nobody_."""
    return ", ".join(f"<@{u}>" for u in users) or "_nobody_"


@dataclass(frozen=True)
class OnCallRow:
    """One schedule's now and next."""

    schedule: str
    now: tuple[str, ...]
    until: datetime | None
    next: tuple[str, ...]
    next_until: datetime | None


def oncall_now(rows: Sequence[OnCallRow]) -> Message:
    """`/incident oncall`: who is on call now and next, per schedule."""
    if not rows:
        return Message(text="No on-call schedules are configured ([[schedules]] in the policy file).")
    lines = []
    for r in rows:
        line = f"*{r.schedule}*: {people(r.now)}"
        if r.until:
            line += f" until {when(r.until)}, then {people(r.next)}"
            if r.next_until:
                line += f" until {when(r.next_until)}"
        lines.append(line)
    text = "On call: " + "; ".join(f"{r.schedule} {', '.join(r.now) or 'nobody'}" for r in rows)
    return Message(text=truncate(text, 3000), blocks=[header("On call"), section("\n".join(lines))])


@dataclass(frozen=True)
class OverrideRow:
    """One override, as listed."""

    id: int
    schedule: str
    user: str
    start: datetime
    end: datetime


def overrides(rows: Sequence[OverrideRow], schedule: str | None) -> Message:
    """`/incident oncall overrides [schedule]`: the upcoming ones."""
    where = f" for {schedule}" if schedule else ""
    if not rows:
        return Message(text=f"No upcoming overrides{where}.")
    lines = [f"`#{r.id}` *{r.schedule}*: <@{r.user}> from {when(r.start)} to {when(r.end)}" for r in rows]
    return Message(
        text=f"{len(rows)} upcoming override(s){where}",
        blocks=[
            section("\n".join(lines)),
            context("Cancel one with `/incident oncall override cancel <id>`."),
        ],
    )


def override_added(row: OverrideRow) -> str:
    """The answer to an override."""
    span = f"from {when(row.start)} to {when(row.end)}"
    return f"Override `#{row.id}`: <@{row.user}> is on call for *{row.schedule}* {span}."


def handoff_incoming(
    schedule: str,
    start: datetime,
    end: datetime,
    outgoing: Sequence[str],
    open_incidents: Sequence[Incident],
    late: bool,
) -> Message:
    """DM to the person coming on call, with what they inherit."""
    lines = [f":pager: You are on call for *{schedule}* from {when(start)} to {when(end)}."]
    if outgoing:
        lines.append(f"Taking over from {people(outgoing)}.")
    if open_incidents:
        listed = "\n".join(f"• {i.severity} {i.ref} <#{i.channel_id}>" for i in open_incidents[:20])
        lines.append(f"Open incidents you inherit:\n{listed}")
    else:
        lines.append("No incident is open.")
    blocks = [section("\n".join(lines))]
    if late:
        blocks.append(context(":hourglass: Sent late: the bot was down at the handoff."))
    return Message(text=f"You are on call for {schedule}", blocks=blocks)


def handoff_outgoing(schedule: str, start: datetime, incoming: Sequence[str]) -> Message:
    """DM to the person going off call."""
    line = f":wave: Your *{schedule}* shift ended at {when(start)}; you handed over to {people(incoming)}."
    return Message(text=f"You handed {schedule} over", blocks=[section(line)])


def handoff_reminder(schedule: str, start: datetime, end: datetime) -> Message:
    """DM ahead of a shift (`remind_before`)."""
    line = f":alarm_clock: Your on-call shift for *{schedule}* starts {when(start)} and runs to {when(end)}."
    return Message(text=f"Your {schedule} shift starts soon", blocks=[section(line)])
