"""The blameless postmortem draft (Markdown) and the same data as JSON, from an incident's timeline."""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from config.custom_fields import CustomField
from domain.durations import format_duration
from domain.fields import Value, plain, shown
from domain.records import Followup, Incident, TimelineEntry
from domain.severity import Status
from messages.incident import impact_text
from messages.relations import Related
from messages.text import entities, person, readable, unfence
from messages.timeline import COMPOSED, entry_text

POSTMORTEM_DUE = timedelta(hours=48)
TO_COMPLETE = "_To complete by the postmortem author._"
PRIVATE = "_a private incident_"  # a related incident whose title the reader may not see
KIND_NAMES = {
    "declared": "Declared",
    "update": "Update",
    "severity": "Severity",
    "role": "Role",
    "note": "Note",
    "pinned": "Pinned",
    "scribe": "Scribe",
    "paged": "Paged",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
}
# Entries quoting what someone wrote get a label; lifecycle entries describe themselves.
QUOTED_KINDS = ("pinned", "scribe", "note")
# What could make people's words into Markdown: emphasis, code, links and images (`[`), escapes; an
# `_` between two letters or digits never starts or ends emphasis, so `field_changed` reads as it is.
_MARKUP = re.compile(r"[\\`*\[\]~]|(?<![^\W_])_|_(?![^\W_])")
# A code span in the bot's own words (a step's kind, a user group's id), kept as code in a cell when
# nothing in it needs escaping.
_CODE = re.compile(r"`[^`<>&|\\\s][^`<>&|\\]{0,79}`")
# What starts a block (heading, quote, list, rule) when it opens a line.
_BLOCK_START = re.compile(r"^(\d*)([#+=.)-])")
_PERMALINK = re.compile(r"https?://[^\s()<>\[\]]+")


