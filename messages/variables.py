"""What a template can say about an incident: its variables, built from the records (pure).

People and channels are Slack mentions (`Mrkdwn`, kept live); everything a person or an alert wrote
is a plain string, escaped when the template writes it. An unset custom field is `none`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.fields import Value
from domain.records import Incident, IncidentUpdate
from domain.severity import Status
from messages.templating import Mrkdwn, When


@dataclass(frozen=True)
class FieldSpec:
    """A `[[fields]]` entry as templates need it: its name and type."""

    name: str
    kind: str


def mention(user_id: str | None) -> Mrkdwn | None:
    """A person as a live Slack mention; none when nobody."""
    return Mrkdwn(f"<@{user_id}>") if user_id else None


def when(at: datetime | None) -> When | None:
    """A time for a template; none when unknown."""
    return When(at) if at else None


def field_values(specs: Sequence[FieldSpec], values: Mapping[str, Value]) -> dict[str, Any]:
    """Every configured field by name: its value (a person as a mention, a multi-select a list), else none."""
    out: dict[str, Any] = {}
    for spec in specs:
        value = values.get(spec.name)
        if value is None or value == []:
            out[spec.name] = None
        elif spec.kind == "user":
            out[spec.name] = mention(str(value))
        elif spec.kind == "number" and isinstance(value, float) and value.is_integer():
            out[spec.name] = int(value)
        else:
            out[spec.name] = value
    return out


def incident_vars(
    incident: Incident, specs: Sequence[FieldSpec] = (), values: Mapping[str, Value] | None = None
) -> dict[str, Any]:
    """`incident` in every template."""
    sev, status = incident.severity, Status(incident.status)
    from_alert = incident.declared_by is None
    return {
        "number": incident.ref,
        "title": incident.title,
        "severity": sev.value,
        "severity_label": sev.label,
        "severity_emoji": Mrkdwn(sev.emoji),
        "severity_description": sev.description,
        "status": status.label,
        "status_emoji": Mrkdwn(status.emoji),
        # An alert's impact is its alert list, which the bot composed as mrkdwn; a person's is their text.
        "impact": (Mrkdwn(incident.impact) if from_alert else incident.impact) if incident.impact else None,
        "commander": mention(incident.commander_id),
        "scribe": mention(incident.scribe_id),
        "comms": mention(incident.comms_id),
        "declared_by": mention(incident.declared_by) if incident.declared_by else "Alertmanager",
        "channel": Mrkdwn(f"<#{incident.channel_id}>") if incident.channel_id else None,
        "detected_at": When(incident.declared_at),
        "next_update_due": when(incident.next_update_due),
        "resolved_at": when(incident.resolved_at),
        "service": incident.service,
        "runbook_url": incident.runbook_url,
        "private": incident.private,
        "fields": field_values(specs, values or {}),
    }


def update_vars(update: IncidentUpdate, previous: Status | None = None) -> dict[str, Any]:
    """`update` in the update template."""
    return {
        "text": update.text,
        "status": Status(update.status).label,
        "previous_status": previous.label if previous else None,
        "author": mention(update.author_id),
        "posted_at": When(update.posted_at),
    }
