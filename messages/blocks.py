"""Small Block Kit builders and Slack's size limits, shared by the templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from messages.text import plain

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_TOPIC = 250

Block = dict[str, Any]


@dataclass(frozen=True)
class Message:
    """What a template renders: Block Kit blocks plus the plain-text fallback."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def kwargs(self) -> dict[str, Any]:
        """Arguments for chat.postMessage / chat.update / respond."""
        return {"text": self.text, "blocks": self.blocks[:MAX_BLOCKS]}


def truncate(text: str, limit: int) -> str:
    """Cut to `limit` characters with an ellipsis, never splitting an escape like `&amp;`."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def header(text: str) -> Block:
    """A header block: plain text (any outside text in it made inert here), 150 characters at most."""
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(plain(text), MAX_HEADER), "emoji": True},
    }


def section(text: str) -> Block:
    """A mrkdwn section, cut to Slack's 3,000 characters."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION)}}


def fields(*pairs: tuple[str, str]) -> Block:
    """A section of up to ten `*label*\\nvalue` fields."""
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": truncate(f"*{label}*\n{value}", MAX_FIELD)}
            for label, value in pairs[:10]
        ],
    }


def context(*texts: str) -> Block:
    """A context line of up to ten mrkdwn elements."""
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": truncate(t, MAX_FIELD)} for t in texts[:10]],
    }


def divider() -> Block:
    """A horizontal rule."""
    return {"type": "divider"}


def utc(at: datetime | None) -> str:
    """`2026-11-22 03:04 UTC`, or an em dash when unknown."""
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "—"


def utc_time(at: datetime) -> str:
    """`03:04 UTC`."""
    return at.strftime("%H:%M UTC")


def utc_when(at: datetime, now: datetime) -> str:
    """`03:04 UTC` on the same UTC day as `now`, else with the day: `Fri 4 Dec 03:04 UTC`."""
    if at.date() == now.date():
        return utc_time(at)
    return f"{at:%a} {at.day} {at:%b %H:%M} UTC"
