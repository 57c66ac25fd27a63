"""The web view's queries against hand-computed figures, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import migrate
from storage.db import Database
from storage.models import Incident, PageDelivery, ScheduledJob
from storage.web_queries import Filters, WebQueries

T = "T0WEB"
START = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)  # a Monday


def _incident(
    n: int, sev: str, day: int, tta_min: float | None, ttr_min: float | None, **extra: object
) -> Incident:
    declared = START + timedelta(days=day)
    return Incident(
        team_id=T,
        number=n,
        title=extra.pop("title", f"Incident {n}"),  # type: ignore[arg-type]
        severity=sev,
        status="resolved" if ttr_min is not None else "investigating",
        declared_at=declared,
        acknowledged_at=declared + timedelta(minutes=tta_min) if tta_min is not None else None,
        resolved_at=declared + timedelta(minutes=ttr_min) if ttr_min is not None else None,
        **extra,
    )


async def _seeded(database_url: str) -> Database:
    db = Database(database_url)
    await migrate.upgrade(db)
    rows = [
        # October, SEV2: time to acknowledge 2, 4, 6, 8 min; to resolve 30, 60, 90, 120 min.
        _incident(1, "SEV2", 0, 2, 30),
        _incident(2, "SEV2", 1, 4, 60),
        _incident(3, "SEV2", 8, 6, 90),
        _incident(4, "SEV2", 9, 8, 120),
        # October, SEV1: one, acknowledged after 1 min, resolved after 45 min.
        _incident(5, "SEV1", 2, 1, 45, title="Checkout is DOWN"),
        # November (day 30 = 2026-11-04), SEV2: 10 and 20 min to acknowledge; one still open.
        _incident(6, "SEV2", 30, 10, 100),
        _incident(7, "SEV2", 31, 20, None),
        # Another workspace: never counted.
        Incident(
            team_id="T0OTHER",
            number=1,
            title="Elsewhere",
            severity="SEV1",
            status="resolved",
            declared_at=START,
            acknowledged_at=START,
            resolved_at=START + timedelta(hours=9),
        ),
    ]
    async with db.session() as s:
        s.add_all(rows)
        await s.flush()
        job = ScheduledJob(
            team_id=T, incident_id=rows[0].id, kind="page", level=0, due_at=START, state="done"
        )
        s.add(job)
        await s.flush()
        for at, user in ((START, "U0A"), (START.replace(hour=2), "U0A"), (START.replace(hour=14), "U0B")):
            s.add(
                PageDelivery(
                    job_id=job.id, incident_id=rows[0].id, level=0, user_id=user + str(at.hour), sent_at=at
                )
            )
    return db


async def test_percentiles_per_month_and_severity_interpolate_between_ranks(database_url: str) -> None:
    db = await _seeded(database_url)
    try:
        async with db.session() as s:
            q = WebQueries(s, T)
            tta = await q.percentiles(START - timedelta(days=1), "tta", None)
            ttr = await q.percentiles(START - timedelta(days=1), "ttr", None)
    finally:
        await db.dispose()
    # SEV2 in October, tta 120/240/360/480 s: p50 halfway between the 2nd and 3rd → 300 s; p90 at
    # (4 - 1) × 0.9 = 2.7 places past the first: 360 + 0.7 × 120 = 444 s (as `incident-bot stats`).
    assert [(m, s, n, round(p50), round(p90)) for m, s, n, p50, p90 in tta] == [
        ("2026-10", "SEV1", 1, 60, 60),
        ("2026-10", "SEV2", 4, 300, 444),
        ("2026-11", "SEV2", 2, 900, 1140),  # 600 and 1200 s: p50 900, p90 600 + 0.9 × 600
    ]
    # Resolved only: 1800/3600/5400/7200 s → p50 4500, p90 6660; November has one (6000 s).
    assert [(m, s, n, round(p50), round(p90)) for m, s, n, p50, p90 in ttr] == [
        ("2026-10", "SEV1", 1, 2700, 2700),
        ("2026-10", "SEV2", 4, 4500, 6660),
        ("2026-11", "SEV2", 1, 6000, 6000),
    ]


async def test_incidents_per_week_and_the_filtered_sorted_pages(database_url: str) -> None:
    db = await _seeded(database_url)
    try:
        async with db.session() as s:
            q = WebQueries(s, T)
            weekly = await q.weekly(START - timedelta(days=1), None)
            page1, total = await q.incidents(Filters(per_page=3), None)
            page3, _ = await q.incidents(Filters(per_page=3, page=3), None)
            open_, n_open = await q.incidents(Filters(status="open"), None)
            sev1, _ = await q.incidents(Filters(severity="SEV1"), None)
            text, _ = await q.incidents(Filters(text="down"), None)
            fastest, _ = await q.incidents(Filters(sort="tta", descending=False, status="resolved"), None)
            load = await q.page_load(START - timedelta(days=1), None)
    finally:
        await db.dispose()
    assert weekly == [
        ("2026-10-05", "SEV1", 1),
        ("2026-10-05", "SEV2", 2),
        ("2026-10-12", "SEV2", 2),
        ("2026-11-02", "SEV2", 2),
    ]
    assert total == 7 and [i.number for i in page1] == [7, 6, 4] and [i.number for i in page3] == [1]
    assert (n_open, [i.number for i in open_]) == (1, [7])
    assert [i.number for i in sev1] == [5] and [i.number for i in text] == [5]
    assert [i.number for i in fastest][:2] == [5, 1]
    # Monday 12:00, 02:00 and 14:00 UTC: hours of the week 12, 2 and 14.
    assert sorted(load) == [("U0A12", 12, 1), ("U0A2", 2, 1), ("U0B14", 14, 1)]
