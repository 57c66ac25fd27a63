"""Incidents, their updates, timeline, transcript and the people named in them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.severity import Severity
from storage.models.base import Base
from storage.types import SeverityType, UTCDateTime


class Incident(Base):
    """One incident, from declaration to resolution."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("team_id", "number", name="uq_incidents_team_number"),
        Index("ix_incidents_team_declared", "team_id", "declared_at"),
        Index("ix_incidents_team_service", "team_id", "service"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32), server_default="", default="")
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    number: Mapped[int] = mapped_column(Integer)  # INC-n, counted per workspace
    private: Mapped[bool] = mapped_column(Boolean, server_default=sql_text("false"), default=False)
    channel_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    channel_name: Mapped[str | None] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    impact: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[Severity] = mapped_column(SeverityType())
    status: Mapped[str] = mapped_column(String(16), index=True)
    commander_id: Mapped[str | None] = mapped_column(String(32))
    scribe_id: Mapped[str | None] = mapped_column(String(32))
    comms_id: Mapped[str | None] = mapped_column(String(32))
    declared_by: Mapped[str | None] = mapped_column(String(32))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_update_due: Mapped[datetime | None] = mapped_column(UTCDateTime())
    summary: Mapped[str | None] = mapped_column(Text)
    initial_message_ts: Mapped[str | None] = mapped_column(String(32))
    statuspage_id: Mapped[str | None] = mapped_column(String(64))
    statuspage_link: Mapped[str | None] = mapped_column(String(300))
    statuspage_status: Mapped[str | None] = mapped_column(String(16))
    # After the incident: the status it had before resolution (what a reopen goes back to), the
    # postmortem's deadline and link, and when its channel was archived.
    status_before_resolve: Mapped[str | None] = mapped_column(String(16))
    postmortem_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    postmortem_url: Mapped[str | None] = mapped_column(String(500))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    announce_ts: Mapped[str | None] = mapped_column(String(32))  # its announcement: a thread for later news
    service: Mapped[str | None] = mapped_column(String(40))  # a `[[services]]` name
    runbook_url: Mapped[str | None] = mapped_column(Text)  # the `runbook_url` of the alert that declared it
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))

    updates: Mapped[list[IncidentUpdate]] = relationship(
        back_populates="incident", order_by="IncidentUpdate.posted_at", cascade="all, delete-orphan"
    )

    @property
    def ref(self) -> str:
        """The id people say out loud: `INC-42`."""
        return f"INC-{self.number}"

    @property
    def is_open(self) -> bool:
        """Whether the incident is still being worked."""
        return self.resolved_at is None


class IncidentUpdate(Base):
    """A status update posted with `/incident update` (or the resolution)."""

    __tablename__ = "incident_updates"
    __table_args__ = (Index("ix_incident_updates_incident_posted", "incident_id", "posted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    author_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    message_ts: Mapped[str | None] = mapped_column(String(32))

    incident: Mapped[Incident] = relationship(back_populates="updates")


class TimelineEntry(Base):
    """One line of the incident timeline: a lifecycle event, a pinned message, a scribe note."""

    __tablename__ = "timeline_entries"
    __table_args__ = (
        Index("ix_timeline_incident_at", "incident_id", "at"),
        UniqueConstraint("incident_id", "source_key", name="uq_timeline_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(24))
    author_id: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    message_ts: Mapped[str | None] = mapped_column(String(32))
    permalink: Mapped[str | None] = mapped_column(String(300))
    # Deduplicates entries that come from Slack (e.g. `pin:<channel>:<ts>`); NULL for bot-made events.
    source_key: Mapped[str | None] = mapped_column(String(120))


class ProcessedEvent(Base):
    """A Slack event id already acted on; retries with the same id are no-ops. Pruned after a day."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class TranscriptMessage(Base):
    """A human message in an incident channel (threads included), kept as last edited."""

    __tablename__ = "transcript_messages"
    __table_args__ = (UniqueConstraint("incident_id", "ts", name="uq_transcript_ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    ts: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TimelineReaction(Base):
    """One person's timeline emoji on one message; the entry goes when the last one does."""

    __tablename__ = "timeline_reactions"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    message_ts: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    emoji: Mapped[str] = mapped_column(String(100), primary_key=True)


class Person(Base):
    """A Slack user's name in one workspace as last seen in a payload, for pages and exports that run
    without Slack."""

    __tablename__ = "people"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True, server_default="")
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # From users.info (None until looked up): refreshed when older than the people refresh.
    real_name: Mapped[str | None] = mapped_column(String(120))
    tz: Mapped[str | None] = mapped_column(String(64))
    looked_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
