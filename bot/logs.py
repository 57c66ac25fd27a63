"""Logging: readable text or JSON lines, with secrets scrubbed from every record."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

_CONTEXT_KEYS = ("incident_id", "event_id", "request_id")


class RedactSecrets(logging.Filter):
    """Replace any known secret value in a record's message with `[redacted]`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            msg = record.getMessage()
            for secret in self.secrets:
                msg = msg.replace(secret, "[redacted]")
            if record.exc_info:
                text = logging.Formatter().formatException(record.exc_info)
                for secret in self.secrets:
                    text = text.replace(secret, "[redacted]")
                record.exc_text, record.exc_info = text, None
            record.msg, record.args = msg, None
        return True


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
    """`2026-11-22T03:04:05Z INFO bot.lifecycle [incident 3] declared …`."""

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
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in (
        "aiohttp.access",
        "alembic",
        "apscheduler",
        "slack_bolt",
        "slack_sdk",
        "sqlalchemy.engine",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
