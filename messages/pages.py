"""Escalation DMs, their form once acknowledged or resolved, update reminders and severity changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.durations import format_duration
from domain.records import Incident
from domain.severity import Severity
from messages.blocks import Block, Message, context, fields, section, truncate, utc, utc_time, utc_when
from messages.text import escape

ACK_ACTION = "page_acknowledge"
ESCALATE_ACTION = "page_escalate"
MAX_ACKS = 10  # acknowledgements named on a page; more are counted


@dataclass(frozen=True)
class PageStatus:
    """What became of an incident's pages: acknowledgements (who, level name, when) and the resolution."""

    acks: tuple[tuple[str, str, datetime], ...] = ()
    resolved_at: datetime | None = None

    @property
    def settled(self) -> bool:
        """Whether its pages lose their buttons: someone acknowledged, or the incident is resolved."""
        return bool(self.acks) or self.resolved_at is not None


def page_dm(
    incident: Incident,
    head: Sequence[str],
    level_name: str,
    level_title: str,
    now: datetime,
    delivery_id: int,
    late_since: datetime | None,
    upcoming: list[tuple[str, str, datetime]],
    schedule_note: str | None = None,
    status: PageStatus | None = None,
) -> Message:
    """The page: its text (the `page` template's sections), then how bad, how old, who leads;
    Acknowledge and Escalate now (or, once someone acknowledged, who and when); which levels follow
    unless the incident is resolved first; whether its schedule's calendar was stale."""
    sev = incident.severity
    age = format_duration(now - incident.declared_at)
    late = f" · :hourglass: late: was due {utc(late_since)} while the bot was down" if late_since else ""
    who = escape(f"{level_name} {level_title}".strip())
    blocks: list[Block] = [
        *(section(text) for text in head),
        fields(
            ("Severity", f"{sev.value} ({sev.label})"),
            ("Open for", age),
            ("Commander", f"<@{incident.commander_id}>" if incident.commander_id else "_unassigned_"),
            ("Declared", utc(incident.declared_at)),
        ),
    ]
    if status is not None and status.settled:
        blocks.append(context(outcome(status)))
    else:
        blocks.append(page_actions(delivery_id))
    if late:
        blocks.append(context(late.removeprefix(" · ")))
    if schedule_note:
        blocks.append(context(f":calendar: On-call schedule: {escape(schedule_note)}"))
    if upcoming:
        blocks.append(context(still_escalates(upcoming, now)))
    text = f"Paged ({who}): {sev.value} {incident.ref} {escape(incident.title)}, open {age}{late}"
    return Message(text=truncate(text, 3000), blocks=blocks)


def page_actions(delivery_id: int) -> Block:
    """A page's Acknowledge and Escalate now buttons (each carries the page's delivery)."""
    return {
        "type": "actions",
        "block_id": "page_actions",
        "elements": [
            {
                "type": "button",
                "action_id": ACK_ACTION,
                "text": {"type": "plain_text", "text": "Acknowledge"},
                "style": "primary",
                "value": str(delivery_id),
            },
            {
                "type": "button",
                "action_id": ESCALATE_ACTION,
                "text": {"type": "plain_text", "text": "Escalate now"},
                "style": "danger",
                "value": str(delivery_id),
            },
        ],
    }


def still_escalates(upcoming: list[tuple[str, str, datetime]], now: datetime) -> str:
    """Acknowledging does not stop the runbook's management levels ("if not resolved in …");
    a level due on another day than `now` is named with its day."""
    levels = ", ".join(
        escape(f"{name} {title}".strip()) + f" at {utc_when(due, now)}" for name, title, due in upcoming
    )
    return (
        f":information_source: Acknowledging says you are on it; it does not stop escalation. "
        f"Unless the incident is resolved first, the runbook pages {levels}."
    )


def page_updated(
    incident: Incident,
    head: Sequence[str],
    status: PageStatus,
    upcoming: list[tuple[str, str, datetime]],
    now: datetime,
) -> Message:
    """A page DM once acknowledged (by anyone) or resolved: its text (`head`, as the page was worded),
    then who and when in place of the buttons, and what still follows while the incident is open."""
    follows = upcoming if status.resolved_at is None else []
    if status.resolved_at is not None:
        text = f"{incident.ref} resolved at {utc_time(status.resolved_at)}"
    else:
        by, _, at = status.acks[0]
        text = f"{incident.ref} page acknowledged by <@{by}> at {utc_time(at)}"
    return Message(
        text=text,
        blocks=[
            *(section(part) for part in head),
            context(outcome(status)),
            *([context(still_escalates(follows, now))] if follows else []),
        ],
    )


def outcome(status: PageStatus) -> str:
    """Who acknowledged the incident's pages and when (the first few), and when it was resolved."""
    lines = [
        f":white_check_mark: Acknowledged by <@{by}> at {utc(at)} ({escape(level)} page)"
        for by, level, at in status.acks[:MAX_ACKS]
    ]
    if len(status.acks) > MAX_ACKS:
        lines.append(f"… and {len(status.acks) - MAX_ACKS} more acknowledgements")
    if status.resolved_at is not None:
        lines.append(f":large_green_circle: Resolved at {utc(status.resolved_at)}: no more pages follow.")
    return truncate("\n".join(lines), 3000)


def reminder(incident: Incident, head: Sequence[str]) -> Message:
    """A nudge to whoever is responsible that the update the runbook asks for is due: the `reminder`
    template's sections."""
    return Message(text=f"Status update due for {incident.ref}", blocks=[section(part) for part in head])


def severity_changed(incident: Incident, old: str, by: str) -> Message:
    """Posted in the channel when the severity changes."""
    sev = incident.severity
    word = "raised" if sev.rank < Severity(old).rank else "lowered"
    line = (
        f"{sev.emoji} <@{by}> {word} the severity of {incident.ref} "
        f"from *{old}* to *{sev.value}* ({sev.label})."
    )
    return Message(text=f"{incident.ref} severity {old} → {sev.value}", blocks=[section(line)])


def page_failed(incident: Incident, level_name: str, failed: list[tuple[str, str]]) -> Message:
    """Said in the channel when a page DM could not be delivered: people must know who was not reached."""
    who = ", ".join(f"<@{user}> ({escape(error)})" for user, error in failed)
    line = (
        f":rotating_light: Could not page {level_name} for {incident.ref}: {who}. "
        "Reach them another way; later levels are paged on time."
    )
    return Message(text=f"Could not page {level_name} for {incident.ref}", blocks=[section(line)])


def gave_up(what: str, error: str, tried_for: str, by: str | None = None) -> Message:
    """Said in the incident channel when acknowledged work could not be carried out. `what` may quote the
    request (a title, a command line) and is escaped; `by`, the requester's user id, is named live."""
    what = escape(what) + (f" from <@{by}>" if by else "")
    line = (
        f":warning: incident-bot could not {what} (tried for {tried_for}; last error: `{escape(error)}`). "
        "Please do it by hand; `incident-bot inbox status` lists what was given up."
    )
    return Message(text=f"incident-bot could not {what}", blocks=[section(line)])
