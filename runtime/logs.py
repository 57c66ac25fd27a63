"""Logging: readable text or JSON lines, with secrets scrubbed from every record."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import UTC, datetime

from domain.redact import redact_urls

_CONTEXT_KEYS = ("incident_id", "event_id", "request_id")
# Set per Slack request (and inherited by the tasks it spawns): Slack's event id or trigger id.
log_ids: ContextVar[dict[str, str] | None] = ContextVar("log_ids", default=None)


def bind(**ids: str | int | None) -> None:
    """Attach ids (event_id, request_id, incident_id) to every log line of the current task."""
    current = dict(log_ids.get() or {})
    current.update({k: str(v) for k, v in ids.items() if v is not None})
    log_ids.set(current)


class ContextIds(logging.Filter):
    """Copy the bound ids onto each record (an explicit `extra=` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (log_ids.get() or {}).items():
            if getattr(record, key, None) is None:
                setattr(record, key, value)
        return True


def _rewrite(record: logging.LogRecord, scrub: Callable[[str], str]) -> None:
    """Apply `scrub` to a record's message and traceback (formatted once, here)."""
    record.msg, record.args = scrub(record.getMessage()), None
    if record.exc_info:
        record.exc_text, record.exc_info = logging.Formatter().formatException(record.exc_info), None
    if record.exc_text:
        record.exc_text = scrub(record.exc_text)


class RedactSecrets(logging.Filter):
    """Replace any known secret value in a record's message with `[redacted]`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            _rewrite(record, self._scrub)
        return True

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text


class RedactUrls(logging.Filter):
    """Cut every http(s) URL in a record to scheme://host/…: a calendar's or a webhook's path and
    query are often its credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        _rewrite(record, redact_urls)
        return True


class Throttle(logging.Filter):
    """At most one record per `seconds` (a retry loop's report), without its traceback unless the
    root logger is at DEBUG. Attach one instance to every logger of the loop to share the budget."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.seconds, self.clock = seconds, clock
        self._last: float | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        now = self.clock()
        if self._last is not None and now - self._last < self.seconds:
            return False
        self._last = now
        if not logging.getLogger().isEnabledFor(logging.DEBUG):
            record.exc_info, record.exc_text = None, None
        return True


class SkippedTicks(logging.Filter):
    """APScheduler warns when a tick is skipped because the last one still runs: for a job that
    never overlaps itself on purpose that is normal, and under load it would fill the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in str(record.msg)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with incident and Slack ids when present."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _CONTEXT_KEYS:
            if getattr(record, key, None) is not None:
                out[key] = getattr(record, key)
        if record.exc_text or record.exc_info:
            out["error"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`2026-11-22T03:04:05Z INFO services.lifecycle [incident 3] declared …`."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        tags = "".join(
            f" [{key.removesuffix('_id')} {getattr(record, key)}]"
            for key in _CONTEXT_KEYS
            if getattr(record, key, None) is not None
        )
        line = f"{stamp} {record.levelname} {record.name}{tags} {record.getMessage()}"
        if record.exc_text:
            line += "\n" + record.exc_text
        elif record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(fmt: str = "text", level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Route all logging to stderr in the chosen format, scrubbing secrets."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ContextIds())
    handler.addFilter(RedactSecrets(secrets))
    handler.addFilter(RedactUrls())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in (
        "aiohttp.access",
        "alembic",
        "apscheduler",
        "httpcore",
        "httpx",  # its INFO line names every request's full URL
        "slack_bolt",
        "slack_sdk",
        "sqlalchemy.engine",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    scheduler = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, SkippedTicks) for f in scheduler.filters):
        scheduler.addFilter(SkippedTicks())
