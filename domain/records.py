"""What an incident, a status update and a timeline entry offer to those who show them (the templates),
whatever keeps them: storage's rows satisfy these protocols."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from domain.severity import Severity


class Incident(Protocol):
    """One incident, from declaration to resolution."""

    id: int
    team_id: str
    number: int
    private: bool
    channel_id: str | None
    channel_name: str | None
    title: str
    impact: str | None
    severity: Severity
    status: str
    commander_id: str | None
    scribe_id: str | None
    comms_id: str | None
    declared_by: str | None
    declared_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    next_update_due: datetime | None
    summary: str | None
    statuspage_link: str | None
    statuspage_status: str | None
    postmortem_due_at: datetime | None
    postmortem_url: str | None
    service: str | None  # a `[[services]]` name
    runbook_url: str | None  # the `runbook_url` of the alert that declared it: a clean http(s) URL

    @property
    def ref(self) -> str:
        """`INC-42`."""
        ...

    @property
    def is_open(self) -> bool:
        """Whether the incident is still being worked."""
        ...


class IncidentUpdate(Protocol):
    """A status update (or the resolution)."""

    author_id: str | None
    status: str
    text: str
    posted_at: datetime


class TimelineEntry(Protocol):
    """One line of the timeline."""

    at: datetime
    kind: str
    author_id: str | None
    text: str
    message_ts: str | None
    permalink: str | None


class Followup(Protocol):
    """An action an incident left behind: owner, due date, open or done, maybe an issue."""

    id: int
    incident_id: int
    owner_id: str
    text: str
    due_on: date
    state: str
    done_by: str | None
    tracker: str | None
    tracker_key: str | None
    tracker_url: str | None

    @property
    def is_open(self) -> bool:
        """Not done yet."""
        ...
