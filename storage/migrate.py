"""Apply Alembic migrations over an async engine, safely from several replicas at once."""

from __future__ import annotations

import asyncio
import fcntl
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

from storage.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works; it only has to be the same in every replica.
_PG_MIGRATION_LOCK = 0x1BC1DE47


def _alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    """The newest migration shipped with this code."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


async def upgrade(db: Database) -> None:
    """Bring the schema to head, one migrator at a time.

    PostgreSQL: a transaction-level advisory lock serialises replicas. SQLite: an exclusive lock on
    `<file>.migrate-lock` serialises processes (and engines), since SQLite's own locks can deadlock
    while a fresh file switches to WAL; BEGIN IMMEDIATE then takes the write lock up front.
    """
    lock_path = _sqlite_lock_path(db)
    if lock_path is None:
        await _upgrade(db)
        return
    fd = await asyncio.to_thread(_lock, lock_path)
    try:
        await _upgrade(db)
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _sqlite_lock_path(db: Database) -> str | None:
    url = make_url(db.url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return url.database + ".migrate-lock"


def _lock(path: str) -> int:
    """Open and exclusively lock `path` (blocking; run it in a thread)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


async def _upgrade(db: Database) -> None:
    async with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        elif conn.dialect.name == "sqlite":
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "head"))
        await conn.commit()


async def current_revision(db: Database) -> str | None:
    """The revision the database is at (None when never migrated)."""
    async with db.engine.connect() as conn:
        return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
