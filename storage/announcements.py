"""An incident's announcements, one per channel: where each landed, to update it and reply in its thread."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Announcement
from storage.repositories import insert_ignoring_duplicates


class AnnouncementRepo:
    """The announcements of one incident (the caller found the incident in its workspace)."""

    def __init__(self, session: AsyncSession, incident_id: int) -> None:
        self.session, self.incident_id = session, incident_id

    async def all(self) -> list[Announcement]:
        """Every channel the incident was announced in, in the order it was."""
        rows = await self.session.scalars(
            select(Announcement)
            .where(Announcement.incident_id == self.incident_id)
            .order_by(Announcement.posted_at, Announcement.channel)
        )
        return list(rows)

    async def add(self, channel: str, channel_id: str, ts: str, at: datetime) -> bool:
        """Keep where the announcement in `channel` (as configured) landed; False when already kept."""
        return await insert_ignoring_duplicates(
            self.session,
            Announcement,
            incident_id=self.incident_id,
            channel=channel,
            channel_id=channel_id,
            ts=ts,
            posted_at=at,
        )
