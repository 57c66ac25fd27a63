"""Engine and session factory; turns user-facing database URLs into async-driver URLs."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from config.errors import ConfigError, Unavailable

_PG_ASYNC = {"asyncpg", "psycopg", "psycopg_async"}
# asyncpg waits 60 s for a host that drops packets; a start-up should say so sooner.
CONNECT_TIMEOUT = 10
T = TypeVar("T")
_holding: ContextVar[bool] = ContextVar("holding_a_transaction", default=False)


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


# How long a write waits for the other process's (serve's inbox writes, the worker's work) before
# "database is locked": longer than any write transaction holds the file, no longer than Slack waits.
BUSY_TIMEOUT_MS = 5000


def sqlite_file(url: str) -> str | None:
    """The file of an SQLite DATABASE_URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(async_url(url))
    path = parsed.database if parsed.get_backend_name() == "sqlite" else None
    return path if path and path != ":memory:" and not path.startswith("file:") else None


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    # First: switching a fresh file to WAL needs a lock the other process may hold at that moment.
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: every commit (the inbox's group commits before Slack's 200 included) is on disk before it
    # returns, so a power loss, not only a killed process, loses nothing acknowledged.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Database:
    """One engine and session factory per process, created by the app factory."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = async_url(url)
        kwargs: dict[str, object] = {"echo": echo}
        if self.url.startswith("postgresql"):
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
            if self.url.startswith("postgresql+asyncpg"):
                kwargs.update(connect_args={"timeout": CONNECT_TIMEOUT})
        else:
            # Every transaction ends in COMMIT or ROLLBACK already; the pool's extra rollback on
            # check-in would be one more hop to SQLite's thread per transaction.
            kwargs.update(pool_reset_on_return=None)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer: two transactions of this process that both write would meet in
        # SQLite's busy handler, which sleeps 1–100 ms between tries. Queueing them here instead
        # hands the file over at once. Between processes (serve and its worker share the file) the
        # busy handler decides, within BUSY_TIMEOUT_MS; PostgreSQL locks rows.
        self._turn = asyncio.Lock() if self.is_sqlite else None
        self._sync: Engine | None = None

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded file backend (one web process and one worker at most share it)."""
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on error."""
        async with self._one_at_a_time(), self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session that only reads: on SQLite it does not queue with the writers (in WAL mode readers
        and the writer never wait for each other), so a long series of reads never delays a write."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection in one transaction, for hot paths that need no ORM objects."""
        async with self._one_at_a_time(), self.engine.begin() as conn:
            yield conn

    async def run(self, work: Callable[[Connection], T]) -> T:
        """Run `work` (plain, blocking SQLAlchemy Core code) in one transaction, off the event loop.

        SQLite: as a whole in a thread, one hand-over instead of several per statement (each of
        which waits for a turn of a busy event loop). PostgreSQL: on the async driver.
        """
        if self.is_sqlite:
            async with self._one_at_a_time():
                return await asyncio.to_thread(self._run_in_thread, work)
        async with self.engine.begin() as conn:
            return await conn.run_sync(work)

    def _run_in_thread(self, work: Callable[[Connection], T]) -> T:
        # SQLite only: a plain (blocking) engine on the same file, used from a worker thread.
        if self._sync is None:
            url = make_url(self.url).set(drivername="sqlite+pysqlite")
            self._sync = create_engine(url, pool_size=1, max_overflow=0)
            event.listen(self._sync, "connect", _sqlite_pragmas)
        with self._sync.begin() as conn:
            return work(conn)

    @asynccontextmanager
    async def _one_at_a_time(self) -> AsyncIterator[None]:
        if self._turn is None:
            yield
            return
        if _holding.get():
            raise RuntimeError("a transaction was opened inside another one (SQLite: it would wait forever)")
        async with self._turn:
            token = _holding.set(True)
            try:
                yield
            finally:
                _holding.reset(token)

    async def check(self) -> None:
        """Connect once; a database that cannot be used raises a one-line ConfigError or Unavailable."""
        try:
            if self.is_sqlite:
                _check_sqlite_path(make_url(self.url).database)
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (ConfigError, Unavailable):
            await self.dispose()
            raise
        except Exception as exc:
            await self.dispose()
            raise connect_error(exc, self.url) from exc

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
        if self._sync is not None:
            self._sync.dispose()
            self._sync = None


def _check_sqlite_path(path: str | None) -> None:
    """Name the path problem before SQLite says only "unable to open database file"."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    file, where = Path(path), Path(path).parent
    if file.is_dir():
        raise ConfigError(f"DATABASE_URL: {path} is a directory (name a file in it, e.g. incident-bot.db)")
    if not where.is_dir():
        missing = "does not exist (create it or fix the path)"
        what = "is not a directory (fix the path)" if where.exists() else missing
        raise ConfigError(f"DATABASE_URL: cannot create {path}: {where} {what}")
    # SQLite writes -wal and -shm files (and migrations a lock file) next to the database.
    if not os.access(where, os.W_OK | os.X_OK) or (file.exists() and not os.access(file, os.R_OK | os.W_OK)):
        raise ConfigError(f"DATABASE_URL: cannot write {path} (check the permissions of it and of {where})")


def connect_error(exc: BaseException, url: str) -> ConfigError | Unavailable:
    """A failed connection in one line. ConfigError when a setting must change (no such database,
    login refused, bad path); Unavailable when the server is not there (down, unreachable)."""
    parsed = make_url(url)
    reason = _reason(exc)
    if parsed.get_backend_name() == "sqlite":
        return ConfigError(f"DATABASE_URL: cannot open {parsed.database}: {reason} (check the path)")
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    states = [getattr(e, "sqlstate", None) for e in _chain(exc)]
    if "3D000" in states:
        name = parsed.database
        return ConfigError(f'DATABASE_URL: no database "{name}" on {where} (create it or fix the name)')
    if "28000" in states or "28P01" in states:
        return ConfigError(f"DATABASE_URL: {where} refused the login: {reason} (check the user and password)")
    root = _chain(exc)[-1]
    if isinstance(root, socket.gaierror):
        return Unavailable(f"unknown database host {parsed.host!r}: check the host in DATABASE_URL")
    if isinstance(root, OSError):
        return Unavailable(
            f"cannot reach the database at {where} ({_reason(root)}): check that PostgreSQL runs there "
            "and the host and port in DATABASE_URL"
        )
    return Unavailable(f"the database at {where} failed: {reason}")


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, what SQLAlchemy wrapped (`orig`) and their causes, outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = getattr(current, "orig", None) or current.__cause__
    return seen


def _reason(exc: BaseException) -> str:
    inner = _chain(exc)[-1]
    if isinstance(inner, TimeoutError):
        return "timed out"
    if isinstance(inner, OSError) and inner.errno:
        return os.strerror(inner.errno).lower()
    lines = str(inner).strip().splitlines()
    return lines[0] if lines else type(inner).__name__
