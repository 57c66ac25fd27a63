"""The inbox claim on its own (both backends): one run per order key at a time, in id order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, insert

from storage import migrate
from storage.db import Database
from storage.inbox import DONE, PENDING, InboxRows, NewItem
from storage.inbox_writer import InboxWriter
from storage.models import InboxItem

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
LEASE = NOW + timedelta(seconds=15)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await migrate.upgrade(database)
    yield database
    await database.dispose()


def _new(key: str, order: str = "ch:C1") -> NewItem:
    return NewItem(idem_key=key, order_key=order, op="message", payload="{}", team_id="T0EMU")


async def test_a_key_is_claimed_once_with_the_rows_behind_its_head_in_order(db: Database) -> None:
    await InboxWriter(db).add_many([_new("a"), _new("b"), _new("x", "ch:C2"), _new("c")], NOW)
    runs = await db.run(lambda c: InboxRows(c).claim(NOW, LEASE, keys=16, run=10))
    by_key = {run[0].order_key: [i.id for i in run] for run in runs}
    assert set(by_key) == {"ch:C1", "ch:C2"} and len(by_key["ch:C2"]) == 1
    assert len(by_key["ch:C1"]) == 3 and by_key["ch:C1"] == sorted(by_key["ch:C1"])
    await InboxWriter(db).add_many([_new("d")], NOW)
    again = await db.run(lambda c: InboxRows(c).claim(NOW, LEASE, keys=16, run=10))
    assert again == [], "the key is being carried out: nothing of it is claimable"


async def test_a_row_that_commits_late_below_a_running_head_waits_for_that_run(db: Database) -> None:
    """Concurrent groups on PostgreSQL can commit out of id order; the late row must not start a
    second run of its key while the first one holds it."""
    await InboxWriter(db).add_many([_new("z", "ch:C0")], NOW)  # so that ids of C1 start above 1
    [first] = await db.run(lambda c: InboxRows(c).claim(NOW, LEASE, keys=16, run=10))
    await db.run(lambda c: InboxRows(c).finish(first, DONE, NOW))
    await InboxWriter(db).add_many([_new("b"), _new("c")], NOW)
    [run] = await db.run(lambda c: InboxRows(c).claim(NOW, LEASE, keys=16, run=10))
    late_id = run[0].id - 1  # the id of the finished row of C0, free again after it is deleted

    def late_row(conn) -> None:  # type: ignore[no-untyped-def]
        conn.execute(delete(InboxItem.__table__).where(InboxItem.__table__.c.id == late_id))
        conn.execute(
            insert(InboxItem.__table__),
            {"id": late_id, "idem_key": "a", "order_key": "ch:C1", "op": "message", "payload": "{}",
             "state": PENDING, "attempts": 0, "fence": 0, "next_attempt_at": NOW, "created_at": NOW},
        )  # fmt: skip

    await db.run(late_row)
    assert await db.run(lambda c: InboxRows(c).claim(NOW, LEASE, keys=16, run=10)) == []
    assert await db.run(lambda c: InboxRows(c).finish(run, DONE, NOW)) == len(run)
    [after] = await db.run(lambda c: InboxRows(c).claim(NOW, LEASE, keys=16, run=10))
    assert [i.id for i in after] == [late_id]


async def test_a_stale_claim_cannot_finish_rows_taken_over(db: Database) -> None:
    await InboxWriter(db).add_many([_new("a")], NOW)
    [old] = await db.run(lambda c: InboxRows(c).claim(NOW, LEASE, keys=16, run=10))
    later = LEASE + timedelta(seconds=1)  # the lease ran out: another worker claims again
    [new] = await db.run(lambda c: InboxRows(c).claim(later, later + timedelta(seconds=15), keys=16, run=10))
    assert new[0].fence == old[0].fence + 1
    assert await db.run(lambda c: InboxRows(c).finish(old, DONE, later)) == 0
    assert await db.run(lambda c: InboxRows(c).finish(new, DONE, later)) == 1


async def test_a_redelivery_adds_nothing_unless_the_first_was_given_up(db: Database) -> None:
    writer = InboxWriter(db)
    assert await writer.add_many([_new("a"), _new("a")], NOW) == {"a"}
    assert await writer.add_many([_new("a")], NOW) == set()
    [run] = await db.run(lambda c: InboxRows(c).claim(NOW, LEASE, keys=16, run=10))
    await db.run(lambda c: InboxRows(c).finish(run, "failed", NOW, "given up"))
    assert await writer.add_many([_new("a")], NOW) == {"a"}, "a failed request is taken up again"
    [again] = await db.run(lambda c: InboxRows(c).claim(NOW, LEASE, keys=16, run=10))
    assert [i.id for i in again] == [run[0].id] and again[0].attempts == 0


async def test_rows_behind_a_head_keep_no_first_attempt_until_they_are_tried(db: Database) -> None:
    """Claimed in the head's run but not tried: their give-up clock has not started."""
    await InboxWriter(db).add_many([_new("a"), _new("b")], NOW)
    [[head, behind]] = await db.run(lambda c: InboxRows(c).claim(NOW, LEASE, keys=16, run=10))
    assert head.first_attempt_at is not None and behind.first_attempt_at is None
    later = NOW + timedelta(hours=1)
    assert await db.run(lambda c: InboxRows(c).retry_later(head, later, "503", NOW))
    assert await db.run(lambda c: InboxRows(c).release([behind])) == 1
    [[again, same]] = await db.run(
        lambda c: InboxRows(c).claim(later, later + timedelta(seconds=15), keys=16, run=10)
    )
    assert again.first_attempt_at == NOW and same.first_attempt_at is None
    tried = later + timedelta(minutes=1)  # the head was given up, then this row failed its own try
    assert await db.run(lambda c: InboxRows(c).finish([again], "failed", tried, "given up")) == 1
    assert await db.run(lambda c: InboxRows(c).retry_later(same, tried, "503", tried))
    [[own]] = await db.run(
        lambda c: InboxRows(c).claim(tried, tried + timedelta(seconds=15), keys=16, run=10)
    )
    assert own.id == same.id and own.first_attempt_at == tried and own.attempts == 1
    assert await db.run(lambda c: InboxRows(c).retry_later(own, tried, "503", tried + timedelta(hours=1)))
    [[kept]] = await db.run(
        lambda c: InboxRows(c).claim(tried, tried + timedelta(seconds=15), keys=16, run=10)
    )
    assert kept.first_attempt_at == tried and kept.attempts == 2, "the first attempt is kept"
