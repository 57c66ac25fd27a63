"""After the incident: follow-ups, their reminders, the postmortem deadline, reopen and archive."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from domain.durations import format_duration
from domain.records import Followup, Incident
from messages.blocks import Message, context, header, section, truncate, utc
from messages.text import escape, link

DONE_ACTION = "followup_done"
DUE_ACTION = "followup_due"
DUE_CALLBACK = "followup_due_date"
DUE_BLOCK, DUE_PICKER = "due", "due_date"


def _due(f: Followup, today: date) -> str:
    if not f.is_open:
        return f"done by {_who(f.done_by)}"
    days = (f.due_on - today).days
    if days < 0:
        return f"*overdue* since {f.due_on.isoformat()} ({-days} d)"
    return f"due {f.due_on.isoformat()}" + (" (today)" if days == 0 else f" (in {days} d)")


_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def _who(user: str | None) -> str:
    """A Slack user as a mention; someone elsewhere (a GitHub login) by name."""
    return f"<@{user}>" if user and _SLACK_USER.match(user) else escape(user or "someone")


def _line(f: Followup, today: date) -> str:
    mark = ":white_check_mark:" if not f.is_open else ":pushpin:"
    shown = f.tracker_url or f.tracker_key  # a key whose URL was not http(s) is shown without a link
    issue = f" · {link(f.tracker_url, escape(f.tracker_key or 'issue'))}" if shown else ""
    return f"{mark} {escape(truncate(f.text, 300))} · <@{f.owner_id}> · {_due(f, today)}{issue}"


def followup(f: Followup, incident: Incident, today: date) -> Message:
    """The follow-up in the incident channel: who, what, when; Done and Change due date while open."""
    blocks: list[dict[str, Any]] = [section(f"*Follow-up* for {incident.ref}\n{_line(f, today)}")]
    if f.is_open:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"followup_{f.id}",
                "elements": [
                    _button("Done", DONE_ACTION, f.id, style="primary"),
                    _button("Change due date", DUE_ACTION, f.id),
                ],
            }
        )
    blocks.append(context("The owner or the commander marks it done or moves its date"))
    return Message(text=truncate(f"Follow-up for <@{f.owner_id}>: {escape(f.text)}", 3000), blocks=blocks)


def _button(label: str, action: str, followup_id: int, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action,
        "text": {"type": "plain_text", "text": label},
        "value": str(followup_id),
    }
    if style:
        button["style"] = style
    return button


def followup_list(title: str, items: list[tuple[Followup, Incident]], today: date) -> Message:
    """Follow-ups, each with its incident (soonest due first, as given)."""
    if not items:
        return Message(text=f"{title}: none.")
    lines = [f"{_line(f, today)} · {i.ref} <#{i.channel_id}>" for f, i in items[:40]]
    more = [context(f"…and {len(items) - 40} more")] if len(items) > 40 else []
    return Message(
        text=f"{title} ({len(items)})",
        blocks=[header(f"{title} ({len(items)})"), section("\n".join(lines)), *more],
    )


def reminder(f: Followup, incident: Incident, today: date) -> Message:
    """The owner's DM on the due date, and every week after while it is open."""
    late = f.due_on < today
    lead = (
        ":hourglass: *A follow-up of yours is overdue*"
        if late
        else ":calendar: *A follow-up of yours is due today*"
    )
    return Message(
        text=truncate(f"Follow-up {'overdue' if late else 'due'}: {escape(f.text)}", 3000),
        blocks=[
            section(f"{lead} ({incident.ref}, <#{incident.channel_id}>)\n{_line(f, today)}"),
            context("Mark it done (or move its date) on its message in the incident channel"),
        ],
    )


def due_date_modal(f: Followup) -> dict[str, Any]:
    """Change a follow-up's due date: a date picker."""
    return {
        "type": "modal",
        "callback_id": DUE_CALLBACK,
        "private_metadata": str(f.id),
        "title": {"type": "plain_text", "text": "Change due date"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(escape(truncate(f.text, 2900))),
            {
                "type": "input",
                "block_id": DUE_BLOCK,
                "label": {"type": "plain_text", "text": "Due"},
                "element": {
                    "type": "datepicker",
                    "action_id": DUE_PICKER,
                    "initial_date": f.due_on.isoformat(),
                },
            },
        ],
    }


def postmortem_reminder(incident: Incident, now: datetime) -> Message:
    """The commander's DM when the postmortem is due, and daily after while it is missing."""
    due = incident.postmortem_due_at or now
    late = format_duration(now - due) if now > due else None
    when = f"was due {utc(due)} ({late} ago)" if late else f"is due now ({utc(due)})"
    return Message(
        text=f"The postmortem of {incident.ref} {when}",
        blocks=[
            section(
                f":memo: *The postmortem of {incident.ref}* ({_title(incident)}) {when}.\n"
                f"Draft it with `/incident postmortem` in <#{incident.channel_id}>, then record it with "
                "`/incident postmortem done <url>`."
            )
        ],
    )


def postmortem_recorded(incident: Incident, url: str, by: str) -> Message:
    """Where the postmortem is, in the channel (and the announcement's thread)."""
    where = link(url, escape(url))
    line = f":memo: The postmortem of {incident.ref} is written: {where} (recorded by <@{by}>)"
    return Message(text=line, blocks=[section(line)])


def reopened(incident: Incident, reason: str, by: str) -> Message:
    """The channel (and the announce channel) hear that the incident is open again."""
    sev = incident.severity
    what = "A private incident" if incident.private else f"{incident.ref} ({_title(incident)})"
    line = (
        f":rotating_light: {what} was *reopened* by <@{by}> at {sev.value}: {escape(truncate(reason, 500))}"
    )
    return Message(text=truncate(line, 3000), blocks=[section(line)])


def _title(incident: Incident) -> str:
    return escape(truncate(incident.title, 200))


def archive_notice(incident: Incident, after: str) -> Message:
    """Posted just before the channel is archived."""
    line = (
        f":file_cabinet: {incident.ref} was resolved {after} ago and has no open follow-up: archiving this "
        "channel. `/incident reopen <reason>` brings it back."
    )
    return Message(text=line, blocks=[section(line)])
