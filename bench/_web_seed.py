"""Filling a fresh database for bench/web.py: 10,000 incidents over two years in workspace T0EMU, their
timelines (one incident with 5,000 entries, one with 50, the others a long tail), status updates and
pages sent, with bulk inserts; the same data every run."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import _support  # noqa: F401  (the repository first on sys.path, for `storage`)
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database
from storage.models import Incident, IncidentUpdate, PageDelivery, Person, ScheduledJob, TimelineEntry

TEAM = "T0EMU"  # the emulator's default workspace, served by the bot's single token
BIG_ENTRIES, NORMAL_ENTRIES = 5_000, 50
CHUNK = 10_000
SEVERITIES = (("SEV1", 5), ("SEV2", 20), ("SEV3", 45), ("SEV4", 30))
OPEN_STATUSES = ("investigating", "identified", "mitigating", "monitoring")
SERVICES = (
    "checkout", "payments", "search", "login", "API gateway", "billing", "notifications", "inventory",
    "image resizing", "mobile app", "CDN", "database", "webhooks", "reporting", "recommendations",
)  # fmt: skip
SYMPTOMS = (
    "errors spiking", "is slow", "is down", "timeouts", "returns 502s", "stale data", "queue backing up",
    "elevated latency", "partial outage", "failing health checks",
)  # fmt: skip
SUMMARY = "Rolled back the faulty deploy; error rates are back to normal."
SAYINGS = (
    "Rolled back the last deploy, watching the error rate.",
    "Error rate back to baseline in eu-west; us-east still elevated.",
    "Scaling the worker pool from 12 to 24 while we look for the cause.",
    "Customer support reports checkout failures for card payments only.",
    "The connection pool is saturated; raising the limit as a stopgap.",
    "Found it: a config change turned off the cache for <https://example.com/cfg|the pricing service>.",
    "Status page updated; next update in 30 minutes.",
    "Paged the database on-call, asked <@{user}> to join.",
)


@dataclass
class Seeded:
    """What was put in the database, for the pages and checks that follow."""

    incidents: int
    entries: int
    updates: int
    pages: int
    big: int  # the number of the incident with BIG_ENTRIES entries
    normal: int  # one with NORMAL_ENTRIES
    private: dict[str, set[str]] = field(default_factory=dict)  # channel → members (private incidents)
    seconds: float = 0.0


def _people() -> list[str]:
    """The workspace's people: Alice, the scribe and forty more."""
    return ["U0ALICE", "U0SCRIBE", *(f"U0P{n:03d}" for n in range(40))]


def _counts(rng: random.Random, incidents: int, entries: int, big: int, normal: int) -> list[int]:
    """Timeline entries per incident (index = number - 1): a long tail, `big` with BIG_ENTRIES,
    `normal` with NORMAL_ENTRIES, at least 2 each (declared, resolved), `entries` in all."""
    fixed = {big: min(BIG_ENTRIES, entries), normal: NORMAL_ENTRIES}
    others = [n for n in range(1, incidents + 1) if n not in fixed]
    left = max(entries - sum(fixed.values()) - 2 * len(others), 0)
    weights = [rng.paretovariate(2.5) for _ in others]
    total = sum(weights) or 1.0
    counts = {n: 2 + int(w / total * left) for n, w in zip(others, weights, strict=True)}
    short = entries - sum(fixed.values()) - sum(counts.values())
    for n in rng.choices(others, k=max(short, 0)) if others else ():
        counts[n] += 1
    counts.update(fixed)
    return [counts[n] for n in range(1, incidents + 1)]


def _incidents(rng: random.Random, incidents: int, big: int, normal: int, now: datetime) -> list[dict]:
    """Incidents 1…n, declared over the last two years, most resolved, one in 200 private."""
    people = _people()
    severities = [s for s, _ in SEVERITIES]
    weights = [w for _, w in SEVERITIES]
    span = timedelta(days=730)
    rows = []
    for number in range(1, incidents + 1):
        declared = now - span + span * (number - 0.5) / incidents + timedelta(minutes=rng.uniform(-20, 20))
        severity = rng.choices(severities, weights)[0]
        title = f"{rng.choice(SERVICES).capitalize()} {rng.choice(SYMPTOMS)}"
        open_ = number > incidents - 200 and rng.random() < 0.15 and number not in (big, normal)
        acked = declared + timedelta(seconds=min(rng.lognormvariate(5.5, 1.0), 6 * 3600))
        if number == big:
            resolved: datetime | None = declared + timedelta(days=3)
        elif open_:
            resolved = None
        else:
            resolved = acked + timedelta(seconds=min(rng.lognormvariate(8.3, 1.1), 3 * 86400))
        commander = rng.choice(people)
        rows.append(
            {
                "id": number,
                "team_id": TEAM,
                "number": number,
                "private": number % 200 == 7 and number not in (big, normal),
                "channel_id": f"CWEB{number:07d}",
                "channel_name": f"incident-{number}-{title.lower().replace(' ', '-')}"[:80],
                "title": title,
                "impact": "Some customers could not complete their purchase.",
                "severity": severity,
                "status": "resolved" if resolved else rng.choice(OPEN_STATUSES),
                "commander_id": commander,
                "scribe_id": rng.choice(people) if rng.random() < 0.5 else None,
                "declared_by": rng.choice(people),
                "declared_at": declared,
                "acknowledged_at": acked if resolved or rng.random() < 0.7 else None,
                "resolved_at": resolved,
                "status_before_resolve": "monitoring" if resolved else None,
                "summary": SUMMARY if resolved else None,
            }
        )
    return rows


