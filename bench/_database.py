"""What bench/targets.py reads from the bot's database: scribe timeline entries, the inbox's times,
and, on PostgreSQL, what the bot's sessions are waiting for."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import InboxItem

SCRIBE = "U0SCRIBE"

COUNT = text("SELECT count(*) FROM timeline_entries WHERE kind = 'scribe'")
_OPEN = text("SELECT count(*) FROM inbox WHERE state IN ('pending', 'working')")
_TRANSCRIPT = text(f"SELECT ts FROM transcript_messages WHERE user_id = '{SCRIBE}'")
_TIMELINE = text("SELECT message_ts FROM timeline_entries WHERE kind = 'scribe'")


async def scalar(engine: AsyncEngine, stmt: object) -> int:
    """One number."""
    async with engine.connect() as conn:
        return int((await conn.execute(stmt)).scalar_one())  # type: ignore[call-overload]


async def drained(engine: AsyncEngine, want: int, timeout: float = 600) -> float:
    """Seconds until `want` scribe entries are on the timeline (or nothing is left to carry out)."""
    started = time.perf_counter()
    while await scalar(engine, COUNT) < want and await scalar(engine, _OPEN):
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"timeline short of {want} entries after {timeout:.0f} s")
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def effects(engine: AsyncEngine, prefix: str) -> list[float]:
    """done_at - created_at of the done message rows whose event id starts with `prefix`."""
    stmt = select(InboxItem.created_at, InboxItem.done_at).where(
        InboxItem.op == "message", InboxItem.state == "done", InboxItem.idem_key.like(f"ev:{prefix}%")
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(stmt)).all()  # through the model: SQLite keeps times as text
    return [(done - created).total_seconds() for created, done in rows]


async def lost_doubled(engine: AsyncEngine, expected: set[str]) -> tuple[int, int]:
    """Events not both in the transcript and on the timeline; rows beyond one per message in either."""
    async with engine.connect() as conn:
        transcript = list((await conn.execute(_TRANSCRIPT)).scalars())
        timeline = list((await conn.execute(_TIMELINE)).scalars())
    lost = len(expected - (set(transcript) & set(timeline)))
    return lost, len(transcript) - len(set(transcript)) + len(timeline) - len(set(timeline))


def slowest_window(samples: list[tuple[float, int, int]], width: float = 10.0) -> tuple[float, float]:
    """The lowest rate of acks and of effects over any `width` seconds of (time, acks, effects) samples."""
    low = [float("inf"), float("inf")]
    for i, (t0, a0, e0) in enumerate(samples):
        for t1, a1, e1 in samples[i + 1 :]:
            if t1 - t0 >= width:
                low = [min(low[0], (a1 - a0) / (t1 - t0)), min(low[1], (e1 - e0) / (t1 - t0))]
                break
    return (low[0], low[1]) if low[0] != float("inf") else (float("nan"), float("nan"))


_WAITS = text(
    "SELECT coalesce(wait_event_type || ':' || wait_event, 'on CPU'), state FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
)


class PgWaits:
    """Samples, 20 times a second, what the bot's PostgreSQL sessions are doing (pg_stat_activity)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.seen: Counter[str] = Counter()
        self.task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        async with self.engine.connect() as conn:
            while True:
                for wait, state in (await conn.execute(_WAITS)).all():
                    self.seen["idle (waiting for the bot)" if state == "idle" else f"{state}, {wait}"] += 1
                await conn.rollback()  # a fresh snapshot of pg_stat_activity each time
                await asyncio.sleep(0.05)

    async def __aenter__(self) -> PgWaits:
        self.task = asyncio.ensure_future(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.task is not None:
            self.task.cancel()

    def summary(self, top: int = 6) -> str:
        """The commonest states, as shares of all session samples."""
        total = sum(self.seen.values()) or 1
        return "; ".join(f"{name} {100 * n / total:.0f}%" for name, n in self.seen.most_common(top))
