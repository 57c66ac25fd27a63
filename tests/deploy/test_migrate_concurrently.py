"""`incident-bot db upgrade` run three times at once on a fresh PostgreSQL database, as a migrate Job and
replicas starting together do: PostgreSQL's advisory lock makes them take turns."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from storage import migrate
from tests.deploy.manifests import ROOT
from tests.harness import create_pg_database, drop_pg_database

GUARD = 120.0  # only against a hang


async def _upgrade(url: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOG_", "INCIDENT_BOT_"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "db", "upgrade",
        cwd=ROOT, env={**env, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), GUARD)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_three_concurrent_upgrades_of_a_fresh_database_all_succeed_once() -> None:
    url = await create_pg_database()
    if url is None:
        pytest.skip("PostgreSQL not reachable at TEST_DATABASE_URL or 127.0.0.1:5432 (required under CI)")
    head = migrate.head_revision()
    engine = create_async_engine(url)
    try:
        runs = await asyncio.gather(*(_upgrade(url) for _ in range(3)))
        for code, out, err in runs:
            assert code == 0, err
            assert out.strip() == f"database at revision {head}"
        async with engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert versions == [head]
        assert {"incidents", "inbox", "scheduled_jobs", "runbook_checks"} <= tables
    finally:
        await engine.dispose()
        await drop_pg_database(url)