@dataclass
class Postmortem:
    """Everything the draft is written from."""

    incident: Incident
    entries: list[TimelineEntry]
    names: dict[str, str] = field(default_factory=dict)
    # Who was on call for each schedule while the incident was open (schedule → people).
    oncall: dict[str, list[str]] = field(default_factory=dict)
    followups: list[Followup] = field(default_factory=list)
    related: list[Related] = field(default_factory=list)  # linked incidents, both ways
    duplicate_of: Related | None = None
    fields: list[tuple[CustomField, Value | None]] = field(default_factory=list)  # each configured one

    def person(self, user_id: str | None) -> str | None:
        """Their name when known, else their ID (`U…`); None when nobody."""
        return person(user_id, self.names) if user_id else None

    def people(self, users: list[str]) -> str:
        """`Ana, Ben`, or nobody."""
        return ", ".join(p for p in map(self.person, users) if p) or "nobody"

    def action_items(self) -> list[dict[str, str | None]]:
        """The post-incident checklist as owned, dated action items."""
        inc = self.incident
        commander, comms = self.person(inc.commander_id), self.person(inc.comms_id or inc.commander_id)
        end = inc.resolved_at or inc.declared_at
        due_at = inc.postmortem_due_at or (end + POSTMORTEM_DUE if inc.severity.rank <= 2 else None)
        due_pm = due_at.strftime("%Y-%m-%d") if due_at else None
        week = (end + timedelta(days=7)).strftime("%Y-%m-%d")
        return [
            {"action": "Complete and publish this postmortem", "owner": commander, "due": due_pm},
            {"action": "Hold the postmortem review with everyone involved", "owner": commander, "due": week},
            {
                "action": "File each fix as a ticket with an owner and a due date",
                "owner": commander,
                "due": week,
            },
            {
                "action": "Update runbooks, dashboards and alerts with what was learned",
                "owner": None,
                "due": week,
            },
            {"action": "Tell customers and stakeholders the incident is over", "owner": comms, "due": None},
        ] + [
            {
                "action": f.text + ("" if f.is_open else " (done)"),
                "owner": self.person(f.owner_id),
                "due": f.due_on.isoformat(),
            }
            for f in self.followups
        ]

    def to_json(self) -> dict[str, Any]:
        """The same data for tools."""
        inc = self.incident
        return {
            "id": inc.ref,
            "number": inc.number,
            "title": inc.title,
            "severity": inc.severity,
            "status": inc.status,
            "service": inc.service,
            "channel": {"id": inc.channel_id, "name": inc.channel_name},
            "declared_at": _iso(inc.declared_at),
            "acknowledged_at": _iso(inc.acknowledged_at),
            "resolved_at": _iso(inc.resolved_at),
            "duration_seconds": int(_duration(inc).total_seconds()) if inc.resolved_at else None,
            "impact": impact_text(inc),
            "summary": inc.summary,
            "team": {
                "commander": _who(inc.commander_id, self.names),
                "scribe": _who(inc.scribe_id, self.names),
                "comms": _who(inc.comms_id, self.names),
            },
            "oncall": {name: [_who(u, self.names) for u in users] for name, users in self.oncall.items()},
            "timeline": [self.json_entry(e) for e in self.entries],
            "action_items": self.action_items(),
            "followups": [
                {
                    "id": f.id,
                    "text": f.text,
                    "owner": _who(f.owner_id, self.names),
                    "due": f.due_on.isoformat(),
                    "state": f.state,
                    "issue": {"tracker": f.tracker, "key": f.tracker_key, "url": f.tracker_url}
                    if f.tracker
                    else None,
                }
                for f in self.followups
            ],
            "postmortem": {"due_at": _iso(inc.postmortem_due_at), "url": inc.postmortem_url},
            "duplicate_of": self.duplicate_of.ref if self.duplicate_of else None,
            "related": [{"id": r.ref, "title": r.title, "status": r.status} for r in self.related],
            "fields": {spec.name: self._field_json(spec, value) for spec, value in self.fields},
        }

    def _field_json(self, spec: CustomField, value: Value | None) -> Any:
        """A field's value for tools: a person as everywhere in the export (id and name), null when unset."""
        if spec.type == "user" and isinstance(value, str):
            return _who(value, self.names)
        return plain(spec.type, value)

    def json_entry(self, e: TimelineEntry) -> dict[str, Any]:
        """One timeline entry for tools."""
        return {
            "at": _iso(e.at),
            "kind": e.kind,
            "author": _who(e.author_id, self.names),
            "text": entry_text(e, self.names),
            "permalink": e.permalink,
        }

    def json_frame(self) -> tuple[str, str]:
        """`to_json()` as indented JSON, cut at the timeline: what goes before its entries (up to `[`)
        and after them (from `]`); `json_rows` writes the entries between."""
        before, after = json.dumps({**self.to_json(), "timeline": []}, indent=2).split('"timeline": []', 1)
        return before + '"timeline": [', "]" + after

    def json_rows(self, entries: list[TimelineEntry], more: bool) -> str:
        """Timeline entries as `json.dumps(to_json(), indent=2)` writes them; `more` when some came
        before these. After the last, `json_close` ends the list."""
        rows = ",".join(
            "\n" + textwrap.indent(json.dumps(self.json_entry(e), indent=2), "    ") for e in entries
        )
        return ("," if more and rows else "") + rows


def json_close(wrote: bool) -> str:
    """What ends the timeline's list before the frame's `]`: a line break when it holds entries."""
    return "\n  " if wrote else ""


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


def _who(user_id: str | None, names: dict[str, str]) -> dict[str, str | None] | None:
    return {"id": user_id, "name": person(user_id, names) if user_id in names else None} if user_id else None


def _duration(inc: Incident) -> timedelta:
    return (inc.resolved_at or inc.declared_at) - inc.declared_at


def _md(words: str) -> str:
    """Plain words for the draft: entities for `&`, `<`, `>` (no HTML; the draft posted as a code block
    stays inert), Markdown's punctuation escaped (no emphasis, code, link or image), no backtick run
    that could open or close a fence."""
    return unfence(_MARKUP.sub(lambda m: "\\" + m.group(0), entities(words)))


