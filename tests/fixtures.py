"""Fixtures for end-to-end tests: a database per backend and the running app (see harness.py)."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.harness import Harness, create_pg_database, drop_pg_database, truncate_all
from tests.receivers import Receiver


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """One throw-away PostgreSQL database for the session (None when PostgreSQL is absent outside CI)."""
    url = asyncio.run(create_pg_database())
    yield url
    if url:
        asyncio.run(drop_pg_database(url))


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path, pg_database: str | None) -> str:
    """Each end-to-end test runs on a fresh SQLite file and on a truncated PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'incident-bot.db'}"
    if pg_database is None:
        pytest.skip("PostgreSQL not reachable at TEST_DATABASE_URL or 127.0.0.1:5432 (required under CI)")
    await truncate_all(pg_database)
    return pg_database


@pytest.fixture
def policy_data() -> dict:
    """Override per test module or test to change the TOML policy."""
    return {}


@pytest.fixture
async def harness(database_url: str, policy_data: dict) -> AsyncIterator[Harness]:
    """The real app over HTTP, wired to a fresh emulator; every Web API call is checked against the spec."""
    h = await Harness(database_url, policy_data).start()
    try:
        yield h
    finally:
        await h.stop()
    from tests.slack_spec import assert_calls_conform

    assert_calls_conform(h.emu.calls)


@pytest.fixture
async def hooks() -> AsyncIterator[Receiver]:
    """A local webhook receiver (answers 200)."""
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.fixture
async def statuspage() -> AsyncIterator[Receiver]:
    """A local stand-in for Statuspage's API: every incident it is asked to create is sp-inc-1."""
    r = await Receiver(answer={"id": "sp-inc-1", "shortlink": "https://stspg.io/abc"}).start()
    yield r
    await r.stop()


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The bot's own log configuration (text, INFO), written to a string."""
    from runtime import logs

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure("text", "INFO")
    stream = io.StringIO()
    root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
