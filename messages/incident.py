"""Runbook templates for an incident's life: initial post, announcement, update, resolution."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from domain.durations import format_duration
from domain.records import Incident, IncidentUpdate
from domain.severity import Severity, Status
from domain.urls import safe_url
from messages import followups
from messages.blocks import (
    Message,
    context,
    divider,
    fields,
    header,
    section,
    truncate,
    utc,
    utc_when,
)
from messages.text import entities, escape, from_slack, link, plain

CHECKLIST = (
    "Postmortem draft written from the timeline (`/incident postmortem`)",
    "Postmortem review meeting scheduled with everyone involved",
    "Action items filed, each with an owner and a due date",
    "Runbooks, dashboards and alerts updated with what was learned",
    "Customers and stakeholders told the incident is over",
)


def _status(incident: Incident) -> Status:
    return Status(incident.status)


def _person(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "_unassigned_"


def _next_update(due: datetime | None, now: datetime) -> str:
    return f"by {utc_when(due, now)}" if due else "when there is news"


def incident_topic(incident: Incident) -> str:
    """Channel topic: severity, status, commander, title (250 characters at most)."""
    sev, status = incident.severity, _status(incident)
    commander = f"<@{incident.commander_id}>" if incident.commander_id else "unassigned"
    head = f"{sev.value} · {status.label} · IC {commander} · "
    if incident.postmortem_url:
        head += f"Postmortem {incident.postmortem_url} · "
    return head + truncate(plain(incident.title), 250 - len(head))


def impact_mrkdwn(incident: Incident) -> str | None:
    """The impact as mrkdwn: Alertmanager's is its alert list, already mrkdwn (messages.alerts.alert_list);
    a person's is their own text, escaped."""
    if not incident.impact:
        return None
    return incident.impact if incident.declared_by is None else escape(incident.impact)


def impact_text(incident: Incident) -> str | None:
    """The impact as the words a person reads, for files and tools."""
    if not incident.impact:
        return None
    return from_slack(incident.impact) if incident.declared_by is None else incident.impact


def _service(incident: Incident) -> list[tuple[str, str]]:
    """The service and the alert's runbook link, as fields (none when the incident has neither)."""
    out = [("Service", f"`{incident.service}`")] if incident.service else []
    url = incident.runbook_url
    if url and safe_url(url):
        parts = urlsplit(url)
        label = truncate(f"{parts.hostname}{parts.path}".rstrip("/"), 60)
        out.append(("Runbook", link(url, entities(label))))
    return out


def initial(incident: Incident, now: datetime) -> Message:
    """First post in the incident channel, pinned: what, how bad, who leads, when next (its day too
    when that is not `now`'s)."""
    sev, status = incident.severity, _status(incident)
    impact = impact_mrkdwn(incident) or "_Not assessed yet: who is affected, and how?_"
    blocks = [
        header(f"{sev.value} · {incident.ref}: {incident.title}"),
        fields(
            ("Severity", f"{sev.emoji} {sev.value} ({sev.label})"),
            ("Status", f"{status.emoji} {status.label}"),
            ("Incident commander", _person(incident.commander_id)),
            ("Detected", utc(incident.declared_at)),
            ("Next update", _next_update(incident.next_update_due, now)),
            ("Declared by", _person(incident.declared_by) if incident.declared_by else "Alertmanager"),
            *_service(incident),
        ),
        section(f"*Impact*\n{impact}"),
        divider(),
        context(
            f"{sev.value}: {sev.description}. Post progress with `/incident update &lt;text&gt;`; "
            "close with `/incident resolve &lt;summary&gt;`. `/incident help` lists every command."
        ),
    ]
    text = f"{sev.value} incident {incident.ref} declared: {escape(incident.title)}"
    return Message(text=truncate(text, 3000), blocks=blocks)


def _state(incident: Incident) -> str:
    """Where the incident stands, for its announcement: the status, or resolved and after how long."""
    if incident.resolved_at is not None:
        took = format_duration(incident.resolved_at - incident.declared_at)
        return f":white_check_mark: Resolved after {took}"
    status = _status(incident)
    return f"{status.emoji} {status.label}"


def announcement(incident: Incident) -> Message:
    """The note in the announce channel (and each `[[announce]]` rule's) pointing people at the incident
    channel, as things stand: edited when the severity or status changes. A private one's says only its
    severity, its status and who declared it."""
    sev, state = incident.severity, _state(incident)
    detected = f"Detected {utc(incident.declared_at)}"
    if incident.private:
        line = f":lock: A private {sev.value} incident was declared by {_person(incident.declared_by)}."
        return Message(text=line, blocks=[section(f"{line}\n{state}"), context(detected)])
    join = f"Join <#{incident.channel_id}>" + (f" · Service `{incident.service}`" if incident.service else "")
    line = (
        f"{sev.emoji} *{sev.value} incident declared:* {escape(incident.title)}\n{state}\n"
        f"{join} · Commander {_person(incident.commander_id)} · {incident.ref}"
    )
    if incident.resolved_at is not None:
        detected += f" · Resolved {utc(incident.resolved_at)}"
    return Message(
        text=truncate(f"{sev.value} incident declared: {escape(incident.title)}", 3000),
        blocks=[section(line), context(detected)],
    )


