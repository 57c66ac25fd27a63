"""What a template can say about an incident: its variables, built from the records (pure).

People and channels are Slack mentions (`Mrkdwn`, kept live); everything a person or an alert wrote
is a plain string, escaped when the template writes it. An unset custom field is `none`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.durations import format_duration
from domain.fields import Value, shown
from domain.records import Incident, IncidentUpdate
from domain.severity import Status
from messages.runbook import MAX_DASHBOARDS, Card, Shown, is_user
from messages.templating import Mrkdwn, When
from messages.text import entities, link


@dataclass(frozen=True)
class FieldSpec:
    """A `[[fields]]` entry as templates need it: its name and type, its label and where it is shown."""

    name: str
    kind: str
    label: str = ""
    show: tuple[str, ...] = ()


def mention(user_id: str | None) -> Mrkdwn | None:
    """A person as a live Slack mention; none when nobody."""
    return Mrkdwn(f"<@{user_id}>") if user_id else None


def when(at: datetime | None, now: datetime | None = None) -> When | None:
    """A time for a template (`.short` against `now`); none when unknown."""
    return When(at, now) if at else None


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


def shown_fields(specs: Sequence[FieldSpec], values: Mapping[str, Value], place: str) -> list[dict[str, Any]]:
    """`shown_fields`: the fields whose `show` has `place`, each `name`, `label` and `value` as words (a
    person a mention, a link a link; none when unset), in the policy's order."""
    out = []
    for spec in specs:
        if place not in spec.show:
            continue
        value: Any = shown(spec.kind, values.get(spec.name))
        if value is not None and spec.kind == "user":
            value = mention(value)
        elif value is not None and spec.kind == "link":
            value = Mrkdwn(link(value, entities(value)))
        out.append({"name": spec.name, "label": spec.label or spec.name, "value": value})
    return out


def incident_vars(
    incident: Incident,
    specs: Sequence[FieldSpec] = (),
    values: Mapping[str, Value] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """`incident` in every template; times' `.short` is read against `now`."""
    sev, status = incident.severity, Status(incident.status)
    ended = incident.resolved_at
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
        "detected_at": When(incident.declared_at, now),
        "next_update_due": when(incident.next_update_due, now),
        "resolved_at": when(ended, now),
        "duration": format_duration(ended - incident.declared_at) if ended else None,
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


# What a private incident's message shows where not only its channel's members read (the announce
# channel): how bad, where it stands and who declared it; never what it is about, whoever wrote the template.
PRIVATE_TITLE = "a private incident"
_KEPT = {"number", "severity", "severity_label", "severity_emoji", "severity_description", "status"}
_KEPT |= {"status_emoji", "declared_by", "detected_at", "resolved_at", "duration", "private"}


def redacted(incident: Mapping[str, Any]) -> dict[str, Any]:
    """`incident` of a private incident for readers outside its channel: no title, impact, people
    (but who declared it), channel, service, runbook or field values."""
    out = {k: (v if k in _KEPT else None) for k, v in incident.items()}
    out["title"] = PRIVATE_TITLE
    out["fields"] = {name: None for name in incident.get("fields", {})}
    return out


def resolution_vars(summary: str | None, follow_ups: Sequence[str]) -> dict[str, Any]:
    """`summary` (as its author wrote it) and `follow_ups` (the bot's own mrkdwn lines) in `resolution`."""
    return {"summary": summary or "", "follow_ups": [Mrkdwn(item) for item in follow_ups]}


def level_vars(name: str, title: str) -> dict[str, Any]:
    """`level` in the page and the reminder: an escalation level (text from the policy or a runbook)."""
    return {"name": name, "title": title}


def page_vars(level_name: str, level_title: str, user_id: str) -> dict[str, Any]:
    """The page's own variables: the level paged and the person the DM goes to."""
    return {"level": level_vars(level_name, level_title), "person": mention(user_id)}


def reminder_vars(
    cadence: timedelta, last_update: datetime | None, next_due: datetime, now: datetime
) -> dict[str, Any]:
    """`reminder` in the reminder: the cadence, the last update and when the next one is due."""
    return {
        "every": format_duration(cadence),
        "last_update": when(last_update, now),
        "next_due": When(next_due, now),
    }


def _mode(s: Shown) -> dict[str, str]:
    mode = s.mode
    return {"name": mode.name[:200], "why": s.why, "reference": mode.reference, "severity": mode.severity}


def card_vars(c: Card) -> dict[str, Any]:
    """`service` in the runbook card: what the runbook says (text), who is on call (mentions), the modes
    shown. Lists are capped so a long runbook stays within Slack's limits."""
    service = c.service
    on_call = None
    if c.on_call is not None:
        on_call = [Mrkdwn(f"<@{u}>") if is_user(u) else u for u in c.on_call[:10]]
    return {
        "name": service.name,
        "title": service.title,
        "owner": service.owner[:100],
        "owner_is_group": c.owner_is_group,
        "on_call": on_call,
        "dashboards": [
            {"name": d.name[:80] or "dashboard", "url": d.url} for d in service.dashboards[:MAX_DASHBOARDS]
        ],
        "more_dashboards": max(0, len(service.dashboards) - MAX_DASHBOARDS),
        "matched": [_mode(s) for s in c.shown],
        "modes": len(service.failure_modes),
    }
