"""Work the bot carries out: scheduled pages and reminders, alert groups, the outbox and the inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class ScheduledJob(Base):
    """A planned page (one escalation level, or one schedule's on-call), update reminder, follow-up or
    postmortem reminder, or channel archive, claimed by a tick when due.

    state: pending → claimed (fence += 1, lease) → done | cancelled | skipped. A worker may only
    finish a job while the fence is still the one its claim returned.
    """

    __tablename__ = "scheduled_jobs"
    __table_args__ = (
        Index("ix_scheduled_jobs_state_due", "state", "due_at"),
        Index("ix_scheduled_jobs_incident", "incident_id", "kind"),
        Index("ix_scheduled_jobs_team_state_due", "team_id", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32), server_default="", default="")
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[int | None] = mapped_column(Integer)
    # A page of whoever is on call on a schedule outside the escalation levels (a workflow's `page`).
    schedule: Mapped[str | None] = mapped_column(String(40))
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id", ondelete="CASCADE"))
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
    schedule: Mapped[str | None] = mapped_column(String(40))  # its job's: paged off the levels
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

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True, server_default="")
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
    team_id: Mapped[str] = mapped_column(String(32), server_default="", default="")
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
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
    # First tried (claimed as its key's head, or failed behind it in a run): retries are given up
    # `inbound_give_up` after this, not after the arrival nor the head's first try (a row may wait
    # long behind its key's head).
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
