"""What the web view reads, as aggregate SQL (never a Python loop over every row): the incident list
with filters, sorting and pages; incidents per week; MTTA and MTTR percentiles; pages per person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Incident, PageDelivery

SORTS = ("declared", "severity", "duration", "tta", "status")


@dataclass(frozen=True)
class Filters:
    """The list's filters, sort and page, as given in the URL."""

    status: str | None = None  # open | resolved
    severity: str | None = None  # SEV1…SEV4
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
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
        i = Incident
        end = i.acknowledged_at if metric == "tta" else i.resolved_at
        value = _seconds(self.session, end, i.declared_at).label("v")
        month = _bucket(self.session, i.declared_at, "month").label("month")
        ranked = (
            select(
                month,
                i.severity.label("severity"),
                value,
                func.row_number().over(partition_by=(month, i.severity), order_by=value).label("rn"),
                func.count().over(partition_by=(month, i.severity)).label("n"),
            )
            .where(*self._seen(private_ok), i.declared_at >= since, end.is_not(None))
            .subquery()
        )
        out = []
        columns = [ranked.c.month, ranked.c.severity, func.max(ranked.c.n)]
        for q in (0.5, 0.9):
            pos = (ranked.c.n - 1) * q
            low = func.floor(pos)
            columns += [
                func.max(case((ranked.c.rn == low + 1, ranked.c.v))),
                func.max(case((ranked.c.rn == low + 2, ranked.c.v))),
                func.max(pos - low),
            ]
        stmt = (
            select(*columns)
            .group_by(ranked.c.month, ranked.c.severity)
            .order_by(ranked.c.month, ranked.c.severity)
        )
        for m, s, n, lo50, hi50, frac50, lo90, hi90, frac90 in (await self.session.execute(stmt)).all():
            p50 = _between(lo50, hi50, frac50)
            p90 = _between(lo90, hi90, frac90)
            out.append((str(m), str(s), int(n), p50, p90))
        return out

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
