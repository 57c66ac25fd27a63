"""Runbooks: the last good copy of each one fetched from a URL, and the steps ticked on a card."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class RunbookCopy(Base):
    """A runbook fetched from its URL, kept so a restart while the server is down still reads it."""

    __tablename__ = "runbook_copies"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the URL
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RunbookCheck(Base):
    """A diagnosis step of a runbook card (`step` names it within the card): who ticked it, when."""

    __tablename__ = "runbook_checks"

    incident_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    card_ts: Mapped[str] = mapped_column(String(32), primary_key=True)
    step: Mapped[str] = mapped_column(String(16), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    checked_by: Mapped[str | None] = mapped_column(String(32))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
