"""What subscribers are sent by DM (an update, the resolution, a change of severity), and the answers
to `/incident subscribe` and `/incident unsubscribe`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain.durations import format_duration
from domain.records import Incident
from domain.severity import Severity, Status
from messages.blocks import MAX_SECTION, Block, Message, context, header, section, truncate, utc
from messages.text import escape, link


def _by(user: str | None) -> str:
    return f"<@{user}>" if user else "incident-bot"


def _footer(
    incident: Incident, by: str | None, at: datetime, permalink: str | None, what: str
) -> list[Block]:
    """Who and when, where to follow it, and how to stop these DMs."""
    where = f"<#{incident.channel_id}>" if incident.channel_id else incident.ref
    seen = f" · {link(permalink, what)}" if permalink else ""
    return [
        context(f"{_by(by)} · {utc(at)} · {where}{seen}"),
        context(f"You subscribed to {incident.ref}: `/incident unsubscribe {incident.ref}` stops these DMs."),
    ]


def update_dm(
    incident: Incident,
    text: str,
    status: Status,
    previous: Status,
    by: str | None,
    at: datetime,
    permalink: str | None,
) -> Message:
    """A status update, as its subscribers get it."""
    sev = incident.severity
    moved = f"{previous.label} → {status.label}" if previous != status else status.label
    blocks = [
        header(f"{incident.ref} update · {status.label}"),
        section(f"*{escape(incident.title)}*\n{status.emoji} {moved} · {sev.emoji} {sev.value}"),
        section(f"*Progress*\n{escape(text)}"),
        *_footer(incident, by, at, permalink, "View the update"),
    ]
    fallback = f"{incident.ref} update ({status.label}): {escape(text)}"
    return Message(text=truncate(fallback, 3000), blocks=blocks)


def resolved_dm(incident: Incident, summary: str, by: str | None, at: datetime) -> Message:
    """The resolution, as its subscribers get it: how long it lasted and the summary."""
    took = format_duration((incident.resolved_at or at) - incident.declared_at)
    blocks = [
        header(f"{incident.ref} resolved"),
        section(f"*{escape(incident.title)}*\n:white_check_mark: Resolved after {took}"),
        section(f"*Summary*\n{escape(summary)}"),
        *_footer(incident, by, at, None, ""),
    ]
    return Message(text=truncate(f"{incident.ref} resolved: {escape(summary)}", 3000), blocks=blocks)


def severity_dm(incident: Incident, old: Severity, by: str | None, at: datetime) -> Message:
    """A change of severity, as its subscribers get it."""
    sev = incident.severity
    word = "raised" if sev.rank < old.rank else "lowered"
    blocks = [
        header(f"{incident.ref} severity {word} to {sev.value}"),
        section(
            f"*{escape(incident.title)}*\n{sev.emoji} Severity {word} from *{old.value}* "
            f"to *{sev.value}* ({sev.label})"
        ),
        *_footer(incident, by, at, None, ""),
    ]
    return Message(text=f"{incident.ref} severity {old.value} → {sev.value}", blocks=blocks)


def subscribed(incident: Incident, new: bool) -> str:
    """The answer to `/incident subscribe`."""
    if not new:
        return f"You are already subscribed to {incident.ref}."
    return (
        f":bell: Subscribed to {incident.ref} *{escape(truncate(incident.title, 200))}*: each update and "
        f"the resolution come to you by DM. `/incident unsubscribe {incident.ref}` stops them."
    )


def unsubscribed(ref: str, was: bool) -> str:
    """The answer to `/incident unsubscribe` (the ref only: it may be a private incident's)."""
    if not was:
        return f"You are not subscribed to {ref}."
    return f":no_bell: Unsubscribed from {ref}: no more DMs about it."


def _listed(incident: Incident, visible: bool) -> str:
    """One subscription: a private incident whose channel you are not in by its ref only."""
    if not visible:
        return f"• {incident.ref} :lock: a private incident whose channel you are not in: nothing is sent"
    state = "resolved" if incident.resolved_at else Status(incident.status).label
    where = f" · <#{incident.channel_id}>" if incident.channel_id else ""
    title = escape(truncate(incident.title, 120))
    return f"• *{incident.ref}* {incident.severity.value} · {state}{where} · {title}"


def subscription_list(incidents: Sequence[tuple[Incident, bool]]) -> Message:
    """Your subscriptions, the newest first: a private incident whose channel you left by its ref only."""
    if not incidents:
        line = (
            "You are subscribed to no incidents. `/incident subscribe INC-n` (or `/incident subscribe` "
            "in an incident's channel) sends you its updates and resolution by DM."
        )
        return Message(text=line, blocks=[section(line)])
    lines, room = ["*Your subscriptions*"], MAX_SECTION - 40  # room left for "…and N more"
    for incident, visible in incidents:
        line = _listed(incident, visible)
        if len(line) + 1 > room:
            break
        lines.append(line)
        room -= len(line) + 1
    if (more := len(incidents) - (len(lines) - 1)) > 0:
        lines.append(f"…and {more} more")
    blocks: list[Block] = [section("\n".join(lines))]
    blocks.append(context("`/incident unsubscribe INC-n` stops one."))
    return Message(text=f"You are subscribed to {len(incidents)} incidents.", blocks=blocks)
