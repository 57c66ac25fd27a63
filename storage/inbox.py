"""The inbox table: acknowledged requests, claimed in order per order key with a fence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.models import InboxItem

PENDING, WORKING, DONE, FAILED = "pending", "working", "done", "failed"
# Workers in other processes LISTEN here (storage/wakeup.py) for the order keys of committed rows.
INBOX_CHANNEL = "incident_bot_inbox"
_OPEN = (PENDING, WORKING)
# Spelled as literals, not bound parameters: only then can the planner (PostgreSQL's generic plan
# of a prepared statement, SQLite's) prove that the partial index of unfinished rows applies.
_IS_OPEN = literal_column("inbox.state IN ('pending', 'working')")
_t = InboxItem.__table__


@dataclass(frozen=True)
class NewItem:
    """A request to keep: its idempotency key, its order key, what to do and with what."""

    idem_key: str
    order_key: str
    op: str
    payload: str
    team_id: str
    enterprise_id: str | None = None


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
    first_attempt_at: datetime | None  # None for a row never tried yet (behind its run's head)
    team_id: str
    enterprise_id: str | None


_c = _t.c
_RETURNING = (
    _c.id,
    _c.fence,
    _c.order_key,
    _c.op,
    _c.payload,
    _c.attempts,
    _c.created_at,
    _c.progress,
    _c.first_attempt_at,
    _c.team_id,
    _c.enterprise_id,
)
_TAKE_BEHIND = {"state": WORKING, "fence": _c.fence + 1, "lease_until": bindparam("lease")}
# A head is tried as soon as it is claimed. The rows behind it are not: they may wait out the
# head's whole retry budget, so their own first attempt is stamped when one of them fails.
_TAKE = {**_TAKE_BEHIND, "first_attempt_at": func.coalesce(_c.first_attempt_at, bindparam("now"))}
_held_by_someone = _t.alias("held_by_someone")

# Built once with bound parameters (the worker claims and finishes many times a second).
# The oldest unfinished row of each order key: only these heads can be claimed from outside.
_HEADS = select(func.min(_c.id)).where(_IS_OPEN).group_by(_c.order_key).scalar_subquery()
_DUE_HEADS = (
    select(_c.id)
    .where(
        _c.id.in_(_HEADS),
        # A row can commit after rows of its key with higher ids were claimed (concurrent groups on
        # PostgreSQL): it is then the head, but the key is still being carried out: wait for that.
        ~exists().where(
            _held_by_someone.c.order_key == _c.order_key,
            literal_column("held_by_someone.state IN ('pending', 'working')"),
            _held_by_someone.c.state == literal_column("'working'"),
            _held_by_someone.c.lease_until >= bindparam("now"),
        ),
        or_(
            (_c.state == PENDING) & (_c.next_attempt_at <= bindparam("now")),
            (_c.state == WORKING) & (_c.lease_until < bindparam("now")),
        ),
    )
    .order_by(_c.id)
    .limit(bindparam("keys"))
    .with_for_update(skip_locked=True)
)
_CLAIM = update(_t).where(_c.id.in_(_DUE_HEADS.scalar_subquery())).values(**_TAKE).returning(*_RETURNING)
_BEHIND = (
    select(_c.id)
    .where(_c.order_key == bindparam("key"), _c.id > bindparam("head"), _IS_OPEN)
    .order_by(_c.id)
    .limit(bindparam("more"))
)
_EXTEND_RUN = (
    update(_t).where(_c.id.in_(_BEHIND.scalar_subquery())).values(**_TAKE_BEHIND).returning(*_RETURNING)
)
# Rows this claim still holds: working, with the fence the claim returned.
_HELD = tuple_(_c.id, _c.fence).in_(bindparam("held", expanding=True)) & (_c.state == WORKING)
_ONE_HELD = (_c.id == bindparam("item")) & (_c.fence == bindparam("item_fence")) & (_c.state == WORKING)
_DONE = update(_t).where(_HELD).values(state=DONE, done_at=bindparam("at"), lease_until=None, progress=None)
_FAILED = (
    update(_t)
    .where(_HELD)
    .values(state=FAILED, done_at=bindparam("at"), lease_until=None, last_error=bindparam("error"))
)
_RELEASE = update(_t).where(_HELD).values(state=PENDING, lease_until=None)
_RENEW = update(_t).where(_HELD).values(lease_until=bindparam("lease"))
_PROGRESS = update(_t).where(_ONE_HELD).values(progress=bindparam("journal"), lease_until=bindparam("lease"))
_RETRY = (
    update(_t)
    .where(_ONE_HELD)
    .values(
        state=PENDING,
        next_attempt_at=bindparam("at"),
        lease_until=None,
        attempts=bindparam("tries"),
        last_error=bindparam("error"),
        first_attempt_at=func.coalesce(_c.first_attempt_at, bindparam("first")),
    )
)


def _held(items: Sequence[Claimed]) -> list[tuple[int, int]]:
    return [(i.id, i.fence) for i in items]


class InboxRows:
    """What a worker does with the rows it claims, as plain Core code on one connection (run it
    with Database.run, or Session.run_sync inside a use case's transaction)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def claim(self, now: datetime, lease_until: datetime, *, keys: int, run: int) -> list[list[Claimed]]:
        """Claim the head (oldest unfinished row) of up to `keys` order keys whose head is due, and
        behind each head up to `run - 1` rows of the same key; one list per key, in id order.

        Only a head can be claimed from outside, so while a key's head is working nobody else takes
        any of its rows. PostgreSQL: FOR UPDATE SKIP LOCKED lets replicas take disjoint heads, and a
        head finished meanwhile fails the re-checked state condition; the fence refuses stale finishers.
        """
        params = {"now": now, "lease": lease_until, "keys": keys}
        heads = sorted((Claimed(*r) for r in self.conn.execute(_CLAIM, params)), key=lambda c: c.id)
        runs = []
        for head in heads:
            rest: list[Claimed] = []
            if run > 1:
                more = {"key": head.order_key, "head": head.id, "more": run - 1, "lease": lease_until}
                rest = sorted((Claimed(*r) for r in self.conn.execute(_EXTEND_RUN, more)), key=lambda c: c.id)
            runs.append([head, *rest])
        return runs

    def save_progress(self, item: Claimed, progress: str, lease_until: datetime) -> bool:
        """Store the step journal and extend the lease; False when the claim is no longer ours."""
        params = {"item": item.id, "item_fence": item.fence, "journal": progress, "lease": lease_until}
        return bool(self.conn.execute(_PROGRESS, params).rowcount)

    def finish(self, items: Sequence[Claimed], state: str, now: datetime, error: str | None = None) -> int:
        """Mark claimed rows done or failed (a row whose fence moved on is left alone); returns how
        many were still held."""
        if not items:
            return 0
        if state == DONE:
            return self.conn.execute(_DONE, {"held": _held(items), "at": now}).rowcount or 0
        params = {"held": _held(items), "at": now, "error": (error or "")[:500]}
        return self.conn.execute(_FAILED, params).rowcount or 0

    def retry_later(self, item: Claimed, at: datetime, error: str, first_attempt: datetime) -> bool:
        """Back to pending until `at`, one more attempt counted; `first_attempt` (when this attempt
        started) becomes the row's first attempt unless it had one."""
        params = {
            "item": item.id,
            "item_fence": item.fence,
            "at": at,
            "tries": item.attempts + 1,
            "error": error[:500],
            "first": first_attempt,
        }
        return bool(self.conn.execute(_RETRY, params).rowcount)

    def release(self, items: Sequence[Claimed]) -> int:
        """Hand claimed rows back untouched (shutdown, or behind a head that must wait)."""
        if not items:
            return 0
        return self.conn.execute(_RELEASE, {"held": _held(items)}).rowcount or 0

    def extend(self, items: Sequence[Claimed], lease_until: datetime) -> int:
        """Renew the lease of rows still held (a heartbeat while a run is carried out)."""
        if not items:
            return 0
        return self.conn.execute(_RENEW, {"held": _held(items), "lease": lease_until}).rowcount or 0


class InboxRepo:
    """Queries on the inbox table as a whole: start-up, pruning, what `inbox status` shows."""

    def __init__(self, session: AsyncSession | AsyncConnection) -> None:
        self.session = session

    async def add(self, item: NewItem, now: datetime) -> bool:
        """Keep a request in the caller's transaction, so it exists exactly when the change that asks
        for it commits (a workflow an incident event sets off); False when its idempotency key is kept
        already. On PostgreSQL the workers in other processes are notified at that commit."""
        assert isinstance(self.session, AsyncSession), "a request is kept with the change's session"
        postgres = self.session.get_bind().dialect.name == "postgresql"
        insert = postgresql.insert(_t) if postgres else sqlite.insert(_t)
        row = {
            "idem_key": item.idem_key,
            "order_key": item.order_key,
            "op": item.op,
            "payload": item.payload,
            "team_id": item.team_id,
            "enterprise_id": item.enterprise_id,
            "state": PENDING,
            "attempts": 0,
            "fence": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        stmt = insert.values(row).on_conflict_do_nothing(index_elements=[_t.c.idem_key]).returning(_t.c.id)
        new = (await self.session.execute(stmt)).first() is not None
        if new and postgres:
            await self.session.execute(select(func.pg_notify(INBOX_CHANNEL, item.order_key)))
        return new

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

    async def stuck(
        self, acknowledged_before: datetime, now: datetime, limit: int = 50
    ) -> tuple[list[InboxItem], int]:
        """Unfinished rows acknowledged before `acknowledged_before`, or working on a lease that ran
        out (their worker is gone), oldest first; and how many there are in all."""
        late = InboxItem.state.in_(_OPEN) & or_(
            InboxItem.created_at < acknowledged_before,
            (InboxItem.state == WORKING) & (InboxItem.lease_until < now),
        )
        rows = await self.session.execute(select(InboxItem).where(late).order_by(InboxItem.id).limit(limit))
        total = (await self.session.execute(select(func.count()).where(late))).scalar()
        return list(rows.scalars()), int(total or 0)

    async def failed(self, limit: int = 50) -> list[InboxItem]:
        """Rows given up on, newest first."""
        stmt = select(InboxItem).where(InboxItem.state == FAILED).order_by(InboxItem.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())
