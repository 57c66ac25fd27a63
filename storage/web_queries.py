"""What the web view reads, as aggregate SQL (never a Python loop over every row): the incident list
with filters, sorting and pages; incidents per week; MTTA and MTTR percentiles (per month and severity,
or per service); pages per person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, case, cast, exists, false, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Incident, IncidentField, PageDelivery

SORTS = ("declared", "severity", "duration", "tta", "status")
MAX_SERVICES = 500  # services the Services page and the list's choice name at most
MAX_OPEN = 500  # open incidents the Services page lists at most


@dataclass(frozen=True)
class Filters:
    """The list's filters, sort and page, as given in the URL."""

    status: str | None = None  # open | resolved
    severity: str | None = None  # SEV1…SEV4
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    service: str | None = None  # a `[[services]]` name
    fields: tuple[tuple[str, str], ...] = ()  # (field, option): its value, or one of a multi-select's
    sort: str = "declared"
    descending: bool = True
    page: int = 1
    per_page: int = 50


def _seconds(session: AsyncSession, end: Any, start: Any) -> ColumnElement[float]:
    """Seconds between two timestamp columns, in the session's dialect."""
    if session.bind.dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _bucket(session: AsyncSession, at: Any, unit: str) -> ColumnElement[str]:
    """`YYYY-MM` (month) or the Monday `YYYY-MM-DD` (week) of a UTC timestamp column."""
    if session.bind.dialect.name == "postgresql":
        utc = func.timezone("UTC", at)
        if unit == "month":
            return func.to_char(utc, "YYYY-MM")
        return func.to_char(func.date_trunc("week", utc), "YYYY-MM-DD")
    if unit == "month":
        return func.strftime("%Y-%m", at)
    return func.date(at, "weekday 0", "-6 days")


