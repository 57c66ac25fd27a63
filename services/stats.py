"""`incident-bot stats`: incidents by severity (or by service, or by a custom field's value), MTTA and
MTTR (median and p90) over a window."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from config.custom_fields import CustomField
from config.policy import Policy
from domain.durations import format_duration
from domain.fields import Value, shown
from domain.severity import Severity
from messages.text import person
from storage.db import Database
from storage.fields import FieldRepo
from storage.models import Incident
from storage.people import PeopleRepo
from storage.repositories import IncidentRepo
from storage.schedule import DeliveryRepo

WORK_START, WORK_END = time(9), time(18)

SEVERITIES = tuple(Severity)
BY = ("severity", "service")  # `stats --by`: what the rows are (or FIELD + a field's name)
FIELD = "field:"
NO_SERVICE = "(none)"  # the row of incidents declared without a service (or without the field's value)


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0–100) by linear interpolation between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class Row:
    """Figures for one severity or service (or all)."""

    declared: int
    open: int
    resolved: int
    mtta_p50: float | None
    mtta_p90: float | None
    mttr_p50: float | None
    mttr_p90: float | None


def summarise(incidents: list[Incident]) -> Row:
    """Counts and time-to-acknowledge / time-to-resolve percentiles, in seconds (a duplicate counts, but
    its times, which say nothing of the response, are left out)."""
    timed = [i for i in incidents if i.duplicate_of is None]
    tta = [(i.acknowledged_at - i.declared_at).total_seconds() for i in timed if i.acknowledged_at]
    ttr = [(i.resolved_at - i.declared_at).total_seconds() for i in timed if i.resolved_at]
    return Row(
        declared=len(incidents),
        open=sum(1 for i in incidents if i.resolved_at is None),
        resolved=sum(1 for i in incidents if i.resolved_at is not None),
        mtta_p50=percentile(tta, 50),
        mtta_p90=percentile(tta, 90),
        mttr_p50=percentile(ttr, 50),
        mttr_p90=percentile(ttr, 90),
    )


async def load(db: Database, team_id: str, since: datetime) -> list[Incident]:
    """A workspace's incidents declared since `since`."""
    async with db.session() as s:
        return await IncidentRepo(s, team_id).declared_since(since)


async def load_pages(db: Database, team_id: str, since: datetime) -> list[tuple[str, datetime]]:
    """(person, when) of a workspace's pages sent since `since`."""
    async with db.session() as s:
        return await DeliveryRepo(s).sent_since(team_id, since)


