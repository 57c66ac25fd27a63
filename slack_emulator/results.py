"""What the driver hands back: the bot's HTTP answers, and the error it raises when the bot refuses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class DriverResult:
    """The bot's HTTP answer to one request."""

    status: int
    body: str
    json: Any = None
    elapsed: float = 0.0
    event_id: str | None = None
    trigger_id: str | None = None
    response_url: str | None = None

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300


class ViewAnswer(dict[str, Any]):
    """The bot's JSON answer to a view submission; also carries the HTTP status and body."""

    status: int = 200
    body: str = ""

    @property
    def json(self) -> dict[str, Any]:
        """The answer itself (so it reads like a DriverResult too)."""
        return self


class SlackDriverError(RuntimeError):
    """The bot refused a request that a helper expected it to accept."""


def maybe_json(text: str) -> Any:
    """The body as JSON, or None when it is empty or not JSON."""
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None
