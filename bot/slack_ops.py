"""The Slack Web API operations the incident domain needs, with Slack's errors handled."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels import channel_name
from messages.blocks import Message

log = logging.getLogger(__name__)

MAX_NAME_ATTEMPTS = 6


class SlackOpError(Exception):
    """A Slack call failed in a way the user should hear about."""

    def __init__(self, what: str, error: str) -> None:
        super().__init__(f"{what}: {error}")
        self.what = what
        self.error = error


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code from an API error."""
    try:
        return str(exc.response["error"])
    except (KeyError, TypeError):
        return str(exc)


@dataclass(frozen=True)
class Channel:
    """A channel the bot created or looked up."""

    id: str
    name: str


@dataclass(frozen=True)
class FetchedMessage:
    """A message read back from Slack."""

    ts: str
    user_id: str | None
    text: str
    thread_ts: str | None = None


class SlackOps:
    """Thin domain-shaped wrapper over one AsyncWebClient (retries live in the client)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._channel_ids: dict[str, str] = {}
        self._workspace_url: str | None = None
        self._dm_channels: dict[str, str] = {}

    async def create_incident_channel(self, prefix: str, at: datetime, title: str) -> Channel:
        """Create a fresh public channel; on `name_taken` try a new name, never reuse an old channel."""
        for attempt in range(MAX_NAME_ATTEMPTS):
            name = channel_name(prefix, at, title, attempt)
            try:
                resp = await self.client.conversations_create(name=name, is_private=False)
            except SlackApiError as exc:
                if slack_error(exc) == "name_taken":
                    continue
                raise SlackOpError("creating the incident channel", slack_error(exc)) from exc
            ch = resp["channel"]
            return Channel(id=ch["id"], name=ch["name"])
        raise SlackOpError("creating the incident channel", f"name_taken {MAX_NAME_ATTEMPTS} times")

    async def invite(self, channel_id: str, user_ids: list[str]) -> None:
        """Invite people; being there already, or being the bot, is fine."""
        if not user_ids:
            return
        try:
            await self.client.conversations_invite(channel=channel_id, users=",".join(user_ids))
        except SlackApiError as exc:
            if slack_error(exc) not in ("already_in_channel", "cant_invite_self"):
                raise SlackOpError("inviting to the channel", slack_error(exc)) from exc

    async def set_topic(self, channel_id: str, topic: str) -> None:
        """Set the channel topic."""
        try:
            await self.client.conversations_setTopic(channel=channel_id, topic=topic)
        except SlackApiError as exc:
            raise SlackOpError("setting the channel topic", slack_error(exc)) from exc

    async def post(self, channel: str, message: Message, *, thread_ts: str | None = None) -> str:
        """Post a message and return its ts."""
        try:
            resp = await self.client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, **message.kwargs()
            )
        except SlackApiError as exc:
            raise SlackOpError(f"posting to {channel}", slack_error(exc)) from exc
        return str(resp["ts"])

    async def pin(self, channel_id: str, ts: str) -> None:
        """Pin a message; already pinned is fine."""
        try:
            await self.client.pins_add(channel=channel_id, timestamp=ts)
        except SlackApiError as exc:
            if slack_error(exc) != "already_pinned":
                raise SlackOpError("pinning the message", slack_error(exc)) from exc

    async def post_joining(self, channel: str, message: Message) -> str:
        """Post to a shared channel (given as ID or #name), joining it first if the bot is not in it."""
        try:
            return await self.post(channel, message)
        except SlackOpError as exc:
            if exc.error != "not_in_channel":
                raise
        channel_id = await self.channel_id(channel)
        try:
            await self.client.conversations_join(channel=channel_id)
        except SlackApiError as exc:
            raise SlackOpError(f"joining {channel}", slack_error(exc)) from exc
        return await self.post(channel_id, message)

    async def channel_id(self, channel: str) -> str:
        """Resolve `#name` to a channel ID (IDs pass through); cached for the process."""
        name = channel.removeprefix("#")
        if not channel.startswith("#") and name[:1] in ("C", "G") and name.isupper():
            return name
        if name in self._channel_ids:
            return self._channel_ids[name]
        cursor = None
        while True:
            try:
                resp = await self.client.conversations_list(
                    types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor
                )
            except SlackApiError as exc:
                raise SlackOpError(f"looking up #{name}", slack_error(exc)) from exc
            for ch in resp["channels"]:
                self._channel_ids[ch["name"]] = ch["id"]
            if name in self._channel_ids:
                return self._channel_ids[name]
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                raise SlackOpError(f"looking up #{name}", "channel_not_found")

    async def dm(self, user_id: str, message: Message) -> tuple[str, str]:
        """Open the DM with a person (once per process) and post there; returns (channel id, ts)."""
        channel_id = self._dm_channels.get(user_id)
        if channel_id is None:
            try:
                opened = await self.client.conversations_open(users=user_id)
            except SlackApiError as exc:
                raise SlackOpError(f"opening a DM with <@{user_id}>", slack_error(exc)) from exc
            channel_id = self._dm_channels[user_id] = str(opened["channel"]["id"])
        return channel_id, await self.post(channel_id, message)

    async def react(self, channel_id: str, ts: str, name: str) -> None:
        """Add the bot's reaction; already there is fine."""
        try:
            await self.client.reactions_add(channel=channel_id, timestamp=ts, name=name)
        except SlackApiError as exc:
            if slack_error(exc) != "already_reacted":
                raise SlackOpError(f"reacting :{name}:", slack_error(exc)) from exc

    async def unreact(self, channel_id: str, ts: str, name: str) -> None:
        """Remove the bot's reaction; already gone is fine."""
        try:
            await self.client.reactions_remove(channel=channel_id, timestamp=ts, name=name)
        except SlackApiError as exc:
            if slack_error(exc) not in ("no_reaction", "message_not_found"):
                raise SlackOpError(f"removing :{name}:", slack_error(exc)) from exc

    def local_permalink(self, channel_id: str, ts: str, thread_ts: str | None = None) -> str | None:
        """The link Slack would give, built from the workspace URL; None until that URL is known."""
        if not self._workspace_url:
            return None
        link = f"{self._workspace_url.rstrip('/')}/archives/{channel_id}/p{ts.replace('.', '')}"
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel_id}"
        return link

    async def permalink(self, channel_id: str, ts: str, thread_ts: str | None = None) -> str | None:
        """A link to one message: built locally once auth.test told the workspace URL (asked once);
        chat.getPermalink only when that fails. None if Slack will not give one."""
        if self._workspace_url is None:
            try:
                self._workspace_url = str((await self.client.auth_test())["url"])
            except (SlackApiError, KeyError) as exc:
                self._workspace_url = ""
                log.warning("auth.test gave no workspace URL: %s", exc)
        link = self.local_permalink(channel_id, ts, thread_ts)
        if link:
            return link
        try:
            resp = await self.client.chat_getPermalink(channel=channel_id, message_ts=ts)
        except SlackApiError as exc:
            log.warning("no permalink for %s/%s: %s", channel_id, ts, slack_error(exc))
            return None
        return str(resp["permalink"])

    async def fetch_message(self, channel_id: str, ts: str) -> FetchedMessage | None:
        """A message by ts: from the channel history, or from its thread when it is a reply."""
        try:
            resp = await self.client.conversations_history(
                channel=channel_id, latest=ts, oldest=ts, inclusive=True, limit=1
            )
            found = [m for m in resp.get("messages", []) if m.get("ts") == ts]
            if not found:
                resp = await self.client.conversations_replies(channel=channel_id, ts=ts, limit=200)
                found = [m for m in resp.get("messages", []) if m.get("ts") == ts]
        except SlackApiError as exc:
            if slack_error(exc) in ("thread_not_found", "message_not_found"):
                return None
            raise SlackOpError("reading the message", slack_error(exc)) from exc
        if not found:
            return None
        m = found[0]
        return FetchedMessage(
            ts=ts,
            user_id=m.get("user") or m.get("bot_id"),
            text=m.get("text") or "",
            thread_ts=m.get("thread_ts"),
        )

    async def upload_text(self, channel_id: str, filename: str, title: str, content: str) -> None:
        """Share a text file in a channel (files.getUploadURLExternal + files.completeUploadExternal)."""
        try:
            await self.client.files_upload_v2(
                channel=channel_id, filename=filename, title=title, content=content
            )
        except SlackApiError as exc:
            raise SlackOpError("uploading the file", slack_error(exc)) from exc
