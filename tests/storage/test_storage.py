"""Migrations and the UTC column type, on both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import inspect

from slack_emulator.models import TEAM_ID
from storage import migrate
from storage.db import Database
from storage.models import Incident
from storage.repositories import IncidentRepo
from tests.harness import create_pg_database, drop_pg_database


async def test_concurrent_replicas_migrate_once(database_url: str) -> None:
    if database_url.startswith("postgresql"):
        # A database no test has migrated yet, so the replicas really race.
        url = await create_pg_database()
        assert url is not None
    else:
        url = database_url
    dbs = [Database(url) for _ in range(4)]
    try:
        await asyncio.gather(*(migrate.upgrade(db) for db in dbs))
        assert await migrate.current_revision(dbs[0]) == migrate.head_revision()
        async with dbs[0].engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {"incidents", "incident_updates", "timeline_entries", "alembic_version"} <= tables
    finally:
        for db in dbs:
            await db.dispose()
        if url != database_url:
            await drop_pg_database(url)


async def test_timestamps_round_trip_as_aware_utc(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate.upgrade(db)
        declared = datetime(2026, 11, 22, 4, 0, tzinfo=timezone(timedelta(hours=1)))
        async with db.session() as s:
            inc = await IncidentRepo(s, TEAM_ID).add(
                Incident(title="t", severity="SEV2", status="investigating", declared_at=declared)
            )
        async with db.session() as s:
            row = await IncidentRepo(s, TEAM_ID).get(inc.id)
        assert row is not None
        assert row.declared_at == datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
        assert row.declared_at.tzinfo is not None
    finally:
        await db.dispose()


async def test_migrations_build_exactly_the_models(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.models import Base

    db = Database(database_url)
    try:
        await migrate.upgrade(db)
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
    finally:
        await db.dispose()
    assert diff == []
