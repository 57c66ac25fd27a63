"""SQLAlchemy models: incidents and their status updates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from domain.severity import Severity
from storage.types import SeverityType, UTCDateTime


class Base(DeclarativeBase):
    """Declarative base; Alembic migrations are written against this metadata."""


class Incident(Base):
    """One incident, from declaration to resolution."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
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

    updates: Mapped[list[IncidentUpdate]] = relationship(
        back_populates="incident", order_by="IncidentUpdate.posted_at", cascade="all, delete-orphan"
    )

    @property
    def ref(self) -> str:
        """The id people say out loud: `INC-42`."""
        return f"INC-{self.id}"

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
    """A Slack user's name as last seen in a payload, for exports that run without Slack."""

    __tablename__ = "people"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


class ScheduledJob(Base):
    """A planned page (one escalation level) or update reminder, claimed by a tick when due.

    state: pending → claimed (fence += 1, lease) → done | cancelled | skipped. A worker may only
    finish a job while the fence is still the one its claim returned.
    """

    __tablename__ = "scheduled_jobs"
    __table_args__ = (
        Index("ix_scheduled_jobs_state_due", "state", "due_at"),
        Index("ix_scheduled_jobs_incident", "incident_id", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16))
    fence: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(40))


class PageDelivery(Base):
    """One person's page DM: written before sending, so a retried job skips people already paged."""

    __tablename__ = "page_deliveries"
    __table_args__ = (
        UniqueConstraint("job_id", "user_id", name="uq_page_delivery_user"),
        Index("ix_page_deliveries_incident", "incident_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("scheduled_jobs.id", ondelete="CASCADE"))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[str] = mapped_column(String(32))
    dm_channel: Mapped[str | None] = mapped_column(String(32))
    dm_ts: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(32))
    # A DM Slack refused: retried with backoff from the first attempt until given up (loudly).
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    given_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AlertGroup(Base):
    """An Alertmanager group (by groupKey) and the incident it opened; claimed before declaring."""

    __tablename__ = "alert_groups"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_key: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The resolved incident and firing set last said to be "still firing after resolution" (a hash):
    # a repeat of the same set says nothing again.
    still_firing: Mapped[str | None] = mapped_column(String(64))


class AlertState(Base):
    """The last status (firing/resolved) reported for one alert of an incident's group."""

    __tablename__ = "alert_states"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))


class OutboxMessage(Base):
    """One outbound delivery (a webhook POST, a PagerDuty event), written with the change it reports.

    state: pending → delivering (fence += 1, lease) → delivered | pending again (backoff) | failed.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("event_id", "target", name="uq_outbox_event_target"),
        Index("ix_outbox_state_next", "state", "next_attempt_at"),
        Index("ix_outbox_target_incident", "target", "incident_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    fence: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))


class InboxItem(Base):
    """One acknowledged inbound request (command, event, action, form, alert), kept until carried out.

    state: pending → working (fence += 1, lease) → done | pending again (backoff) | failed.
    `order_key` groups what must happen one at a time and in id order (an incident's channel);
    `progress` is the journal of the steps already taken, so a retry resumes where the last one stopped.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("idem_key", name="uq_inbox_idem"),
        Index("ix_inbox_state_next", "state", "next_attempt_at"),
        # Only unfinished rows: finding an order key's head stays cheap however much is done.
        Index(
            "ix_inbox_open",
            "order_key",
            "id",
            postgresql_where=sql_text("state IN ('pending', 'working')"),
            sqlite_where=sql_text("state IN ('pending', 'working')"),
        ),
        Index("ix_inbox_done", "done_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idem_key: Mapped[str] = mapped_column(String(200))
    order_key: Mapped[str] = mapped_column(String(200))
    op: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    fence: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    progress: Mapped[str | None] = mapped_column(Text)
    # First claimed: retries are given up `inbound_give_up` after this, not after the arrival (a row
    # may wait long behind its key's head).
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OncallOverride(Base):
    """Someone on call instead of a schedule for a span (`/incident oncall override`)."""

    __tablename__ = "oncall_overrides"
    __table_args__ = (Index("ix_oncall_overrides_schedule_end", "schedule", "end_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[str] = mapped_column(String(32))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by: Mapped[str | None] = mapped_column(String(32))


class CalendarCopy(Base):
    """The last good copy of a schedule's calendar fetched from its `ical_url`."""

    __tablename__ = "calendar_copies"

    schedule: Mapped[str] = mapped_column(String(40), primary_key=True)
    body: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EmailUser(Base):
    """A calendar attendee's e-mail resolved to a Slack user (`users.lookupByEmail`)."""

    __tablename__ = "email_users"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(32))
    looked_up_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Handoff(Base):
    """A handoff DM (or the reminder before it) due at a shift change: claimed like a page, once."""

    __tablename__ = "handoffs"
    __table_args__ = (
        UniqueConstraint("schedule", "shift_start", "kind", name="uq_handoff_shift"),
        Index("ix_handoffs_state_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))
    shift_start: Mapped[datetime] = mapped_column(UTCDateTime())
    shift_end: Mapped[datetime] = mapped_column(UTCDateTime())
    incoming: Mapped[str] = mapped_column(String(200))
    outgoing: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16))
    fence: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(64))
