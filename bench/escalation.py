"""Escalation at scale: 10,000 open incidents with planned pages; tick time, query plan, memory.

python bench/escalation.py [--incidents 10000] [--due 100] [--backends sqlite,postgresql]

For each backend: fills a fresh database (every incident has L1 paged and L2–L4 plus a reminder
pending; `--due` of them have L2 due now), then
  - times the claim query alone in-process (median of 20, nothing due / `--due` rows due),
  - runs `incident-bot serve` on it for 10 s and reads its own tick histogram from /metrics and its
    resident memory,
  - prints PostgreSQL's EXPLAIN ANALYZE of the claim.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from _support import bot_server, drop_pg, machine, pg_database, workspace
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text, update

from storage import migrate
from storage.db import Database
from storage.models import Incident, ScheduledJob
from storage.schedule import CLAIMED, PENDING, ScheduleRepo

LEVELS = """
[[escalation.levels]]
name = "L1"
users = ["U0ALICE"]
after = "0s"
[[escalation.levels]]
name = "L2"
users = ["U0SCRIBE"]
after = "30m"
[[escalation.levels]]
name = "L3"
users = ["U0SCRIBE"]
after = "1h"
[[escalation.levels]]
name = "L4"
users = ["U0SCRIBE"]
after = "2h"
"""


async def fill(db: Database, incidents: int, due: int) -> None:
    """Open SEV1 incidents declared 0–29 minutes ago (`due` of them 30 minutes ago: L2 due now)."""
    now = datetime.now(UTC)
    async with db.engine.begin() as conn:
        rows = []
        for i in range(incidents):
            declared = now - (timedelta(minutes=30, seconds=1) if i < due else timedelta(seconds=i % 1740))
            rows.append(
                {
                    "channel_id": f"CBENCH{i:07d}",
                    "channel_name": f"incident-bench-{i}",
                    "title": f"Bench incident {i}",
                    "severity": "SEV1",
                    "status": "investigating",
                    "commander_id": "U0ALICE",
                    "declared_by": "U0ALICE",
                    "declared_at": declared,
                    "next_update_due": declared + timedelta(minutes=15),
                }
            )
        await conn.execute(Incident.__table__.insert(), rows)
        ids = (await conn.execute(text("SELECT id, declared_at FROM incidents ORDER BY id"))).all()
        jobs = []
        for incident_id, declared in ids:
            declared = declared if isinstance(declared, datetime) else datetime.fromisoformat(str(declared))
            declared = declared.replace(tzinfo=UTC) if declared.tzinfo is None else declared
            jobs.append(_job(incident_id, "page", 0, declared, "done"))
            for level, after in ((1, 30), (2, 60), (3, 120)):
                jobs.append(_job(incident_id, "page", level, declared + timedelta(minutes=after), PENDING))
            jobs.append(_job(incident_id, "reminder", None, now + timedelta(minutes=15), PENDING))
        await conn.execute(ScheduledJob.__table__.insert(), jobs)
        if db.engine.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE"))


def _job(incident_id: int, kind: str, level: int | None, due: datetime, state: str) -> dict:
    return {
        "incident_id": incident_id,
        "kind": kind,
        "level": level,
        "due_at": due,
        "state": state,
        "fence": 0,
    }


async def time_claims(db: Database, repeats: int = 20) -> float:
    """Median seconds for one claim transaction (claimed rows are put back between repeats)."""
    samples = []
    for _ in range(repeats):
        now = datetime.now(UTC)
        started = time.perf_counter()
        async with db.session() as s:
            claims = await ScheduleRepo(s, "").claim_due(now, now + timedelta(seconds=60))
        samples.append(time.perf_counter() - started)
        if claims:
            async with db.session() as s:
                await s.execute(
                    update(ScheduledJob)
                    .where(ScheduledJob.state == CLAIMED)
                    .values(state=PENDING, lease_until=None)
                )
    return statistics.median(samples)


async def explain(db: Database) -> str:
    """PostgreSQL's plan for the claim statement."""
    async with db.engine.connect() as conn:
        now = datetime.now(UTC)
        stmt = (
            "EXPLAIN ANALYZE UPDATE scheduled_jobs SET state='claimed', fence=fence+1, lease_until=:lease "
            "WHERE id IN (SELECT id FROM scheduled_jobs WHERE (state='pending' AND due_at <= :now) "
            "OR (state='claimed' AND lease_until < :now) ORDER BY due_at LIMIT 100 FOR UPDATE SKIP LOCKED) "
            "RETURNING id"
        )
        rows = await conn.execute(text(stmt), {"now": now, "lease": now + timedelta(seconds=60)})
        plan = "\n".join(f"    {r[0]}" for r in rows)
        await conn.rollback()
    return plan


