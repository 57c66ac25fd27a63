"""Engine and session factory; turns user-facing database URLs into async-driver URLs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from config.errors import ConfigError

_PG_ASYNC = {"asyncpg", "psycopg", "psycopg_async"}


def async_url(url: str) -> str:
    """Map `sqlite:///x.db` and `postgresql://…` to their async drivers (aiosqlite, asyncpg)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "DATABASE_URL: not a database URL (expected sqlite:///path or postgresql://…)"
        ) from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "postgres":
        backend = "postgresql"
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend == "postgresql":
        if driver not in _PG_ASYNC:
            driver = "asyncpg"
        parsed = parsed.set(drivername=f"postgresql+{driver}")
        if driver == "asyncpg" and "sslmode" in parsed.query:
            # asyncpg spells libpq's sslmode as ssl.
            query = dict(parsed.query)
            query["ssl"] = query.pop("sslmode")
            parsed = parsed.set(query=query)
    else:
        raise ConfigError(f"DATABASE_URL: unsupported database {backend!r} (use sqlite or postgresql)")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    # WAL + NORMAL: a crash of the process loses nothing; only a power loss may lose the last commits.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


class Database:
    """One engine and session factory per process, created by the app factory."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = async_url(url)
        kwargs: dict[str, object] = {"echo": echo}
        if self.url.startswith("postgresql"):
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded single-process backend."""
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection in one transaction, for hot paths that need no ORM objects."""
        async with self.engine.begin() as conn:
            yield conn

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
