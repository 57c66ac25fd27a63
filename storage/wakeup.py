"""How a worker in another process hears that requests were stored, so it claims them at once.

PostgreSQL: the inbox writer calls pg_notify(INBOX_CHANNEL, order key) in its group commit, so the
notification is sent when, and only if, the rows are committed; the worker LISTENs on a connection of
its own. While that connection is down the worker finds rows by its own poll (InboxWorker's POLL) and
this reconnects with backoff. SQLite: a look at the newest inbox rows every 10 ms (one primary-key
range read, about 3 µs): about as quick as a notification between processes, which would need the
two to know of each other; the waking up costs an idle worker about 2 % of a core.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import make_url

from storage.db import CONNECT_TIMEOUT, Database, sqlite_file
from storage.inbox_writer import INBOX_CHANNEL
from storage.models import InboxItem

log = logging.getLogger(__name__)

# Called with the order keys that have new rows (None: any key may have).
Wake = Callable[[set[str] | None], None]

SQLITE_POLL = 0.01
FIRST_RECONNECT, MAX_RECONNECT = 0.5, 30.0
ALIVE_EVERY = 5.0  # a LISTEN connection cut without a word (a network partition) is noticed this quickly

_t = InboxItem.__table__
_NEWEST_SQL = f"SELECT max(id) FROM {_t.name}"
_SINCE_SQL = f"SELECT order_key, max(id) FROM {_t.name} WHERE id > ? GROUP BY order_key"


class Wakeup:
    """A background task that calls `wake` when other processes store inbox rows."""

    def __init__(self, db: Database, wake: Wake) -> None:
        self.db, self.wake = db, wake
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start listening (or polling) in the background."""
        self._task = asyncio.create_task(self._run(), name="inbox-wakeup")

    async def stop(self) -> None:
        """Stop and close what it holds."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        raise NotImplementedError


def wakeup(db: Database, wake: Wake) -> Wakeup:
    """The wake-up that suits the database: LISTEN on PostgreSQL, the idle poll on SQLite."""
    return SqliteWatch(db, wake) if db.is_sqlite else PgListener(db, wake)


class SqliteWatch(Wakeup):
    """Every SQLITE_POLL, the order keys of rows stored since the last look.

    The look is one primary-key range read on a plain sqlite3 connection of its own, in a thread of
    its own (the event loop never waits on the file): about 3 µs, where going through the engine and
    its driver thread cost an idle worker 10 % of a core at this rate. A WAL reader never waits for a
    writer; a look that meets the file busy anyway is skipped.
    """

    def __init__(self, db: Database, wake: Wake) -> None:
        super().__init__(db, wake)
        self.newest: int | None = None  # the newest row seen (None before the first look)

    async def _run(self) -> None:
        path = sqlite_file(self.db.url)
        if path is None:
            return  # an in-memory database has no other process
        loop, stop = asyncio.get_running_loop(), threading.Event()
        thread = threading.Thread(
            target=self._watch, args=(path, loop, stop), name="inbox-wakeup", daemon=True
        )
        thread.start()
        try:
            await asyncio.Event().wait()  # until cancelled
        finally:
            stop.set()
            await asyncio.to_thread(thread.join)

    def _watch(self, path: str, loop: asyncio.AbstractEventLoop, stop: threading.Event) -> None:
        conn = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
        try:
            while not stop.wait(SQLITE_POLL):
                try:
                    keys = self._look(conn)
                except sqlite3.Error as exc:
                    log.debug("looking for new inbox rows: %s", exc)
                    continue
                if keys:
                    loop.call_soon_threadsafe(self.wake, keys)
        finally:
            conn.close()

    def _look(self, conn: sqlite3.Connection) -> set[str] | None:
        if self.newest is None:
            self.newest = conn.execute(_NEWEST_SQL).fetchone()[0] or 0
            return None
        found = conn.execute(_SINCE_SQL, (self.newest,)).fetchall()
        if not found:
            return None
        self.newest = max(int(last) for _, last in found)
        return {str(key) for key, _ in found}


class PgListener(Wakeup):
    """LISTEN on a connection of its own; reconnects with backoff when it drops."""

    def __init__(self, db: Database, wake: Wake) -> None:
        super().__init__(db, wake)
        self.listening = asyncio.Event()  # set while the LISTEN connection is up

    async def _run(self) -> None:
        delay, down_since_reported = FIRST_RECONNECT, False
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not down_since_reported:
                    log.warning(
                        "the inbox's LISTEN connection is down (%s); new requests are found by polling "
                        "until it is back",
                        describe(exc),
                    )
                    down_since_reported = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RECONNECT)
                continue
            delay, down_since_reported = FIRST_RECONNECT, False

    async def _listen(self) -> None:
        """One connection: LISTEN until it is lost (raises) or cancelled."""
        import asyncpg

        conn = await asyncpg.connect(**_connect_args(self.db.url), timeout=CONNECT_TIMEOUT)
        lost = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(INBOX_CHANNEL, self._notified)
            self.listening.set()
            log.info("listening for new inbox rows")
            self.wake(None)  # rows stored while nobody listened
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(ALIVE_EVERY):
                        await lost.wait()
                if not lost.is_set():
                    await conn.fetchval("SELECT 1", timeout=ALIVE_EVERY)
            raise ConnectionError("the connection was closed")
        finally:
            self.listening.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)

    def _notified(self, _conn: Any, _pid: int, _channel: str, key: str) -> None:
        self.wake({key})


def _connect_args(url: str) -> dict[str, Any]:
    """asyncpg.connect's arguments for the engine's URL (ssl included), as SQLAlchemy gives them."""
    parsed = make_url(url)
    args: dict[str, Any] = parsed.translate_connect_args(username="user")
    args.update(parsed.query)
    for name in ("prepared_statement_cache_size", "prepared_statement_name_func", "async_fallback"):
        args.pop(name, None)
    return args


def describe(exc: BaseException) -> str:
    """The error in a few words."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
