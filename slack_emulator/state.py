"""The emulated workspace: all Slack state the Web API methods and the driver work on."""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_emulator.models import (
    APP_ID,
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    LOG_KINDS,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    Channel,
    Ephemeral,
    FileRecord,
    LogEntry,
    Message,
    ResponseTarget,
    Trigger,
    User,
    Usergroup,
    View,
)
from slack_emulator.render import render_blocks


def _tag(text: str, size: int = 6) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())[:size]


class IdSpace:
    """The ids handed out across every workspace of one emulator: one counter, no id given twice."""

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self._counter = itertools.count(1)

    def number(self) -> int:
        """The next serial number."""
        return next(self._counter)

    def new(self, prefix: str, hint: str = "") -> str:
        """A fresh Slack-looking id, e.g. U0003ALICE, taken by nobody yet."""
        while (candidate := f"{prefix}{self.number():04d}{_tag(hint)}") in self.taken:
            pass
        self.taken.add(candidate)
        return candidate

    def claim(self, given: str) -> str:
        """Reserve an id chosen by the caller; ValueError when another record has it."""
        if given in self.taken:
            raise ValueError(f"id {given} is already used (ids are unique across workspaces)")
        self.taken.add(given)
        return given


class Workspace:
    """All emulated Slack state of one team; every Web API method and the driver work on one of these."""

    def __init__(
        self,
        now: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        team_id: str = TEAM_ID,
        team_name: str = TEAM_NAME,
        domain: str = TEAM_DOMAIN,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        ids: IdSpace | None = None,
    ) -> None:
        self.team_id, self.team_name, self.domain = team_id, team_name, domain
        self.enterprise_id, self.enterprise_name = enterprise_id, enterprise_name
        self.bot_user_id, self.bot_id = bot_user_id, bot_id
        self.installed = True
        self.ids = ids or IdSpace()
        self.now = now
        self.monotonic = monotonic
        self.trigger_ttl = 3.0
        self.server_url = "http://emulator.invalid/"
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.usergroups: dict[str, Usergroup] = {}
        self.views: dict[str, View] = {}
        self.files: dict[str, FileRecord] = {}
        self.triggers: dict[str, Trigger] = {}
        self.response_targets: dict[str, ResponseTarget] = {}
        self.responses: list[dict[str, Any]] = []
        self.ephemeral_messages: list[Ephemeral] = []
        self.log: list[LogEntry] = []
        self._last_us = 0
        self.users[bot_user_id] = User(
            self.ids.claim(bot_user_id),
            BOT_NAME,
            BOT_NAME,
            is_bot=True,
            bot_id=bot_id,
            team_id=team_id,
            team_domain=domain,
        )

    @property
    def url(self) -> str:
        """The workspace's web address, as auth.test and permalinks give it."""
        return f"https://{self.domain}.slack.test/"

    @property
    def enterprise(self) -> dict[str, str] | None:
        """{"id", "name"} of the Enterprise Grid org the workspace belongs to, or None."""
        if self.enterprise_id is None:
            return None
        return {"id": self.enterprise_id, "name": self.enterprise_name or self.enterprise_id}

    # ids and clocks

    def new_id(self, prefix: str, hint: str = "") -> str:
        """A fresh Slack-looking id, e.g. U0003ALICE, unique across the emulator's workspaces."""
        return self.ids.new(prefix, hint)

    def next_ts(self) -> str:
        """A message ts from the clock, strictly increasing (one microsecond apart at least)."""
        us = max(round(self.now() * 1_000_000), self._last_us + 1)
        self._last_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    # people and places

    def add_user(self, name: str, user_id: str | None = None, real_name: str | None = None) -> str:
        """Add a member and return their id."""
        if user_id in self.users:
            raise ValueError(f"user {user_id} already exists")
        uid = self.ids.claim(user_id) if user_id else self.new_id("U", name)
        self.users[uid] = User(uid, name, real_name or name, team_id=self.team_id, team_domain=self.domain)
        return uid

    def add_channel(
        self,
        name: str,
        channel_id: str | None = None,
        members: Iterable[str] = (),
        is_private: bool = False,
        creator: str | None = None,
    ) -> str:
        """Add a channel (no name validation: that is conversations.create's job) and return its id."""
        if self.channel_by_name(name) is not None:
            raise ValueError(f"channel #{name} already exists")
        if channel_id in self.channels:
            raise ValueError(f"channel {channel_id} already exists")
        members = list(dict.fromkeys(members))
        for uid in members:
            self.require_user(uid)
        cid = self.ids.claim(channel_id) if channel_id else self.new_id("C", name)
        self.channels[cid] = Channel(
            cid,
            name,
            int(self.now()),
            creator or (members[0] if members else self.bot_user_id),
            is_private=is_private,
            members=members,
        )
        return cid

    def add_usergroup(self, handle: str, users: Iterable[str], group_id: str | None = None) -> str:
        """Add (or, given an id it already has, replace) a user group and return its S... id."""
        if group_id is not None and group_id in self.usergroups:
            gid = group_id
        else:
            gid = self.ids.claim(group_id) if group_id else self.new_id("S", handle)
        self.usergroups[gid] = Usergroup(gid, handle, list(users))
        return gid

    def require_user(self, user_id: str) -> User:
        """The user, or KeyError naming the unknown id."""
        if user_id not in self.users:
            raise KeyError(f"unknown user {user_id}")
        return self.users[user_id]

    def user_name(self, user_id: str) -> str:
        """A user's handle, or the id itself when unknown."""
        user = self.users.get(user_id)
        return user.name if user else user_id

    def channel(self, id_or_name: str) -> Channel | None:
        """A channel by id, '#name' or 'name'."""
        if id_or_name in self.channels:
            return self.channels[id_or_name]
        return self.channel_by_name(id_or_name.removeprefix("#"))

    def channel_by_name(self, name: str) -> Channel | None:
        """A (non-DM) channel by name."""
        return next((c for c in self.channels.values() if c.name == name and not c.is_im), None)

    def channel_label(self, channel_id: str) -> str:
        """'#name' or '@user' for a channel id."""
        ch = self.channels.get(channel_id)
        return ch.label if ch else channel_id

    def open_dm(self, user_id: str) -> Channel:
        """The bot's DM with a user, created on first use (stable id)."""
        for ch in self.channels.values():
            if ch.is_im and ch.user == user_id:
                return ch
        user = self.require_user(user_id)
        cid = self.new_id("D", user.name)
        self.channels[cid] = Channel(
            cid,
            user.name,
            int(self.now()),
            self.bot_user_id,
            is_private=True,
            is_im=True,
            user=user_id,
            members=[self.bot_user_id, user_id],
        )
        return self.channels[cid]

    # messages

    def add_message(
        self,
        channel: Channel,
        user: str,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        *,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
        files: list[dict[str, Any]] | None = None,
        log: bool = True,
    ) -> Message:
        """Append a message (as the bot when user is the bot user) and log it."""
        msg = Message(
            channel.id,
            self.next_ts(),
            user,
            text,
            list(blocks or []),
            bot_id=self.bot_id if user == self.bot_user_id else None,
            thread_ts=thread_ts,
            reply_broadcast=bool(thread_ts and reply_broadcast),
            files=list(files or []),
        )
        if msg.reply_broadcast:
            msg.subtype = "thread_broadcast"
        channel.messages.append(msg)
        if log:
            kind = "file" if files else ("dm" if channel.is_im and user == self.bot_user_id else "message")
            thread = msg.thread_ts if msg.is_reply else None
            self.record(kind, channel.id, user, text, blocks, msg.ts, thread_ts=thread)
        return msg

    def find_message(self, channel_id: str, ts: str) -> Message | None:
        """A message by channel id and ts."""
        ch = self.channels.get(channel_id)
        return ch.find(ts) if ch else None

    def message_dict(self, msg: Message) -> dict[str, Any]:
        """Slack's JSON for a stored message, with thread, reaction, file and pin details."""
        out: dict[str, Any] = {
            "type": "message",
            "text": msg.text,
            "user": msg.user,
            "ts": msg.ts,
            "team": self.team_id,
        }
        if msg.subtype:
            out["subtype"] = msg.subtype
        if msg.bot_id:
            out.update(
                bot_id=msg.bot_id,
                app_id=APP_ID,
                bot_profile={
                    "id": self.bot_id,
                    "name": BOT_NAME,
                    "app_id": APP_ID,
                    "team_id": self.team_id,
                    "deleted": False,
                },
            )
        if msg.blocks:
            out["blocks"] = msg.blocks
        if msg.files:
            out.update(files=msg.files, upload=True, display_as_bot=False)
        if msg.edited:
            out["edited"] = dict(msg.edited)
        if msg.reactions:
            out["reactions"] = [
                {"name": n, "users": list(u), "count": len(u)} for n, u in msg.reactions.items()
            ]
        ch = self.channels.get(msg.channel)
        if ch and msg.ts in ch.pins:
            out["pinned_to"] = [ch.id]
        if msg.thread_ts:
            out["thread_ts"] = msg.thread_ts
            if msg.is_reply:
                parent = ch.find(msg.thread_ts) if ch else None
                out["parent_user_id"] = parent.user if parent else None
        replies = ch.replies(msg.ts) if ch and not msg.is_reply else []
        if replies:
            users = list(dict.fromkeys(r.user for r in replies))
            out.update(
                thread_ts=msg.ts,
                reply_count=len(replies),
                reply_users_count=len(users),
                reply_users=users,
                latest_reply=replies[-1].ts,
                is_locked=False,
                subscribed=False,
            )
        return out

    def render(self, text: str, blocks: list[dict[str, Any]] | None) -> list[str]:
        """Readable lines for a message, with user and channel names resolved."""
        return render_blocks(blocks, text, resolve_user=self.user_name, resolve_channel=self._channel_name)

    def _channel_name(self, channel_id: str) -> str | None:
        ch = self.channels.get(channel_id)
        return ch.name if ch and not ch.is_im else None

    # the activity log

    def record(
        self,
        kind: str,
        channel_id: str,
        author: str,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        ts: str | None = None,
        to: str | None = None,
        thread_ts: str | None = None,
    ) -> LogEntry:
        """Append to the activity log (author and `to` are user ids; stored as names)."""
        if kind not in LOG_KINDS:
            raise ValueError(f"unknown log kind {kind!r}")
        entry = LogEntry(
            kind,
            channel_id,
            self.channel_label(channel_id),
            self.user_name(author),
            text,
            self.render(text, blocks),
            ts,
            self.now(),
            self.user_name(to) if to else None,
            thread_ts,
        )
        self.log.append(entry)
        return entry

    # interactions

    def issue_trigger(self, user_id: str) -> str:
        """A new trigger_id for an interaction by this user (valid for trigger_ttl real seconds)."""
        tid = f"{self.ids.number()}.{self.team_id[1:]}.{secrets.token_hex(16)}"
        self.triggers[tid] = Trigger(tid, user_id, self.monotonic())
        return tid

    def response_url(
        self, user: str, channel: str, message_ts: str | None = None, is_ephemeral: bool = False
    ) -> str:
        """A response_url for an interaction, pointing back at this emulator."""
        key = f"{self.team_id}/{self.ids.number()}/{secrets.token_hex(12)}"
        self.response_targets[key] = ResponseTarget(key, user, channel, message_ts, is_ephemeral)
        return f"{self.server_url}respond/{key}"

    def add_ephemeral(
        self, user: str, channel: str, text: str, blocks: list[dict[str, Any]] | None, source: str
    ) -> Ephemeral:
        """Store (and log) a message only `user` can see."""
        eph = Ephemeral(user, channel, self.next_ts(), text, list(blocks or []), source)
        self.ephemeral_messages.append(eph)
        self.record("ephemeral", channel, self.bot_user_id, text, blocks, eph.ts, to=user)
        return eph

    def open_views(self, user_id: str) -> list[View]:
        """The user's open modal stack, root first."""
        return [v for v in self.views.values() if v.user == user_id and not v.closed]
