"""Outbound integrations in the policy file: webhooks, Statuspage, PagerDuty, delivery retries."""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import Field, field_validator

from config.fields import Duration, Strict
from domain.redact import redact_url

WEBHOOK_EVENTS = (
    "declared",
    "updated",
    "severity_changed",
    "resolved",
    "paged",
    "acknowledged",
    "field_changed",
)
# Events a webhook receives only when its `events` names them (they exist for workflows' triggers).
OPT_IN_EVENTS = ("role_assigned", "reopened", "member_joined", "followup_overdue", "postmortem_overdue")
_URL = re.compile(r"^https?://[^\s]+$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_url(value: str) -> str:
    """`value` when it is an http(s) URL; the error shows its scheme and host only (the path may be a key)."""
    if not _URL.match(value):
        raise ValueError(f"not an http(s) URL: {redact_url(value)!r}")
    return value


def _env_name(value: str) -> str:
    if not _ENV.match(value):
        raise ValueError(f"not an environment variable name: {value!r}")
    return value


class Webhook(Strict):
    """POST each chosen incident event as signed JSON to `url`; a `name` lets a workflow's step send to it."""

    name: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")
    url: str
    secret: str = Field(min_length=8)
    events: tuple[str, ...] = WEBHOOK_EVENTS
    # A private incident's title, impact and people go only to receivers trusted with them.
    include_private: bool = False

    _check_url = field_validator("url")(classmethod(lambda cls, v: check_url(v)))

    @field_validator("events")
    @classmethod
    def _known(cls, events: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [e for e in events if e not in WEBHOOK_EVENTS + OPT_IN_EVENTS]
        if unknown:
            known = ", ".join(WEBHOOK_EVENTS + OPT_IN_EVENTS)
            raise ValueError(f"unknown event {unknown[0]!r} (known: {known})")
        return events


class Statuspage(Strict):
    """Atlassian Statuspage: the page, where its API key is, and the components incidents affect."""

    page_id: str = Field(min_length=1)
    api_key_env: str = "STATUSPAGE_API_KEY"
    api_url: str = "https://api.statuspage.io/v1"
    components: dict[str, str] = Field(default_factory=dict)  # name → component id

    _check_url = field_validator("api_url")(classmethod(lambda cls, v: check_url(v)))
    _check_env = field_validator("api_key_env")(classmethod(lambda cls, v: _env_name(v)))


class PagerDuty(Strict):
    """Where PagerDuty Events API v2 events go."""

    events_url: str = "https://events.pagerduty.com/v2/enqueue"
    # As for webhooks: a private incident's title and channel only when PagerDuty is trusted with them.
    include_private: bool = False

    _check_url = field_validator("events_url")(classmethod(lambda cls, v: check_url(v)))


class Delivery(Strict):
    """Retries: outbound deliveries (webhooks, PagerDuty) by attempts, inbound work and pages by time."""

    max_attempts: int = Field(default=10, ge=1, le=100)
    backoff: Duration = timedelta(seconds=5)
    max_backoff: Duration = timedelta(minutes=10)
    timeout: Duration = timedelta(seconds=10)
    # Acknowledged requests and page DMs whose Slack steps keep failing are retried this long.
    inbound_give_up: Duration = timedelta(hours=1)
    inbound_backoff: Duration = timedelta(seconds=1)
    inbound_max_backoff: Duration = timedelta(minutes=2)
    # SIGTERM: how long the step in flight may take before it is left for the next start.
    shutdown_grace: Duration = timedelta(seconds=25)


def check_env_name(value: str | None) -> str | None:
    """Validate an optional environment variable name (for pagerduty_routing_key)."""
    return None if value is None else _env_name(value)
