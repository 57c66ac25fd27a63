"""Runbook copies fetched from URLs, and the diagnosis steps ticked on runbook cards."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RunbookCheck, RunbookCopy


def _key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


class RunbookCopyRepo:
    """The last good copy of each runbook given by URL (shared by every workspace: it is the same text)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, url: str) -> RunbookCopy | None:
        """The copy of `url`, if one was ever fetched."""
        return await self.session.get(RunbookCopy, _key(url))

    async def save(self, url: str, body: str, at: datetime) -> None:
        """Keep a good copy; replicas starting together may both save, the later one wins."""
        dialect = postgresql if self.session.bind.dialect.name == "postgresql" else sqlite
        values = {"key": _key(url), "url": url, "body": body, "fetched_at": at}
        stmt = dialect.insert(RunbookCopy).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[RunbookCopy.key], set_={"body": body, "fetched_at": at}
        )
        await self.session.execute(stmt)


class RunbookCheckRepo:
    """The steps of one incident's runbook cards and who ticked them."""

    def __init__(self, session: AsyncSession, incident_id: int) -> None:
        self.session, self.incident_id = session, incident_id

    async def of_card(self, card_ts: str) -> dict[str, RunbookCheck]:
        """The ticked (and once ticked) steps of a card, by step key."""
        rows = await self.session.scalars(
            select(RunbookCheck).where(
                RunbookCheck.incident_id == self.incident_id, RunbookCheck.card_ts == card_ts
            )
        )
        return {r.step: r for r in rows}

    async def set(self, card_ts: str, step: str, title: str, by: str | None, at: datetime | None) -> bool:
        """Tick (`by` given) or untick a step; False when it already was so (a retried click)."""
        row = await self.session.get(RunbookCheck, (self.incident_id, card_ts, step), with_for_update=True)
        if row is None:
            if by is None:
                return False
            self.session.add(
                RunbookCheck(
                    incident_id=self.incident_id,
                    card_ts=card_ts,
                    step=step,
                    title=title,
                    checked_by=by,
                    checked_at=at,
                )
            )
            return True
        if (row.checked_by is None) == (by is None):
            return False
        row.checked_by, row.checked_at = by, at if by else None
        return True