async def load_people(
    db: Database, team_id: str, user_ids: Iterable[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The names and time zones (users.info's) the workspace knows of these people."""
    async with db.session() as s:
        people = PeopleRepo(s, team_id)
        user_ids = set(user_ids)
        return await people.names(user_ids), await people.zones(user_ids)


async def load_fields(db: Database, incidents: list[Incident], name: str) -> dict[int, Value]:
    """Incident id → its value of the field `name` (unset ones absent)."""
    async with db.session() as s:
        values = await FieldRepo(s).of_many(i.id for i in incidents)
    return {i: v[name] for i, v in values.items() if name in v}


@dataclass(frozen=True)
class ByField:
    """`stats --by field:<name>`: the field, each incident's value, and the names of people it holds."""

    field: CustomField
    values: Mapping[int, Value]
    names: Mapping[str, str]

    def keys(self, incident: Incident) -> list[str]:
        """The rows an incident counts in: one per value (each of a multi-select's), none when unset."""
        value = self.values.get(incident.id)
        parts = value if isinstance(value, list) else [] if value is None else [value]
        if self.field.type == "user":
            return [person(str(p), self.names) for p in parts]
        return [" ".join((shown(self.field.type, p) or "").split()) for p in parts]

    def rows(self, incidents: list[Incident]) -> dict[str, Row]:
        """A row per option (in the policy's order), then other values seen, by name, then NO_SERVICE."""
        keys = {i.id: self.keys(i) for i in incidents}
        seen = {k for ks in keys.values() for k in ks}
        numeric = self.field.type == "number"
        others = sorted(seen - set(self.field.options), key=lambda k: (float(k), k) if numeric else (0, k))
        names = [*self.field.options, *others]
        rows = {n: summarise([i for i in incidents if n in keys[i.id]]) for n in names}
        rows[NO_SERVICE] = summarise([i for i in incidents if not keys[i.id]])
        return rows


@dataclass
class Load:
    """On-call load of one person: pages, and those outside 09:00–18:00 on weekdays in their zone."""

    user: str
    pages: int
    outside_hours: int
    zone: str
    name: str | None = None  # None: not known by name


def oncall_load(
    pages: list[tuple[str, datetime]], zones: Mapping[str, ZoneInfo], names: Mapping[str, str] | None = None
) -> list[Load]:
    """Pages per person, most paged first; a person's zone is that of `zones` (UTC when none)."""
    by_user: dict[str, Load] = {}
    for user, at in pages:
        zone = zones.get(user, ZoneInfo("UTC"))
        name = person(user, names) if names and user in names else None
        row = by_user.setdefault(user, Load(user, 0, 0, str(zone), name))
        local = at.astimezone(zone)
        row.pages += 1
        row.outside_hours += int(local.weekday() >= 5 or not WORK_START <= local.time() < WORK_END)
    return sorted(by_user.values(), key=lambda r: (-r.pages, r.user))


def grouped(
    incidents: list[Incident], by: str, services: Iterable[str] = (), field: ByField | None = None
) -> dict[str, Row]:
    """A row per severity, or per service (those of the policy and those on the incidents, by name,
    then NO_SERVICE), or per value of `field`."""
    if field is not None:
        return field.rows(incidents)
    if by == "service":
        names = sorted(set(services) | {i.service for i in incidents if i.service})
        rows = {n: summarise([i for i in incidents if i.service == n]) for n in names}
        rows[NO_SERVICE] = summarise([i for i in incidents if not i.service])
        return rows
    return {sev: summarise([i for i in incidents if i.severity == sev]) for sev in SEVERITIES}


def report(
    incidents: list[Incident],
    since: datetime,
    window: str,
    fmt: str,
    load: list[Load],
    by: str = "severity",
    services: Iterable[str] = (),
    field: ByField | None = None,
) -> str:
    """The stats as an aligned table or as JSON, a row per severity or (`by` "service") per service, or
    (`by` "field:<name>", with `field`) per value of that field."""
    rows, every = grouped(incidents, by, services, field), summarise(incidents)
    if fmt == "json":
        data = {
            "since": since.isoformat().replace("+00:00", "Z"),
            "window": window,
            f"by_{by}": {k: vars(v) for k, v in rows.items()},
            "all": vars(every),
            "pages_by_person": [vars(r) for r in load],
        }
        return json.dumps(data, indent=2) + "\n"

    def dur(seconds: float | None) -> str:
        return format_duration(timedelta(seconds=round(seconds))) if seconds is not None else "-"

    first = field.field.title if field is not None else by.capitalize()
    header = (first, "Declared", "Open", "Resolved", "MTTA p50", "MTTA p90", "MTTR p50", "MTTR p90")
    table = [header] + [
        (
            name,
            str(r.declared),
            str(r.open),
            str(r.resolved),
            dur(r.mtta_p50),
            dur(r.mtta_p90),
            dur(r.mttr_p50),
            dur(r.mttr_p90),
        )
        for name, r in [*rows.items(), ("All", every)]
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table]
    title = f"Incidents declared since {since:%Y-%m-%d %H:%M} UTC ({window}): {len(incidents)}"
    out = [title, "", *lines]
    if load:
        people = [("Person", "Pages", "Outside 09-18", "Zone")] + [
            (r.name or r.user, str(r.pages), str(r.outside_hours), r.zone) for r in load
        ]
        w = [max(len(row[i]) for row in people) for i in range(4)]
        out += ["", "On-call load (pages sent; outside 09:00-18:00 weekdays, local):", ""]
        out += ["  ".join(c.ljust(x) for c, x in zip(row, w, strict=True)).rstrip() for row in people]
    return "\n".join(out) + "\n"


def zones_of(policy: Policy, known: Mapping[str, str] | None = None) -> dict[str, ZoneInfo]:
    """Each person's time zone: that of the first schedule naming them, else their own (`known`: user
    id → the zone users.info gave)."""
    zones: dict[str, ZoneInfo] = {}
    for schedule in policy.schedules:
        for user in (*schedule.users, *schedule.fallback):
            zones.setdefault(user, schedule.tz)
    for user, tz in (known or {}).items():
        if user not in zones:
            try:
                zones[user] = ZoneInfo(tz)
            except (ValueError, KeyError):  # a zone this system's tz database lacks: UTC, as before
                continue
    return zones
