"""Follow-ups: the actions an incident leaves behind, each with an owner and a due date."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class Followup(Base):
    """One follow-up: open until its owner (or the commander, or its issue tracker) marks it done."""

    __tablename__ = "followups"
    __table_args__ = (
        Index("ix_followups_team_owner_state", "team_id", "owner_id", "state"),
        Index("ix_followups_incident", "incident_id"),
        Index("ix_followups_tracker", "tracker", "tracker_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32), server_default="", default="")
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    owner_id: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))  # open | done
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[str | None] = mapped_column(String(64))
    message_ts: Mapped[str | None] = mapped_column(String(32))  # its message in the incident channel
    tracker: Mapped[str | None] = mapped_column(String(16))  # github | jira
    tracker_key: Mapped[str | None] = mapped_column(String(200))  # owner/repo#12, PROJ-7
    tracker_url: Mapped[str | None] = mapped_column(String(500))

    @property
    def is_open(self) -> bool:
        """Not done yet."""
        return self.state == "open"
