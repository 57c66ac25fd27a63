"""Runbook templates for an incident's life: initial post, announcement, update, resolution."""

from __future__ import annotations

from collections.abc import Sequence

from domain.durations import format_duration
from domain.records import Incident, IncidentUpdate
from domain.severity import Severity, Status
from messages import followups
from messages.blocks import Message, context, divider, header, section, truncate, utc
from messages.text import escape, from_slack, plain

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


def initial(incident: Incident, sections: Sequence[str]) -> Message:
    """First post in the incident channel, pinned: the header, the `initial` template's sections (what,
    how bad, who leads, when next), what the severity means and the commands."""
    sev = incident.severity
    blocks = [
        header(f"{sev.value} · {incident.ref}: {incident.title}"),
        *(section(text) for text in sections),
        divider(),
        context(
            f"{sev.value}: {sev.description}. Post progress with `/incident update &lt;text&gt;`; "
            "close with `/incident resolve &lt;summary&gt;`. `/incident help` lists every command."
        ),
    ]
    text = f"{sev.value} incident {incident.ref} declared: {escape(incident.title)}"
    return Message(text=truncate(text, 3000), blocks=blocks)


def announcement(incident: Incident, sections: Sequence[str]) -> Message:
    """The note in the announce channel (and each `[[announce]]` rule's) pointing people at the incident
    channel, as things stand: the `announce` template's sections (drawn from redacted variables for a
    private incident: its severity, its status and who declared it) and when it was detected."""
    sev = incident.severity
    detected = f"Detected {utc(incident.declared_at)}"
    if incident.private:
        line = f":lock: A private {sev.value} incident was declared by {_person(incident.declared_by)}."
        return Message(text=line, blocks=[*(section(t) for t in sections), context(detected)])
    if incident.resolved_at is not None:
        detected += f" · Resolved {utc(incident.resolved_at)}"
    return Message(
        text=truncate(f"{sev.value} incident declared: {escape(incident.title)}", 3000),
        blocks=[*(section(t) for t in sections), context(detected)],
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


def update(incident: Incident, upd: IncidentUpdate, sections: Sequence[str]) -> Message:
    """A status update in the incident channel: the header, the `update` template's sections, when."""
    status = _status(incident)
    blocks = [
        header(f"Update · {incident.ref} · {status.label}"),
        *(section(text) for text in sections),
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


def resolution(incident: Incident, sections: Sequence[str]) -> Message:
    """The resolution post: the header, the `resolution` template's sections (duration, summary,
    follow-ups), a word of thanks."""
    duration = format_duration((incident.resolved_at or incident.declared_at) - incident.declared_at)
    blocks = [
        header(f"Resolved · {incident.ref}: {incident.title}"),
        *(section(text) for text in sections),
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