async def serve_and_measure(url: str, seconds: float) -> tuple[float, dict[str, float], float, int]:
    """Run the bot on the filled database: its tick count and shares under 5/10/50 ms, RSS, pages sent."""
    emu = await workspace()
    with tempfile.TemporaryDirectory() as tmp:
        bot = await bot_server(emu, Path(tmp), url, LEVELS).start()
        try:
            await asyncio.sleep(seconds)
            async with (
                aiohttp.ClientSession() as session,
                session.get(bot.url.replace("/slack/events", "/metrics")) as r,
            ):
                body = await r.text()
            rss = bot.rss_mb()
        finally:
            await bot.stop()
            await emu.stop()
    samples = {
        (s.name, s.labels.get("le")): s.value
        for fam in text_string_to_metric_families(body)
        for s in fam.samples
        if s.name.startswith("incident_bot_tick_seconds") or s.name == "incident_bot_pages_sent_total"
    }
    count = samples[("incident_bot_tick_seconds_count", None)]
    shares = {
        le: samples[("incident_bot_tick_seconds_bucket", le)] / count for le in ("0.005", "0.01", "0.05")
    }
    pages = int(sum(v for (name, _), v in samples.items() if name == "incident_bot_pages_sent_total"))
    return count, shares, rss, pages


async def run(backend: str, incidents: int, due: int) -> None:
    tmp = tempfile.TemporaryDirectory()
    url = f"sqlite:///{tmp.name}/bench.db" if backend == "sqlite" else await pg_database()
    db = Database(url)
    try:
        await migrate.upgrade(db)
        started = time.perf_counter()
        await fill(db, incidents, due=0)
        filled = time.perf_counter() - started
        idle = await time_claims(db)
        async with db.engine.begin() as conn:  # make `due` incidents' L2 due now
            await conn.execute(
                text("UPDATE scheduled_jobs SET due_at = :now WHERE level = 1 AND incident_id <= :n"),
                {"now": datetime.now(UTC) - timedelta(seconds=1), "n": due},
            )
        busy = await time_claims(db)
        plan = await explain(db) if backend == "postgresql" else None
        await db.dispose()
        ticks, shares, rss, pages = await serve_and_measure(url, 10)
        print(
            f"{backend}: {incidents} open incidents, {incidents * 5} planned jobs (filled in {filled:.1f}s)"
        )
        print(f"  claim, nothing due:      {idle * 1000:6.2f} ms (median of 20)")
        print(f"  claim, {due} due:         {busy * 1000:6.2f} ms (median of 20)")
        fast = ", ".join(f"{share:.0%} under {float(le) * 1000:.0f} ms" for le, share in shares.items())
        print(f"  serve for 10 s:          {ticks:.0f} ticks: {fast}")
        print(f"                           (the first sends the {pages} due pages); RSS {rss:.0f} MB")
        if plan:
            print("  EXPLAIN ANALYZE of the claim (100 due):")
            print(plan)
    finally:
        await db.dispose()
        if backend == "postgresql":
            await drop_pg(url)
        tmp.cleanup()


async def main(incidents: int, due: int, backends: list[str]) -> None:
    print(f"escalation at scale on {machine()}")
    for backend in backends:
        await run(backend, incidents, due)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main(args.incidents, args.due, args.backends.split(",")))
