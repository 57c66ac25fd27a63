"""The web_sessions table: who signed in to the web view, until they log out or it expires."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WebSession


class WebSessionRepo:
    """Sessions of every workspace, by the SHA-256 of the id their cookie holds."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, key: str, team_id: str, user_id: str, name: str, at: datetime, until: datetime
    ) -> None:
        """A new session, valid until `until`."""
        self.session.add(
            WebSession(id=key, team_id=team_id, user_id=user_id, name=name, created_at=at, expires_at=until)
        )
        await self.session.flush()

    async def get(self, key: str, now: datetime) -> WebSession | None:
        """The session, unless it ended or expired."""
        stmt = select(WebSession).where(WebSession.id == key, WebSession.expires_at > now)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def end(self, key: str) -> None:
        """Log the session out."""
        await self.session.execute(delete(WebSession).where(WebSession.id == key))

    async def prune(self, now: datetime) -> int:
        """Delete expired sessions; how many."""
        result = await self.session.execute(delete(WebSession).where(WebSession.expires_at <= now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
