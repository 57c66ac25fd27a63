"""The inbox table: acknowledged requests, claimed in order per order key with a fence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.models import InboxItem
from storage.repositories import insert_ignore

PENDING, WORKING, DONE, FAILED = "pending", "working", "done", "failed"
_OPEN = (PENDING, WORKING)
_t = InboxItem.__table__


@dataclass(frozen=True)
class NewItem:
    """A request to keep: its idempotency key, its order key, what to do and with what."""

    idem_key: str
    order_key: str
    op: str
    payload: str


@dataclass(frozen=True)
class Claimed:
    """A claimed inbox row; finishing it needs the same fence."""

    id: int
    fence: int
    order_key: str
    op: str
    payload: str
    attempts: int
    created_at: datetime
    progress: str | None


_RETURNING = (
    InboxItem.id,
    InboxItem.fence,
    InboxItem.order_key,
    InboxItem.op,
    InboxItem.payload,
    InboxItem.attempts,
    InboxItem.created_at,
    InboxItem.progress,
)


class InboxRepo:
    """Queries on the inbox table."""

    def __init__(self, session: AsyncSession | AsyncConnection) -> None:
        self.session = session

    async def add_many(self, items: Sequence[NewItem], now: datetime) -> set[str]:
        """Insert in the given order (ids follow it); returns the idempotency keys that were new."""
        stmt = insert_ignore(self.session, InboxItem).returning(_t.c.idem_key)  # type: ignore[attr-defined]
        rows = [
            {
                "idem_key": i.idem_key,
                "order_key": i.order_key,
                "op": i.op,
                "payload": i.payload,
                "state": PENDING,
                "attempts": 0,
                "fence": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for i in items
        ]
        return set((await self.session.execute(stmt, rows)).scalars())

    async def claim(
        self, now: datetime, lease_until: datetime, *, keys: int, run: int
    ) -> list[list[Claimed]]:
        """Claim the head (oldest unfinished row) of up to `keys` order keys whose head is due, and
        behind each head up to `run - 1` rows of the same key; one list per key, in id order.

        Only a head can be claimed from outside, so while a key's head is working nobody else takes
        any of its rows. PostgreSQL: FOR UPDATE SKIP LOCKED lets replicas take disjoint heads, and a
        head finished meanwhile fails the re-checked state condition; the fence refuses stale finishers.
        """
        heads = select(func.min(InboxItem.id)).where(InboxItem.state.in_(_OPEN)).group_by(InboxItem.order_key)
        due = (
            select(InboxItem.id)
            .where(
                InboxItem.id.in_(heads.scalar_subquery()),
                or_(
                    (InboxItem.state == PENDING) & (InboxItem.next_attempt_at <= now),
                    (InboxItem.state == WORKING) & (InboxItem.lease_until < now),
                ),
            )
            .order_by(InboxItem.id)
            .limit(keys)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(InboxItem)
            .where(InboxItem.id.in_(due.scalar_subquery()))
            .values(state=WORKING, fence=InboxItem.fence + 1, lease_until=lease_until)
            .returning(*_RETURNING)
            .execution_options(synchronize_session=False)
        )
        claimed = sorted((Claimed(*r) for r in (await self.session.execute(stmt)).all()), key=lambda c: c.id)
        runs = []
        for head in claimed:
            rest: list[Claimed] = []
            if run > 1:
                behind = (
                    select(InboxItem.id)
                    .where(
                        InboxItem.order_key == head.order_key,
                        InboxItem.id > head.id,
                        InboxItem.state.in_(_OPEN),
                    )
                    .order_by(InboxItem.id)
                    .limit(run - 1)
                )
                extend = (
                    update(InboxItem)
                    .where(InboxItem.id.in_(behind.scalar_subquery()))
                    .values(state=WORKING, fence=InboxItem.fence + 1, lease_until=lease_until)
                    .returning(*_RETURNING)
                    .execution_options(synchronize_session=False)
                )
                rest = sorted(
                    (Claimed(*r) for r in (await self.session.execute(extend)).all()), key=lambda c: c.id
                )
            runs.append([head, *rest])
        return runs

    async def save_progress(self, item: Claimed, progress: str, lease_until: datetime) -> bool:
        """Store the step journal and extend the lease; False when the claim is no longer ours."""
        return bool(await self._update_held([item], progress=progress, lease_until=lease_until))

    async def _update_held(self, items: Sequence[Claimed], **values: Any) -> int:
        """UPDATE the rows of `items` this claim still holds (state working, same fence)."""
        if not items:
            return 0
        stmt = (
            update(InboxItem)
            .where(
                tuple_(InboxItem.id, InboxItem.fence).in_([(i.id, i.fence) for i in items]),
                InboxItem.state == WORKING,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(stmt)).rowcount or 0

    async def finish(
        self, items: Sequence[Claimed], state: str, now: datetime, error: str | None = None
    ) -> int:
        """Mark claimed rows done or failed (a row whose fence moved on is left alone)."""
        values: dict[str, Any] = {"state": state, "done_at": now, "lease_until": None}
        if state == DONE:
            values["progress"] = None
        if error is not None:
            values["last_error"] = error[:500]
        return await self._update_held(items, **values)

    async def retry_later(self, item: Claimed, at: datetime, error: str) -> bool:
        """Back to pending until `at`, one more attempt counted."""
        return bool(
            await self._update_held(
                [item],
                state=PENDING,
                next_attempt_at=at,
                lease_until=None,
                attempts=item.attempts + 1,
                last_error=error[:500],
            )
        )

    async def release(self, items: Sequence[Claimed]) -> int:
        """Hand claimed rows back untouched (shutdown, or behind a head that must wait)."""
        return await self._update_held(items, state=PENDING, lease_until=None)

    async def extend(self, items: Sequence[Claimed], lease_until: datetime) -> int:
        """Renew the lease of rows still held (a heartbeat while a run is carried out)."""
        return await self._update_held(items, lease_until=lease_until)

    async def release_all(self) -> int:
        """Hand back every claim (SQLite at start-up: one process, so no claim can be alive)."""
        stmt = (
            update(InboxItem)
            .where(InboxItem.state == WORKING)
            .values(state=PENDING, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(stmt)).rowcount or 0

    async def prune(self, done_before: datetime, failed_before: datetime) -> int:
        """Forget finished rows: done ones after a day, failed ones after a week."""
        stmt = delete(InboxItem).where(
            or_(
                (InboxItem.state == DONE) & (InboxItem.done_at < done_before),
                (InboxItem.state == FAILED) & (InboxItem.done_at < failed_before),
            )
        )
        return (await self.session.execute(stmt)).rowcount or 0

    async def summary(self) -> list[tuple[str, int]]:
        """(state, count)."""
        stmt = select(InboxItem.state, func.count()).group_by(InboxItem.state).order_by(InboxItem.state)
        return [(s, int(n)) for s, n in (await self.session.execute(stmt)).all()]

    async def oldest_open(self) -> datetime | None:
        """When the oldest unfinished row arrived."""
        stmt = select(func.min(InboxItem.created_at)).where(InboxItem.state.in_(_OPEN))
        return (await self.session.execute(stmt)).scalar()

    async def failed(self, limit: int = 50) -> list[InboxItem]:
        """Rows given up on, newest first."""
        stmt = select(InboxItem).where(InboxItem.state == FAILED).order_by(InboxItem.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())
