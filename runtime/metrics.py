"""Prometheus metrics, one registry per running bot (no global state), served on GET /metrics."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_MINUTES = (60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400)


class Metrics:
    """Counters, gauges and histograms the bot keeps."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.open_incidents = Gauge(
            "incident_bot_open_incidents", "Open incidents by severity", ["severity"], registry=r
        )
        self.declared = Counter(
            "incident_bot_incidents_declared", "Incidents declared", ["severity"], registry=r
        )
        self.resolved = Counter(
            "incident_bot_incidents_resolved", "Incidents resolved", ["severity"], registry=r
        )
        self.pages_sent = Counter("incident_bot_pages_sent", "Page DMs sent", ["level"], registry=r)
        self.pages_failed = Counter(
            "incident_bot_pages_failed", "Page DMs given up on", ["level"], registry=r
        )
        self.pages_acknowledged = Counter(
            "incident_bot_pages_acknowledged", "Pages acknowledged", ["level"], registry=r
        )
        self.time_to_acknowledge = Histogram(
            "incident_bot_time_to_acknowledge_seconds",
            "Declaration to first acknowledgement",
            buckets=_MINUTES,
            registry=r,
        )
        self.time_to_resolve = Histogram(
            "incident_bot_time_to_resolve_seconds", "Declaration to resolution", buckets=_MINUTES, registry=r
        )
        self.slack_calls = Counter(
            "incident_bot_slack_api_calls", "Slack Web API calls", ["method"], registry=r
        )
        self.slack_retries = Counter(
            "incident_bot_slack_api_retries", "Slack Web API retries", ["method", "reason"], registry=r
        )
        self.slack_errors = Counter(
            "incident_bot_slack_api_errors", "Slack Web API errors", ["method", "error"], registry=r
        )
        self.request_seconds = Histogram(
            "incident_bot_request_duration_seconds",
            "Time to answer Slack's request, by kind",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3, 5),
            registry=r,
        )
        self.tick_seconds = Histogram(
            "incident_bot_tick_seconds",
            "One scheduler tick: claim what is due and carry it out",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
            registry=r,
        )
        self.events_deduplicated = Counter(
            "incident_bot_events_deduplicated", "Slack event retries recognised and ignored", registry=r
        )
        self.inbox_accepted = Counter(
            "incident_bot_inbox_accepted", "Inbound requests stored before the answer", ["op"], registry=r
        )
        self.inbox_retries = Counter(
            "incident_bot_inbox_retries", "Inbox items put back to retry after a failure", ["op"], registry=r
        )
        self.inbox_failed = Counter(
            "incident_bot_inbox_failed", "Inbox items given up on", ["op"], registry=r
        )
        self.inbox_done_seconds = Histogram(
            "incident_bot_inbox_done_seconds",
            "Acknowledgement to the item's effect committed",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 300, 3600),
            registry=r,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)


class InstrumentedWebClient(AsyncWebClient):
    """AsyncWebClient that counts calls and Slack errors per method."""

    def __init__(self, *args: Any, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics

    async def api_call(self, api_method: str, **kwargs: Any) -> Any:  # type: ignore[override]
        self.metrics.slack_calls.labels(api_method).inc()
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            self.metrics.slack_errors.labels(api_method, str(error or "unknown")).inc()
            raise


def _counting(base: type[AsyncRetryHandler], reason: str) -> type[AsyncRetryHandler]:
    class Counting(base):  # type: ignore[valid-type, misc]
        metrics: Metrics

        async def prepare_for_next_attempt_async(
            self,
            *,
            state: RetryState,
            request: HttpRequest,
            response: HttpResponse | None = None,
            error: Exception | None = None,
        ) -> None:
            method = request.url.rstrip("/").rsplit("/", 1)[-1]
            self.metrics.slack_retries.labels(method, reason).inc()
            await super().prepare_for_next_attempt_async(
                state=state, request=request, response=response, error=error
            )

    Counting.__name__ = f"Counting{base.__name__}"
    return Counting


def retry_handlers(metrics: Metrics) -> list[AsyncRetryHandler]:
    """slack_sdk's retry handlers (429 with Retry-After, dropped connections), counted.

    A 5xx is not retried inside the call: the step fails as transient and the inbox (or the page
    job) retries it with backoff, durably, for as long as `delivery.inbound_give_up` allows.
    """
    handlers: list[AsyncRetryHandler] = []
    for base, reason, count in (
        (AsyncConnectionErrorRetryHandler, "connection", 3),
        (AsyncRateLimitErrorRetryHandler, "ratelimited", 8),
    ):
        handler = _counting(base, reason)(max_retry_count=count)
        handler.metrics = metrics
        handlers.append(handler)
    return handlers
