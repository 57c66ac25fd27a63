"""The fenced claim of due rows, for every table of scheduled work (pages and reminders, handoffs).

Such a table has `id`, `state`, `due_at`, `fence` and `lease_until`; `done_at` and `note` when finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Update, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Handoff, ScheduledJob

PENDING, CLAIMED = "pending", "claimed"


def claim_due(
    model: Any, team_id: str, now: datetime, lease_until: datetime, limit: int, returning: Sequence[Any]
) -> Update:
    """Claim one workspace's due rows (and rows whose claimer's lease ran out) in one statement.

    PostgreSQL: the inner SELECT … FOR UPDATE SKIP LOCKED lets concurrent replicas take disjoint
    rows without waiting; the outer UPDATE bumps the fence, so a late finisher of an older claim is
    refused. SQLite ignores FOR UPDATE and runs one process.
    """
    due = (
        select(model.id)
        .where(
            model.team_id == team_id,
            or_(
                (model.state == PENDING) & (model.due_at <= now),
                (model.state == CLAIMED) & (model.lease_until < now),
            ),
        )
        .order_by(model.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (
        update(model)
        .where(model.id.in_(due.scalar_subquery()))
        .values(state=CLAIMED, fence=model.fence + 1, lease_until=lease_until)
        .returning(*returning)
        .execution_options(synchronize_session=False)
    )


def finish(model: Any, row_id: int, fence: int, at: datetime, state: str, note: str | None) -> Update:
    """Close a claimed row; it matches nothing when the fence moved on."""
    return (
        update(model)
        .where(model.id == row_id, model.fence == fence, model.state == CLAIMED)
        .values(state=state, done_at=at, lease_until=None, note=note)
        .execution_options(synchronize_session=False)
    )


def release_all(model: Any) -> Update:  # every workspace's
    """Hand back every claim (SQLite at start-up: one process, so no claim can be alive)."""
    return (
        update(model)
        .where(model.state == CLAIMED)
        .values(state=PENDING, lease_until=None)
        .execution_options(synchronize_session=False)
    )


async def release_everything(session: AsyncSession) -> None:
    """Hand back every claim of pages, reminders and handoffs, in every workspace (SQLite at
    start-up: one process owns the file, so no claim can be alive)."""
    for model in (ScheduledJob, Handoff):
        await session.execute(release_all(model))