def _line(text: str, names: dict[str, str]) -> str:
    """Someone's text (people by name) as one line of Markdown that cannot open a block."""
    return _BLOCK_START.sub(r"\1\\\2", " ".join(_md(readable(text, names)).split()))


def _cell(text: str) -> str:
    return " ".join(_md(text).split()).replace("|", "\\|")


def _composed_cell(text: str) -> str:
    """The bot's own words (people's in them already made plain) for a cell, as `_cell` but for its
    code spans, kept as code."""
    text = " ".join(text.split())
    out, pos = [], 0
    for m in _CODE.finditer(text):
        out += [_md(text[pos : m.start()]), m.group(0)]
        pos = m.end()
    return unfence("".join([*out, _md(text[pos:])])).replace("|", "\\|")


def _owner(person: str | None) -> str:
    return _cell(person) if person else "_unassigned_"


def markdown(pm: Postmortem) -> str:
    """The blameless postmortem draft, following the runbooks' template."""
    times = [e.at for e in pm.entries]
    days = spans_days(pm.incident, min(times, default=None), max(times, default=None))
    head, tail = markdown_frame(pm)
    return head + markdown_rows(pm, pm.entries, days) + tail


def spans_days(inc: Incident, first: datetime | None, last: datetime | None) -> bool:
    """Whether the timeline (its first and last entry's times) or the incident spans days: then
    rows show the date as well as the time."""
    days = {inc.declared_at.date()} | {at.date() for at in (first, last) if at}
    return len(days) > 1 or (inc.resolved_at is not None and inc.resolved_at.date() != inc.declared_at.date())


def markdown_rows(pm: Postmortem, entries: list[TimelineEntry], spans_days: bool) -> str:
    """The timeline table's rows for `entries`, each ending in a line break."""
    out = []
    for e in entries:
        at = f"{e.at:%Y-%m-%d %H:%M}" if spans_days else f"{e.at:%H:%M}"
        who = pm.person(e.author_id) if e.author_id and e.author_id[:1] in ("U", "W") else None
        who = _cell(who) if who else None
        text = (_composed_cell if e.kind in COMPOSED else _cell)(entry_text(e, pm.names))
        link = f" ([message]({e.permalink}))" if e.permalink and _PERMALINK.fullmatch(e.permalink) else ""
        by = f" ({who})" if who and e.kind != "role" else ""  # a role entry names both people
        if e.kind in QUOTED_KINDS:
            out.append(f"| {at} | **{KIND_NAMES[e.kind]}**{by}: {text}{link} |\n")
        else:
            out.append(f"| {at} | {text}{by}{link} |\n")
    return "".join(out)