def severity_note(incident: Incident, old: str, by: str) -> Message:
    """In the announcement's thread: the severity changed (a private incident's says nothing more)."""
    sev = incident.severity
    word = "raised" if sev.rank < Severity(old).rank else "lowered"
    if incident.private:
        line = f"{sev.emoji} The private incident's severity was {word} from *{old}* to *{sev.value}*."
        return Message(text=f"Severity {old} → {sev.value}", blocks=[section(line)])
    line = (
        f"{sev.emoji} <@{by}> {word} the severity of {incident.ref} "
        f"from *{old}* to *{sev.value}* ({sev.label})."
    )
    return Message(text=f"{incident.ref} severity {old} → {sev.value}", blocks=[section(line)])


def reopen_note(incident: Incident, reason: str, by: str) -> Message:
    """In the announcement's thread: the incident is open again (a private one's names no reason)."""
    if incident.private:
        line = f":rotating_light: The private {incident.severity.value} incident was *reopened*."
        return Message(text=line, blocks=[section(line)])
    return followups.reopened(incident, reason, by)


def update(incident: Incident, upd: IncidentUpdate, previous: Status, now: datetime) -> Message:
    """A status update in the incident channel."""
    sev, status = incident.severity, _status(incident)
    moved = f"{previous.label} → {status.label}" if previous != status else status.label
    blocks = [
        header(f"Update · {incident.ref} · {status.label}"),
        fields(
            ("Status", f"{status.emoji} {moved}"),
            ("Severity", f"{sev.emoji} {sev.value}"),
            ("Next update", _next_update(incident.next_update_due, now)),
            ("Posted by", _person(upd.author_id)),
        ),
        section(f"*Progress*\n{escape(upd.text)}"),
        context(f"{utc(upd.posted_at)} · {escape(incident.title)}"),
    ]
    text = f"{incident.ref} update ({status.label}): {escape(upd.text)}"
    return Message(text=truncate(text, 3000), blocks=blocks)


def follow_ups(incident: Incident) -> list[str]:
    """Post-incident follow-ups: the postmortem by its deadline (`[postmortem] due`), the checklist."""
    items = []
    due = incident.postmortem_due_at
    if due and incident.resolved_at:
        within = format_duration(due - incident.resolved_at)
        items.append(f"*Postmortem due {utc(due)}* (within {within}), owner {_person(incident.commander_id)}")
    else:
        items.append("Postmortem optional for this severity; write one if there is something to learn")
    return items + list(CHECKLIST)


def resolution(incident: Incident) -> Message:
    """The resolution post: duration, summary, follow-ups."""
    sev = incident.severity
    resolved = incident.resolved_at or incident.declared_at
    duration = format_duration(resolved - incident.declared_at)
    todo = "\n".join(f"• {item}" for item in follow_ups(incident))
    blocks = [
        header(f"Resolved · {incident.ref}: {incident.title}"),
        fields(
            ("Severity", f"{sev.emoji} {sev.value}"),
            ("Duration", duration),
            ("Detected", utc(incident.declared_at)),
            ("Resolved", utc(incident.resolved_at)),
            ("Incident commander", _person(incident.commander_id)),
        ),
        section(f"*Summary*\n{escape(incident.summary or '')}"),
        section(f"*Follow-ups*\n{todo}"),
        context("Thank you, everyone. Blameless: we look at systems and decisions, not at people."),
    ]
    text = f"{incident.ref} resolved after {duration}: {escape(incident.summary or '')}"
    return Message(text=truncate(text, 3000), blocks=blocks)


def resolution_announcement(incident: Incident) -> Message:
    """The note in the announce channel that the incident is over."""
    sev = incident.severity
    duration = format_duration((incident.resolved_at or incident.declared_at) - incident.declared_at)
    if incident.private:
        line = f":white_check_mark: A private {sev.value} incident was resolved after {duration}."
        return Message(text=line, blocks=[section(line)])
    line = (
        f":white_check_mark: *{sev.value} incident resolved* after {duration}: {escape(incident.title)}\n"
        f"<#{incident.channel_id}> · {incident.ref}"
    )
    return Message(
        text=truncate(f"{sev.value} incident resolved: {escape(incident.title)}", 3000),
        blocks=[section(line)],
    )
