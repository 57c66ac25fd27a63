"""Human messages kept from incident channels, the timeline emoji on them, and the event path's
statements: prebuilt on the tables (not the ORM classes) with bound parameters, so compiled once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.models import Incident, TimelineEntry, TimelineReaction, TranscriptMessage
from storage.repositories import insert_ignore, insert_ignoring_duplicates

_incidents, _transcript = Incident.__table__, TranscriptMessage.__table__
_INCIDENT_BY_CHANNEL = select(_incidents.c.id, _incidents.c.scribe_id).where(
    _incidents.c.channel_id == bindparam("channel")
)
_KEPT_MESSAGE = select(_transcript.c.user_id, _transcript.c.text, _transcript.c.thread_ts).where(
    _transcript.c.incident_id == bindparam("incident"), _transcript.c.ts == bindparam("ts")
)


@dataclass(frozen=True)
class IncidentRef:
    """The two facts the event path needs about a channel's incident."""

    id: int
    scribe_id: str | None


@dataclass(frozen=True)
class KeptMessage:
    """A message as the transcript holds it."""

    user_id: str | None
    text: str
    thread_ts: str | None


def message_source(ts: str) -> str:
    """The source key of a message's timeline entry."""
    return f"msg:{ts}"


def ts_time(ts: str) -> datetime:
    """When a Slack message was posted, from its ts."""
    return datetime.fromtimestamp(float(ts), UTC)


class MessageRows:
    """The bulk path for posted messages, on a plain connection (inside the inbox's transaction)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def incident_ref(self, channel_id: str) -> IncidentRef | None:
        """The channel's incident, if it is one's."""
        row = self.conn.execute(_INCIDENT_BY_CHANNEL, {"channel": channel_id}).first()
        return IncidentRef(row.id, row.scribe_id) if row else None

    def keep(self, rows: list[tuple[IncidentRef, str, str | None, str, str]]) -> None:
        """(incident, ts, thread_ts, user, text) into the transcript; a message already kept is skipped."""
        values: list[dict[str, Any]] = [
            {"incident_id": ref.id, "ts": ts, "thread_ts": thread, "user_id": user, "text": text,
             "posted_at": ts_time(ts)}
            for ref, ts, thread, user, text in rows
        ]  # fmt: skip
        self.conn.execute(insert_ignore(self.conn, TranscriptMessage), values)

    def scribe_entries(self, rows: list[tuple[IncidentRef, str, str, str]]) -> None:
        """(incident, ts, user, text) of scribe messages onto the timeline, once per message."""
        values: list[dict[str, Any]] = [
            {"incident_id": ref.id, "kind": "scribe", "text": text, "at": ts_time(ts), "author_id": user,
             "message_ts": ts, "source_key": message_source(ts)}
            for ref, ts, user, text in rows
        ]  # fmt: skip
        self.conn.execute(insert_ignore(self.conn, TimelineEntry), values)


class TranscriptRepo:
    """Human messages in incident channels, and the timeline emoji people put on them."""

    def __init__(self, session: AsyncSession | AsyncConnection) -> None:
        self.session = session

    async def get(self, incident_id: int, ts: str) -> TranscriptMessage | None:
        """One kept message."""
        stmt = select(TranscriptMessage).where(
            TranscriptMessage.incident_id == incident_id, TranscriptMessage.ts == ts
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def kept(self, incident_id: int, ts: str) -> KeptMessage | None:
        """Who wrote a kept message, what, and in which thread (the pin path's one read)."""
        row = (await self.session.execute(_KEPT_MESSAGE, {"incident": incident_id, "ts": ts})).first()
        return KeptMessage(row.user_id, row.text, row.thread_ts) if row else None

    async def remove(self, incident_id: int, ts: str) -> None:
        """Forget a deleted message."""
        await self.session.execute(
            delete(TranscriptMessage).where(
                TranscriptMessage.incident_id == incident_id, TranscriptMessage.ts == ts
            )
        )

    async def remove_reactions(self, incident_id: int, ts: str) -> None:
        """Forget every timeline emoji on a deleted message."""
        await self.session.execute(
            delete(TimelineReaction).where(
                TimelineReaction.incident_id == incident_id, TimelineReaction.message_ts == ts
            )
        )

    async def add_reaction(self, incident_id: int, ts: str, user_id: str, emoji: str) -> bool:
        """Remember one person's timeline emoji on a message; False when already there."""
        return await insert_ignoring_duplicates(
            self.session,
            TimelineReaction,
            incident_id=incident_id,
            message_ts=ts,
            user_id=user_id,
            emoji=emoji,
        )

    async def remove_reaction(self, incident_id: int, ts: str, user_id: str, emoji: str) -> int:
        """Forget it; returns how many timeline emoji are left on the message."""
        await self.session.execute(
            delete(TimelineReaction).where(
                TimelineReaction.incident_id == incident_id,
                TimelineReaction.message_ts == ts,
                TimelineReaction.user_id == user_id,
                TimelineReaction.emoji == emoji,
            )
        )
        stmt = select(func.count()).where(
            TimelineReaction.incident_id == incident_id, TimelineReaction.message_ts == ts
        )
        return int((await self.session.execute(stmt)).scalar_one())


async def incident_ref(session: AsyncSession | AsyncConnection, channel_id: str) -> IncidentRef | None:
    """`MessageRows.incident_ref` in an async session."""
    row = (await session.execute(_INCIDENT_BY_CHANNEL, {"channel": channel_id})).first()
    return IncidentRef(row.id, row.scribe_id) if row else None
