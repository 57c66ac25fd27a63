"""The catch-up a late joiner gets (and `/incident catchup`): where the incident stands, who leads it, the
last update, the newest timeline entries, open follow-ups and links; or, given a time, only what
happened since then. Only the person asking sees it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.catalog import Service
from domain.durations import format_duration
from domain.records import Followup, Incident, IncidentUpdate, TimelineEntry
from domain.severity import Status
from domain.urls import safe_url
from messages.blocks import MAX_SECTION, Block, Message, context, fields, header, section, truncate, utc_when
from messages.text import escape, link
from messages.timeline import entry_line

SHOWN_ENTRIES = 5  # the newest timeline entries a catch-up shows
SHOWN_SINCE = 20  # the newest a `since` catch-up shows
SHOWN_FOLLOWUPS = 5
MAX_DASHBOARDS = 6


@dataclass(frozen=True)
class CatchUp:
    """What a catch-up shows: `entries` are the newest of `total` (since `since`, when given)."""

    incident: Incident
    now: datetime
    last_update: IncidentUpdate | None
    entries: Sequence[TimelineEntry]
    total: int
    followups: Sequence[Followup] = ()  # the open ones
    service: Service | None = None
    since: datetime | None = None  # given: only what happened after it
    since_said: str = ""  # how it was asked for: `14:05`, `30m`, `your last catch-up`


def _person(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "_unassigned_"


def _ago(at: datetime, now: datetime) -> str:
    return f"{utc_when(at, now)} ({format_duration(now - at)} ago)"


def _going(incident: Incident, now: datetime) -> str:
    if incident.resolved_at:
        lasted = format_duration(incident.resolved_at - incident.declared_at)
        return f"Resolved {_ago(incident.resolved_at, now)}, after {lasted}"
    return f"{format_duration(now - incident.declared_at)} (declared {utc_when(incident.declared_at, now)})"


def _roles(incident: Incident) -> str:
    held = [
        (name, who) for name, who in (("Scribe", incident.scribe_id), ("Comms", incident.comms_id)) if who
    ]
    return " · ".join(f"{name} {_person(who)}" for name, who in held) or "none assigned"


def _sections(title: str, lines: list[str]) -> list[Block]:
    """`lines` under a bold title, packed into as few sections as Slack's 3,000 characters allow."""
    blocks: list[Block] = []
    chunk = f"*{title}*"
    for line in lines:
        if len(chunk) + 1 + len(line) > MAX_SECTION:
            blocks.append(section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    return [*blocks, section(chunk)]


def _last_update(c: CatchUp) -> list[Block]:
    upd = c.last_update
    if upd is None:
        return [section("*Last update*\n_None posted yet._")]
    said = truncate(escape(upd.text), 1500)
    when = f"{escape(upd.status.capitalize())} · {_ago(upd.posted_at, c.now)} by {_person(upd.author_id)}"
    return [section(f"*Last update* · {when}\n{said}")]


def _followups(c: CatchUp) -> list[Block]:
    if not c.followups:
        return []
    lines = [
        f"• {_person(f.owner_id)}, due {f.due_on.isoformat()}: {truncate(escape(f.text), 300)}"
        for f in c.followups[:SHOWN_FOLLOWUPS]
    ]
    more = len(c.followups) - SHOWN_FOLLOWUPS
    if more > 0:
        lines.append(f"_and {more} more: `/incident followups`_")
    return _sections(f"Open follow-ups ({len(c.followups)})", lines)


def _links(c: CatchUp) -> list[Block]:
    incident, service = c.incident, c.service
    shown = [f"Channel <#{incident.channel_id}>"] if incident.channel_id else []
    if service is not None:
        shown.append(f"Service `{escape(service.name)}`")
        if service.owner:
            shown.append(f"owner {truncate(escape(service.owner), 80)}")  # named, never pinged
        if safe_url(service.runbook):
            shown.append(link(service.runbook, "Runbook"))
        shown.append(
            "its runbook card is pinned in the channel (`/incident runbook` lists every failure mode)"
        )
        for d in service.dashboards[:MAX_DASHBOARDS]:
            name = truncate(escape(d.name), 80) or "dashboard"
            shown.append(link(d.url, f"Dashboard: {name}") if safe_url(d.url) else f"Dashboard: {name}")
    if incident.runbook_url and safe_url(incident.runbook_url):
        shown.append(link(incident.runbook_url, "Alert runbook"))
    if incident.statuspage_link and safe_url(incident.statuspage_link):
        shown.append(link(incident.statuspage_link, "Status page"))
    if incident.postmortem_url and safe_url(incident.postmortem_url):
        shown.append(link(incident.postmortem_url, "Postmortem"))
    return [section("*Links*\n" + " · ".join(shown))] if shown else []


def _entries(c: CatchUp, title: str) -> list[Block]:
    lines = [entry_line(e) for e in c.entries]
    return _sections(title, lines)


def catchup(c: CatchUp) -> Message:
    """Everything a late joiner needs, in one ephemeral message."""
    incident, now = c.incident, c.now
    sev, status = incident.severity, Status(incident.status)
    blocks = [
        header(f"Catch-up · {incident.ref}: {incident.title}"),
        fields(
            ("Severity", f"{sev.emoji} {sev.value} ({sev.label})"),
            ("Status", f"{status.emoji} {status.label}"),
            ("Incident commander", _person(incident.commander_id)),
            ("Roles", _roles(incident)),
            ("Going for" if incident.is_open else "Over", _going(incident, now)),
        ),
        *_last_update(c),
    ]
    if c.entries:
        more = f" · the last {len(c.entries)} of {c.total}" if c.total > len(c.entries) else ""
        blocks += _entries(c, f"Latest on the timeline{more}")
    blocks += _followups(c)
    blocks += _links(c)
    blocks.append(
        context(
            "Only you can see this. `/incident catchup since last` shows what changed after it; "
            "`/incident timeline` shows all of it."
        )
    )
    text = f"Catch-up on {incident.ref} ({sev.value}, {status.label}): {escape(incident.title)}"
    return Message(text=truncate(text, 3000), blocks=blocks)


def since(c: CatchUp) -> Message:
    """Only what happened after `c.since`: the timeline entries since then, newest kept."""
    incident, now = c.incident, c.now
    assert c.since is not None
    sev, status = incident.severity, Status(incident.status)
    when = utc_when(c.since, now)
    said = f"{escape(c.since_said)} ({when})" if c.since_said else when
    blocks = [
        header(f"Since {when} · {incident.ref}: {incident.title}"),
        context(
            f"{sev.emoji} {sev.value} · {status.emoji} {status.label} · "
            f"commander {_person(incident.commander_id)} · since {said}"
        ),
    ]
    if c.entries:
        blocks += _entries(c, f"What happened · {c.total} new on the timeline")
        earlier = c.total - len(c.entries)
        if earlier > 0:
            blocks.append(
                context(f"{earlier} earlier since then not shown: `/incident timeline` has them all.")
            )
    else:
        blocks.append(section(f"_Nothing new on the timeline since {when}._"))
    text = f"{incident.ref} since {when}: {c.total} new on the timeline"
    return Message(text=text, blocks=blocks)
