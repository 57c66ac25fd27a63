"""`/incident status` and `/incident list`: ephemeral overviews."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain.durations import format_duration
from domain.records import Incident, IncidentUpdate
from domain.severity import Status
from messages.blocks import Message, context, fields, header, section, truncate, utc
from messages.text import escape


def _person(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "_unassigned_"


def status_summary(
    incident: Incident,
    last: IncidentUpdate | None,
    now: datetime,
    open_pages: list[str] | None = None,
    shown_fields: Sequence[str] = (),
) -> Message:
    """Severity, status, roles, age, the team's own fields (`*Label*: value` lines), last update and
    open escalations of one incident."""
    sev, status = incident.severity, Status(incident.status)
    end = incident.resolved_at or now
    age = format_duration(end - incident.declared_at)
    if last is None:
        last_line = "_No update yet._"
    else:
        ago = format_duration(now - last.posted_at)
        said = escape(truncate(last.text, 500))
        last_line = f"{utc(last.posted_at)} ({ago} ago) by {_person(last.author_id)}: {said}"
    pages = "\n".join(f"• {p}" for p in open_pages) if open_pages else "_None pending._"
    due = utc(incident.next_update_due) if incident.next_update_due and incident.is_open else "—"
    return Message(
        text=f"{incident.ref} · {sev.value} · {status.label} · {age}",
        blocks=[
            header(f"{incident.ref}: {incident.title}"),
            fields(
                ("Severity", f"{sev.emoji} {sev.value} ({sev.label})"),
                ("Status", f"{status.emoji} {status.label}"),
                ("Commander", _person(incident.commander_id)),
                ("Scribe", _person(incident.scribe_id)),
                ("Comms lead", _person(incident.comms_id)),
                ("Age" if incident.is_open else "Duration", age),
                ("Declared", utc(incident.declared_at)),
                ("Next update due", due),
            ),
            *([section("*Fields*\n" + "\n".join(shown_fields))] if shown_fields else []),
            section(f"*Last update*\n{last_line}"),
            section(f"*Open escalations*\n{pages}"),
        ],
    )


def incident_list(incidents: list[Incident], now: datetime) -> Message:
    """Open incidents, worst severity first, with channel and age."""
    if not incidents:
        return Message(text=":white_check_mark: No open incidents.")
    ordered = sorted(incidents, key=lambda i: (i.severity.rank, i.declared_at))
    lines = [
        f"{i.severity.emoji} *{i.severity}* {i.ref} <#{i.channel_id}> · "
        f"{Status(i.status).label} · {format_duration(now - i.declared_at)} · "
        f"{escape(truncate(i.title, 120))}"
        for i in ordered
    ]
    blocks = [header(f"Open incidents ({len(incidents)})")]
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    blocks.append(section("\n".join(chunk)))
    blocks = blocks[:49]
    blocks.append(context("Worst first · ages since declaration"))
    return Message(text=f"{len(incidents)} open incidents", blocks=blocks)
