"""What every Web API method implementation shares: errors, parameter coercion, lookups, paging."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

from slack_emulator.blockkit import block_problems
from slack_emulator.models import Channel, Message, ts_key
from slack_emulator.state import Workspace

Result = dict[str, Any]
Handler = Callable[[Workspace, "Params"], Result]
JSON_PARAMS = frozenset({"blocks", "attachments", "view", "files", "metadata"})


class ApiError(Exception):
    """A Slack error answer: HTTP 200 with {"ok": false, "error": code} plus any extra fields."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def body(self) -> Result:
        """The JSON body Slack would send."""
        return {"ok": False, "error": self.error, **self.extra}


def invalid_arguments(*messages: str) -> ApiError:
    """Slack's generic answer to a malformed argument."""
    return ApiError("invalid_arguments", response_metadata={"messages": list(messages)})


class Params:
    """A method's arguments, coerced the way Slack coerces form strings and JSON values."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __contains__(self, name: str) -> bool:
        return self.data.get(name) is not None

    def get(self, name: str, default: str | None = None) -> str | None:
        """A string argument (numbers and booleans as Slack would see them in a form)."""
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        return (
            value
            if isinstance(value, str)
            else json.dumps(value)
            if isinstance(value, list | dict)
            else str(value)
        )

    def required(self, name: str, error: str | None = None) -> str:
        """A non-empty string argument, else `error` (default invalid_arguments)."""
        value = self.get(name)
        if not value:
            raise ApiError(error) if error else invalid_arguments(f"[ERROR] missing required field: {name}")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        """Slack's booleans: true/1 (any case) are true."""
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("1", "true", "yes")

    def number(self, name: str, default: int) -> int:
        """An integer argument, else invalid_arguments."""
        value = self.data.get(name)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise invalid_arguments(f"[ERROR] {name} must be an integer") from None

    def parsed(self, name: str, error: str = "invalid_arguments") -> Any:
        """A JSON-valued argument, given either as JSON text (forms) or as a value (JSON bodies)."""
        value = self.data.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ApiError(error) from None
        return value

    def items(self, name: str) -> list[str]:
        """A comma-separated list (or a JSON array)."""
        value = self.data.get(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip() for item in items if str(item).strip()]


def channel_arg(
    ws: Workspace, params: Params, name: str = "channel", *, allow_names: bool = False
) -> Channel:
    """The conversation an argument names, or channel_not_found (private ones the bot is not in too)."""
    ref = params.required(name, "channel_not_found")
    ch = ws.channels.get(ref)
    if ch is None and allow_names:
        ch = ws.channel_by_name(ref.removeprefix("#"))
    return visible(ws, ch)


def visible(ws: Workspace, ch: Channel | None) -> Channel:
    """The channel, unless the bot cannot see it (unknown, or private without the bot): channel_not_found."""
    if ch is None or (ch.is_private and not ch.has_member(ws.bot_user_id)):
        raise ApiError("channel_not_found")
    return ch


def require_member(ws: Workspace, ch: Channel) -> None:
    """The bot must be in the channel."""
    if not ch.has_member(ws.bot_user_id):
        raise ApiError("not_in_channel")


def require_open(ch: Channel) -> None:
    """The channel must not be archived."""
    if ch.is_archived:
        raise ApiError("is_archived")


def message_arg(ch: Channel, ts: str | None) -> Message:
    """A message in the channel by ts, or message_not_found."""
    msg = ch.find(ts) if ts else None
    if msg is None:
        raise ApiError("message_not_found")
    return msg


def valid_ts(ts: str, error: str) -> str:
    """The ts when it parses as a Slack timestamp, else `error`."""
    try:
        ts_key(ts)
    except ValueError:
        raise ApiError(error) from None
    return ts


def blocks_arg(params: Params) -> list[dict[str, Any]] | None:
    """The blocks argument, validated against Block Kit's limits (invalid_blocks / invalid_blocks_format)."""
    if "blocks" not in params:
        return None
    blocks = params.parsed("blocks", "invalid_blocks_format")
    if not isinstance(blocks, list):
        raise ApiError("invalid_blocks_format")
    problems = block_problems(blocks)
    if problems:
        raise ApiError("invalid_blocks", errors=problems, response_metadata={"messages": problems})
    return blocks


def encode_cursor(offset: int) -> str:
    """An opaque next_cursor."""
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def paginate(
    items: Sequence[Any], params: Params, *, default_limit: int = 100, max_limit: int = 1000
) -> tuple[list[Any], str]:
    """One page of items and the next_cursor ('' on the last page), per Slack's cursor pagination."""
    limit = params.number("limit", default_limit)
    if limit < 0:
        raise ApiError("invalid_limit")
    limit = min(limit or default_limit, max_limit)
    offset = 0
    cursor = params.get("cursor")
    if cursor:
        try:
            kind, _, number = base64.b64decode(cursor.encode(), validate=True).decode().partition(":")
            offset = int(number)
            if kind != "offset" or offset < 0:
                raise ValueError(cursor)
        except ValueError:
            raise ApiError("invalid_cursor") from None
    page = list(items[offset : offset + limit])
    more = offset + limit < len(items)
    return page, encode_cursor(offset + limit) if more else ""
