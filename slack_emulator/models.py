"""The emulated workspace's records: users, channels, messages, views, files and log entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

TEAM_ID = "T0EMU"
TEAM_NAME = "Emulated Workspace"
TEAM_DOMAIN = "emulated"
WORKSPACE_URL = "https://emulated.slack.test/"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
BOT_NAME = "incident-bot"
APP_ID = "A0EMU"

LOG_KINDS = frozenset(
    {
        "message",
        "ephemeral",
        "dm",
        "pin",
        "reaction",
        "unreaction",
        "topic",
        "channel_created",
        "invite",
        "join",
        "file",
        "update",
        "view",
        "command",
        "click",
        "submit",
    }
)


def ts_key(ts: str) -> int:
    """A message ts as integer microseconds, for ordering; ValueError when it is not a ts."""
    try:
        return int(Decimal(ts) * 1_000_000)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not a Slack ts: {ts!r}") from exc


@dataclass
class User:
    """A workspace member (the bot is one too)."""

    id: str
    name: str
    real_name: str
    is_bot: bool = False
    bot_id: str | None = None
    team_id: str = TEAM_ID
    team_domain: str = TEAM_DOMAIN
    display_name: str | None = None  # None: the name; Slack sends "" for someone who never set one
    tz: str = "Etc/UTC"

    def to_slack(self) -> dict[str, Any]:
        """Slack's user object."""
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "display_name": self.name if self.display_name is None else self.display_name,
            "team": self.team_id,
            "email": None if self.is_bot else f"{self.name}@{self.team_domain}.slack.test",
        }
        if self.bot_id:
            profile["bot_id"] = self.bot_id
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": False,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": "Coordinated Universal Time" if self.tz == "Etc/UTC" else self.tz,
            "tz_offset": int((datetime.now(ZoneInfo(self.tz)).utcoffset() or timedelta()).total_seconds()),
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
        }


@dataclass
class Message:
    """One message in a conversation (top-level or thread reply)."""

    channel: str
    ts: str
    user: str
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    bot_id: str | None = None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    subtype: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    edited: dict[str, str] | None = None

    @property
    def is_reply(self) -> bool:
        """True for a thread reply (not the parent)."""
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def in_history(self) -> bool:
        """Whether conversations.history shows it (top-level or broadcast reply)."""
        return not self.is_reply or self.reply_broadcast


@dataclass
class Channel:
    """A channel or a DM (is_im) with its messages, pins and bookmarks."""

    id: str
    name: str
    created: int
    creator: str
    is_private: bool = False
    is_im: bool = False
    user: str | None = None
    members: list[str] = field(default_factory=list)
    topic: dict[str, Any] = field(default_factory=lambda: {"value": "", "creator": "", "last_set": 0})
    purpose: dict[str, Any] = field(default_factory=lambda: {"value": "", "creator": "", "last_set": 0})
    is_archived: bool = False
    messages: list[Message] = field(default_factory=list)
    pins: dict[str, dict[str, Any]] = field(default_factory=dict)
    bookmarks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How a person refers to it: #name, or @user for a DM."""
        return f"@{self.name}" if self.is_im else f"#{self.name}"

    def find(self, ts: str) -> Message | None:
        """The message with exactly this ts."""
        return next((m for m in self.messages if m.ts == ts), None)

    def replies(self, parent_ts: str) -> list[Message]:
        """Thread replies to a parent, oldest first."""
        return [m for m in self.messages if m.thread_ts == parent_ts and m.ts != parent_ts]

    def has_member(self, user_id: str) -> bool:
        """Membership; in a DM the bot and the peer are members."""
        return user_id in self.members or (self.is_im and user_id == self.user)


@dataclass
class Ephemeral:
    """A message only one user sees: chat.postEphemeral, an ephemeral response_url post, or an ack body."""

    user: str
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    source: str


@dataclass
class View:
    """A modal opened for a user."""

    id: str
    user: str
    view: dict[str, Any]
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    external_id: str | None = None
    closed: bool = False


@dataclass
class FileRecord:
    """A file announced with files.getUploadURLExternal (content arrives by POST to the upload URL)."""

    id: str
    name: str
    length: int
    created: int
    user: str
    title: str = ""
    alt_txt: str | None = None
    snippet_type: str | None = None
    content: bytes | None = None
    channels: list[str] = field(default_factory=list)


@dataclass
class Usergroup:
    """A user group such as @oncall."""

    id: str
    handle: str
    users: list[str]


@dataclass
class ResponseTarget:
    """What a response_url answers: who asked, where, and from which message."""

    key: str
    user: str
    channel: str
    message_ts: str | None = None
    is_ephemeral: bool = False
    uses: int = 0


@dataclass
class Trigger:
    """A trigger_id handed to the bot with an interaction."""

    id: str
    user: str
    issued_at: float
    used: bool = False


@dataclass
class LogEntry:
    """One line of the readable activity log."""

    kind: str
    channel_id: str
    channel_name: str
    author: str
    text: str
    lines: list[str]
    ts: str | None
    at: float
    to: str | None = None
    thread_ts: str | None = None

    def format(self) -> str:
        """A readable multi-line rendering, for transcripts."""
        only = f" (only @{self.to} sees this)" if self.to else ""
        thread = f" (in thread {self.thread_ts})" if self.thread_ts else ""
        where = f" {self.channel_name}{thread}" if self.channel_name else ""
        head = f"[{self.kind}]{where} {self.author}{only}:"
        body = self.lines or ([self.text] if self.text else [])
        return "\n".join([head, *(f"    {line}" for line in body)])