class WebQueries:
    """One workspace's incidents as the web view shows them."""

    def __init__(self, session: AsyncSession, team_id: str) -> None:
        self.session, self.team_id = session, team_id

    def _seen(self, private_ok: set[int] | None) -> list[ColumnElement[bool]]:
        """The workspace's incidents, and of its private ones only `private_ok` (None: every one)."""
        where: list[ColumnElement[bool]] = [Incident.team_id == self.team_id]
        if private_ok is not None:  # a private incident only for the members of its channel
            where.append(or_(Incident.private.is_(False), Incident.id.in_(private_ok)))
        return where

    def _where(self, f: Filters, private_ok: set[int] | None) -> list[ColumnElement[bool]]:
        i = Incident
        where = self._seen(private_ok)
        if f.status == "open":
            where.append(i.resolved_at.is_(None))
        elif f.status == "resolved":
            where.append(i.resolved_at.is_not(None))
        if f.severity:
            where.append(i.severity == f.severity)
        if f.since:
            where.append(i.declared_at >= f.since)
        if f.until:
            where.append(i.declared_at < f.until)
        if f.text:
            pattern = "%" + f.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(func.lower(i.title).like(pattern, escape="\\"))
        if f.service is not None:
            where.append(_service_is(f.service))
        where += [_field_is(self.session, name, option) for name, option in f.fields]
        return where

    async def incidents(self, f: Filters, private_ok: set[int] | None) -> tuple[list[Incident], int]:
        """One page of incidents and how many match in all."""
        i = Incident
        where = self._where(f, private_ok)
        total = int(
            (await self.session.execute(select(func.count()).select_from(i).where(*where))).scalar_one()
        )
        now = func.coalesce(i.resolved_at, func.current_timestamp())
        keys: dict[str, Any] = {
            "declared": i.declared_at,
            "severity": i.severity,
            "duration": _seconds(self.session, now, i.declared_at),
            "tta": _seconds(self.session, i.acknowledged_at, i.declared_at),
            "status": i.status,
        }
        key = keys.get(f.sort, i.declared_at)
        order = key.desc() if f.descending else key.asc()
        stmt: Select[tuple[Incident]] = (
            select(i)
            .where(*where)
            .order_by(order, i.id.desc())
            .limit(f.per_page)
            .offset((f.page - 1) * f.per_page)
        )
        return list((await self.session.execute(stmt)).scalars()), total

    async def private_ids(self) -> list[tuple[int, str | None]]:
        """(id, channel) of the workspace's private incidents (whose members may see them)."""
        stmt = select(Incident.id, Incident.channel_id).where(
            Incident.team_id == self.team_id, Incident.private.is_(True)
        )
        return [(n, c) for n, c in (await self.session.execute(stmt)).all()]

    async def open_incidents(self) -> list[Incident]:
        """Unresolved incidents, newest first (the live panel)."""
        stmt = (
            select(Incident)
            .where(Incident.team_id == self.team_id, Incident.resolved_at.is_(None))
            .order_by(Incident.declared_at.desc())
            .limit(100)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def weekly(self, since: datetime, private_ok: set[int] | None) -> list[tuple[str, str, int]]:
        """(Monday of the week, severity, incidents declared) since `since`, of the incidents seen."""
        week = _bucket(self.session, Incident.declared_at, "week").label("week")
        stmt = (
            select(week, Incident.severity, func.count())
            .where(*self._seen(private_ok), Incident.declared_at >= since)
            .group_by(week, Incident.severity)
            .order_by(week, Incident.severity)
        )
        return [(str(w), str(s), int(n)) for w, s, n in (await self.session.execute(stmt)).all()]

    async def percentiles(
        self, since: datetime, metric: str, private_ok: set[int] | None
    ) -> list[tuple[str, str, int, float, float]]:
        """(month, severity, count, p50, p90) of time to acknowledge (`tta`) or to resolve (`ttr`)
        in seconds, per month of declaration; percentiles interpolate between the closest ranks."""
        month = _bucket(self.session, Incident.declared_at, "month")
        rows = await self._percentiles([month, Incident.severity], metric, since, private_ok)
        return [(str(m), str(s), n, p50, p90) for (m, s), n, p50, p90 in rows]

    async def service_percentiles(
        self, since: datetime, metric: str, private_ok: set[int] | None
    ) -> list[tuple[str, int, float, float]]:
        """(service, count, p50, p90) of `tta` or `ttr` in seconds, of incidents with a service."""
        i = Incident
        rows = await self._percentiles([i.service], metric, since, private_ok, i.service.is_not(None))
        return [(str(name), n, p50, p90) for (name,), n, p50, p90 in rows]

    async def _percentiles(
        self,
        keys: list[ColumnElement[Any]],
        metric: str,
        since: datetime,
        private_ok: set[int] | None,
        *where: ColumnElement[bool],
    ) -> list[tuple[tuple[Any, ...], int, float, float]]:
        """(key values, count, p50, p90) of `tta` or `ttr` in seconds per group of `keys`, in their order;
        duplicates left out."""
        i = Incident
        end = i.acknowledged_at if metric == "tta" else i.resolved_at
        value = _seconds(self.session, end, i.declared_at).label("v")
        groups = [key.label(f"k{n}") for n, key in enumerate(keys)]
        ranked = (
            select(
                *groups,
                value,
                func.row_number().over(partition_by=groups, order_by=value).label("rn"),
                func.count().over(partition_by=groups).label("n"),
            )
            .where(
                *self._seen(private_ok),
                i.declared_at >= since,
                end.is_not(None),
                i.duplicate_of.is_(None),  # a duplicate's times say nothing of the response
                *where,
            )
            .subquery()
        )
        by = [ranked.c[g.name] for g in groups]
        columns = [*by, func.max(ranked.c.n)]
        for q in (0.5, 0.9):
            pos = (ranked.c.n - 1) * q
            low = func.floor(pos)
            columns += [
                func.max(case((ranked.c.rn == low + 1, ranked.c.v))),
                func.max(case((ranked.c.rn == low + 2, ranked.c.v))),
                func.max(pos - low),
            ]
        out = []
        for row in (await self.session.execute(select(*columns).group_by(*by).order_by(*by))).all():
            *names, n, lo50, hi50, frac50, lo90, hi90, frac90 = row
            out.append((tuple(names), int(n), _between(lo50, hi50, frac50), _between(lo90, hi90, frac90)))
        return out

    async def services(self, private_ok: set[int] | None) -> list[str]:
        """The services named on the incidents seen, by name (at most MAX_SERVICES)."""
        stmt = (
            select(Incident.service)
            .where(*self._seen(private_ok), Incident.service.is_not(None))
            .distinct()
            .order_by(Incident.service)
            .limit(MAX_SERVICES)
        )
        return [str(name) for name in (await self.session.scalars(stmt)).all()]

    async def service_counts(self, since: datetime, private_ok: set[int] | None) -> dict[str, int]:
        """Incidents seen declared since `since`, per service."""
        stmt = (
            select(Incident.service, func.count())
            .where(*self._seen(private_ok), Incident.service.is_not(None), Incident.declared_at >= since)
            .group_by(Incident.service)
        )
        return {str(name): int(n) for name, n in (await self.session.execute(stmt)).all()}

    async def open_with_service(self, private_ok: set[int] | None) -> list[Incident]:
        """Unresolved incidents seen that have a service, newest first (at most MAX_OPEN)."""
        stmt = (
            select(Incident)
            .where(*self._seen(private_ok), Incident.service.is_not(None), Incident.resolved_at.is_(None))
            .order_by(Incident.declared_at.desc(), Incident.id.desc())
            .limit(MAX_OPEN)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def page_load(self, since: datetime, private_ok: set[int] | None) -> list[tuple[str, int, int]]:
        """(person, UTC hour of the week 0–167, pages): at most 168 rows a person, which the caller
        places in each person's time zone to count pages outside working hours."""
        p = PageDelivery
        hour = _hour_of_week(self.session, p.sent_at).label("how")
        stmt = (
            select(p.user_id, hour, func.count())
            .join(Incident, Incident.id == p.incident_id)
            .where(*self._seen(private_ok), p.sent_at >= since)
            .group_by(p.user_id, hour)
        )
        return [(str(u), int(h), int(n)) for u, h, n in (await self.session.execute(stmt)).all()]


def _service_is(name: str) -> ColumnElement[bool]:
    """Incidents of the service `name`; a name no service has room for (or with a NUL, which PostgreSQL's
    text cannot hold) matches none."""
    if "\x00" in name or len(name) > Incident.__table__.c.service.type.length:
        return false()
    return Incident.service == name


def _field_is(session: AsyncSession, name: str, option: str) -> ColumnElement[bool]:
    """Incidents whose field `name` is `option`, or holds it (a multi-select); a name or option no field
    could have (too long, a NUL, which neither database's JSON can hold) matches none."""
    f = IncidentField
    if "\x00" in name + option or len(name) > f.__table__.c.name.type.length or len(option) > 75:
        return false()
    if session.bind.dialect.name == "postgresql":  # jsonb: a string is itself, an array holds it
        holds = cast(f.value, JSONB).op("@>")(literal(option, JSONB))
    else:  # json_each: a string's one row is itself, an array's rows its items
        each = func.json_each(f.value).table_valued("value")
        holds = exists(select(1).select_from(each).where(each.c.value == option))
    return Incident.id.in_(select(f.incident_id).where(f.name == name, holds))


def _between(low: float | None, high: float | None, frac: float | None) -> float:
    if low is None:
        return 0.0
    if high is None:
        return float(low)
    return float(low) + (float(high) - float(low)) * float(frac or 0)


def _hour_of_week(session: AsyncSession, at: Any) -> ColumnElement[int]:
    """0 (Monday 00:00 UTC) … 167 (Sunday 23:00 UTC)."""
    if session.bind.dialect.name == "postgresql":
        utc = func.timezone("UTC", at)
        return cast((func.extract("isodow", utc) - 1) * 24 + func.extract("hour", utc), Integer)
    dow = (cast(func.strftime("%w", at), Integer) + 6) % 7
    return dow * 24 + cast(func.strftime("%H", at), Integer)