def _entries(rng: random.Random, incidents: list[dict], counts: list[int], now: datetime) -> Iterator[dict]:
    """Each incident's timeline: declared first, then notes, pins, updates and pages, resolved last."""
    people = _people()
    kinds = ("note", "pinned", "scribe", "update", "paged", "acknowledged", "note", "pinned")
    entry_id = 0
    for inc, count in zip(incidents, counts, strict=True):
        start, end = inc["declared_at"], inc["resolved_at"] or now
        step = (end - start) / max(count - 1, 1)
        for k in range(count):
            entry_id += 1
            at = start + step * k
            if k == 0:
                kind = "declared"
            elif k == count - 1 and inc["resolved_at"]:
                kind = "resolved"
            else:
                kind = kinds[k % len(kinds)]
            user = rng.choice(people)
            ts = f"{at.timestamp():.6f}"
            pinned = kind in ("pinned", "scribe")
            yield {
                "id": entry_id,
                "incident_id": inc["id"],
                "at": at,
                "kind": kind,
                "author_id": user,
                "text": rng.choice(SAYINGS).format(user=rng.choice(people)),
                "message_ts": ts if pinned else None,
                "permalink": f"https://emulated.slack.com/archives/{inc['channel_id']}/p{ts.replace('.', '')}"
                if pinned
                else None,
                "source_key": f"pin:{inc['channel_id']}:{ts}:{k}" if pinned else None,
            }


def _updates(rng: random.Random, incidents: list[dict], now: datetime) -> Iterator[dict]:
    """Zero to four status updates an incident."""
    for inc in incidents:
        start, end = inc["declared_at"], inc["resolved_at"] or now
        for k in range(rng.randint(0, 4)):
            yield {
                "incident_id": inc["id"],
                "author_id": inc["commander_id"],
                "status": OPEN_STATUSES[min(k, 3)],
                "text": "Mitigation in progress; next update in 30 minutes.",
                "posted_at": start + (end - start) * (k + 1) / 6,
                "message_ts": None,
            }


def _pages(rng: random.Random, incidents: list[dict]) -> tuple[list[dict], list[dict]]:
    """Done page jobs (L1, sometimes L2 and L3) and their deliveries to twelve on-call people."""
    oncall = _people()[2:14]
    jobs, deliveries = [], []
    for inc in incidents:
        levels = 1 + (rng.random() < 0.3) + (rng.random() < 0.1)
        for level in range(levels):
            due = inc["declared_at"] + timedelta(minutes=30 * level)
            jobs.append(
                {
                    "id": len(jobs) + 1,
                    "team_id": TEAM,
                    "incident_id": inc["id"],
                    "kind": "page",
                    "level": level,
                    "due_at": due,
                    "state": "done",
                    "fence": 1,
                    "done_at": due,
                }
            )
            for user in rng.sample(oncall, rng.randint(1, 2)):
                acked = inc["acknowledged_at"] if level == 0 else None
                deliveries.append(
                    {
                        "job_id": len(jobs),
                        "incident_id": inc["id"],
                        "level": level,
                        "user_id": user,
                        "dm_channel": f"D{user}",
                        "dm_ts": f"{due.timestamp():.6f}",
                        "sent_at": due,
                        "acknowledged_at": acked,
                        "acknowledged_by": user if acked else None,
                        "attempts": 1,
                    }
                )
    return jobs, deliveries


async def _insert(conn: AsyncConnection, table: Table, rows: Iterator[dict] | list[dict]) -> int:
    """Insert in chunks of CHUNK (an executemany each); returns the rows inserted."""
    done, chunk = 0, []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            await conn.execute(table.insert(), chunk)
            done, chunk = done + len(chunk), []
    if chunk:
        await conn.execute(table.insert(), chunk)
        done += len(chunk)
    return done


async def fill(db: Database, incidents: int, entries: int) -> Seeded:
    """Fill an empty, migrated database; the same data every run."""
    rng = random.Random(20261130)
    now = datetime.now(UTC)
    big, normal = incidents * 6 // 10 + 1, incidents * 8 // 10 + 1
    started = time.perf_counter()
    rows = _incidents(rng, incidents, big, normal, now)
    counts = _counts(rng, incidents, entries, big, normal)
    jobs, deliveries = _pages(rng, rows)
    tables = {name: cast(Table, model.__table__) for name, model in _MODELS.items()}
    async with db.engine.begin() as conn:
        names = [{"team_id": TEAM, "user_id": u, "name": u[2:].lower()} for u in _people()]
        await conn.execute(tables["people"].insert(), names)
        await _insert(conn, tables["incidents"], rows)
        n_entries = await _insert(conn, tables["timeline_entries"], _entries(rng, rows, counts, now))
        n_updates = await _insert(conn, tables["incident_updates"], _updates(rng, rows, now))
        await _insert(conn, tables["scheduled_jobs"], jobs)
        n_pages = await _insert(conn, tables["page_deliveries"], deliveries)
        if db.engine.dialect.name == "postgresql":  # ids were given: move the sequences past them
            for name in ("incidents", "timeline_entries", "scheduled_jobs"):
                highest = f"(SELECT max(id) FROM {name})"
                await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), {highest})"))
    if db.engine.dialect.name == "postgresql":  # as autovacuum would, soon after such a load
        async with db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE"))
    private = {
        r["channel_id"]: {"U0BOT", "U0ALICE" if r["number"] % 400 == 7 else "U0SCRIBE"}
        for r in rows
        if r["private"]
    }
    return Seeded(
        incidents, n_entries, n_updates, n_pages, big, normal, private, time.perf_counter() - started
    )


_MODELS: dict[str, Any] = {
    "people": Person,
    "incidents": Incident,
    "timeline_entries": TimelineEntry,
    "incident_updates": IncidentUpdate,
    "scheduled_jobs": ScheduledJob,
    "page_deliveries": PageDelivery,
}
