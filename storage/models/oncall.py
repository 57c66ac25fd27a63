"""On-call: overrides, calendar copies, resolved e-mails and handoff DMs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class OncallOverride(Base):
    """Someone on call instead of a schedule for a span (`/incident oncall override`)."""

    __tablename__ = "oncall_overrides"
    __table_args__ = (Index("ix_oncall_overrides_team_schedule_end", "team_id", "schedule", "end_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32), server_default="", default="")
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

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True, server_default="")
    schedule: Mapped[str] = mapped_column(String(40), primary_key=True)
    body: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EmailUser(Base):
    """A calendar attendee's e-mail resolved to a Slack user (`users.lookupByEmail`)."""

    __tablename__ = "email_users"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True, server_default="")
    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(32))
    looked_up_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Handoff(Base):
    """A handoff DM (or the reminder before it) due at a shift change: claimed like a page, once."""

    __tablename__ = "handoffs"
    __table_args__ = (
        UniqueConstraint("team_id", "schedule", "shift_start", "kind", name="uq_handoff_shift"),
        Index("ix_handoffs_state_due", "state", "due_at"),
        Index("ix_handoffs_team_state_due", "team_id", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32), server_default="", default="")
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
