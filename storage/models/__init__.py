"""Every table, one module per area; importing this registers them all on `Base.metadata`."""

from storage.models.audience import Announcement, CatchUp, IncidentLink, Subscription
from storage.models.base import Base
from storage.models.fields import IncidentField
from storage.models.followups import Followup
from storage.models.incidents import (
    Incident,
    IncidentUpdate,
    Person,
    ProcessedEvent,
    TimelineEntry,
    TimelineReaction,
    TranscriptMessage,
)
from storage.models.oncall import CalendarCopy, EmailUser, Handoff, OncallOverride
from storage.models.runbooks import RunbookCheck, RunbookCopy
from storage.models.slack import slack_bots, slack_installations, slack_oauth_states
from storage.models.web import WebSession
from storage.models.work import AlertGroup, AlertState, InboxItem, OutboxMessage, PageDelivery, ScheduledJob

__all__ = [
    "AlertGroup",
    "AlertState",
    "Announcement",
    "Base",
    "CalendarCopy",
    "CatchUp",
    "EmailUser",
    "Followup",
    "Handoff",
    "InboxItem",
    "Incident",
    "IncidentField",
    "IncidentLink",
    "IncidentUpdate",
    "OncallOverride",
    "OutboxMessage",
    "PageDelivery",
    "Person",
    "ProcessedEvent",
    "RunbookCheck",
    "RunbookCopy",
    "ScheduledJob",
    "Subscription",
    "TimelineEntry",
    "TimelineReaction",
    "TranscriptMessage",
    "WebSession",
    "slack_bots",
    "slack_installations",
    "slack_oauth_states",
]