def markdown_frame(pm: Postmortem) -> tuple[str, str]:
    """The draft before its timeline's rows (through the table's header) and after them."""
    inc = pm.incident
    sev, status = inc.severity, Status(inc.status)
    start = f"{inc.declared_at:%Y-%m-%d %H:%M}"
    if inc.resolved_at:
        when = f"{format_duration(_duration(inc))} ({start} to {inc.resolved_at:%Y-%m-%d %H:%M} UTC)"
    else:
        when = f"ongoing since {start} UTC"
    summary = _line(inc.summary, pm.names) if inc.summary else None
    impact = impact_text(inc)
    out = [
        f"# Postmortem: {inc.ref} {_line(inc.title, pm.names)}",
        "",
        "_Draft generated by incident-bot from the incident timeline. Edit freely._",
        "",
        "| | |",
        "| --- | --- |",
        f"| **Incident** | {inc.ref} (#{_cell(inc.channel_name or inc.channel_id or '')}) |",
        f"| **Date** | {inc.declared_at:%Y-%m-%d} |",
        f"| **Duration** | {when} |",
        f"| **Severity** | {sev.value} ({sev.label}) |",
        f"| **Status** | {status.label} |",
        f"| **Service** | {_cell(inc.service)} |" if inc.service else "",
        f"| **Duplicate of** | {pm.duplicate_of.ref} |" if pm.duplicate_of else "",
        "",
        *_fields(pm),
        "## Incident team",
        "",
        "| Role | Person |",
        "| --- | --- |",
        f"| Incident commander | {_owner(pm.person(inc.commander_id))} |",
        f"| Scribe | {_owner(pm.person(inc.scribe_id))} |",
        f"| Communications lead | {_owner(pm.person(inc.comms_id))} |",
        *(f"| On call ({_cell(name)}) | {_cell(pm.people(users))} |" for name, users in pm.oncall.items()),
        "",
        "## Executive summary",
        "",
        TO_COMPLETE + " Two or three sentences: what happened, who was affected, how it ended.",
        "",
        f"> {summary}" if summary else "> _No resolution summary was recorded._",
        "",
        "## Impact",
        "",
        f"- **What users experienced:** {' '.join(_md(impact).split()) if impact else TO_COMPLETE}",
        f"- **Who and how many were affected:** {TO_COMPLETE}",
        f"- **How long users were affected:** {TO_COMPLETE}",
        f"- **Business impact (orders, revenue, SLAs):** {TO_COMPLETE}",
        "",
        *_related(pm),
        "## Timeline",
        "",
        "| Time (UTC) | Event |",
        "| --- | --- |",
    ]
    head, out = out, []
    out += [
        "",
        "## Root cause",
        "",
        TO_COMPLETE
        + " The technical cause, and the conditions that allowed it (ask why until it is useful).",
        "",
        f"> From the resolution: {summary}" if summary else "",
        "",
        "## Resolution",
        "",
        summary or "_Not resolved yet._",
        "",
        "## What went well, what went badly, where we were lucky",
        "",
        "- " + TO_COMPLETE,
        "",
        "## Action items",
        "",
        "| Action | Owner | Due |",
        "| --- | --- | --- |",
    ]
    for item in pm.action_items():
        owner = _owner(item["owner"])
        out.append(f"| {_cell(item['action'] or '')} | {owner} | {item['due'] or '_set a date_'} |")
    out += [
        "",
        "## Blameless note",
        "",
        "This postmortem is blameless. It assumes everyone acted in good faith with what they knew "
        "at the time, and looks for the systems, processes and conditions that made the failure "
        "possible, not for people to blame. Name actions and decisions, not culprits.",
        "",
    ]
    return _joined(head) + "\n", _joined(["-", *out])[2:]  # the rows come between, the tail after a line


def _related(pm: Postmortem) -> list[str]:
    """The Related incidents section: what this is a duplicate of, then those linked (none: no section)."""
    named = [("Duplicate of ", pm.duplicate_of)] if pm.duplicate_of else []
    named += [("", r) for r in pm.related]
    lines = [f"- {lead}{r.ref}: {_line(r.title, pm.names) if r.title else PRIVATE}" for lead, r in named]
    return ["## Related incidents", "", *lines, ""] if lines else []


def _fields(pm: Postmortem) -> list[str]:
    """The Fields part of the header: each configured field's label and value (none configured: no part)."""
    if not pm.fields:
        return []
    rows = [f"| {_cell(spec.title)} | {_field_value(pm, spec, value)} |" for spec, value in pm.fields]
    return ["**Fields**", "", "| Field | Value |", "| --- | --- |", *rows, ""]


def _field_value(pm: Postmortem, spec: CustomField, value: Value | None) -> str:
    words = shown(spec.type, value)
    if words is None:
        return "_not set_"
    if spec.type == "user":
        return _cell(pm.person(words) or words)
    if spec.type == "link" and _PERMALINK.fullmatch(words) and "|" not in words:
        return f"[{_cell(words)}]({words})"
    return _cell(words)


def _joined(lines: list[str]) -> str:
    """Lines joined, no blank line after another (a missing summary leaves one out) or first."""
    return "\n".join(line for i, line in enumerate(lines) if line or (i and lines[i - 1]))
