"""Slack's errors as the bot sees them: a step's failure, transient (retried) or not."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

# Errors that say "not now" rather than "never": the step is retried with backoff.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout", "bad_gateway"}
)


class SlackOpError(Exception):
    """A Slack call failed in a way the user should hear about.

    `transient` failures (5xx, 429, Slack's internal errors) are worth retrying; `retry_after` is
    Slack's Retry-After in seconds when it sent one.
    """

    def __init__(
        self, what: str, error: str, *, transient: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{what}: {error}")
        self.what = what
        self.error = error
        self.transient = transient
        self.retry_after = retry_after


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code from an API error."""
    try:
        return str(exc.response["error"])
    except (KeyError, TypeError):
        return str(exc)


def op_error(what: str, exc: SlackApiError) -> SlackOpError:
    """A SlackOpError from slack_sdk's error, classified as transient or not."""
    error = slack_error(exc)
    status = getattr(exc.response, "status_code", 200) or 200
    headers = {k.lower(): v for k, v in (getattr(exc.response, "headers", None) or {}).items()}
    try:
        retry_after = float(headers["retry-after"]) if "retry-after" in headers else None
    except (TypeError, ValueError):
        retry_after = None
    transient = status >= 500 or status == 429 or error in TRANSIENT_ERRORS
    return SlackOpError(what, error, transient=transient, retry_after=retry_after)
