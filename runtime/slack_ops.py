"""The Slack Web API operations the incident domain needs, with Slack's errors handled."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from domain.urls import safe_url
from messages.blocks import Message
from runtime.slack_errors import SlackOpError, op_error, slack_error
from runtime.usergroups import UserGroups

log = logging.getLogger(__name__)
# conversations.invite errors about one of the people, not the call: the others can still be invited.
PER_PERSON = frozenset(
    {
        "user_not_found",
        "cant_invite",
        "cant_invite_self",
        "user_is_restricted",
        "user_is_ultra_restricted",
        "ura_max_channels",
        "user_team_not_in_channel",
    }
)


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


class SlackOps(UserGroups):
    """Thin domain-shaped wrapper over one AsyncWebClient (retries live in the client)."""

    def __init__(self, client: AsyncWebClient) -> None:
        super().__init__(client)
        self._channel_ids: dict[str, str] = {}
        self._workspace_url: str | None = None
        self._dm_channels: dict[str, str] = {}
        self._bot_user_id: str | None = None

    async def create_channel(self, name: str, private: bool = False) -> Channel:
        """Create a channel with exactly this name (`name_taken` is a SlackOpError like any)."""
        try:
            resp = await self.client.conversations_create(name=name, is_private=private)
        except SlackApiError as exc:
            raise op_error("creating the incident channel", exc) from exc
        ch = resp["channel"]
        return Channel(id=ch["id"], name=ch["name"])

    async def bot_user_id(self) -> str:
        """The bot's own user id (auth.test, asked once per process)."""
        if self._bot_user_id is None:
            try:
                self._bot_user_id = str((await self.client.auth_test())["user_id"])
            except SlackApiError as exc:
                raise op_error("asking Slack who the bot is", exc) from exc
        return self._bot_user_id

    async def user_by_email(self, email: str) -> str | None:
        """The member with this e-mail (users.lookupByEmail); None when there is none."""
        try:
            resp = await self.client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            if slack_error(exc) == "users_not_found":
                return None
            raise op_error(f"looking up {email}", exc) from exc
        return str(resp["user"]["id"])

    async def find_own_channel(self, name: str, private: bool = False) -> Channel | None:
        """The unarchived channel called `name` if this bot created it (to adopt after a lost answer)."""
        bot = await self.bot_user_id()
        async for ch in self._channels("private_channel" if private else "public_channel", name):
            if ch.get("name") == name:
                return Channel(ch["id"], name) if ch.get("creator") == bot else None
        return None

    async def respond(self, response_url: str, message: Message, *, replace: bool = False) -> None:
        """Answer the person who asked, through the request's response_url (ephemeral)."""
        hook = AsyncWebhookClient(response_url, session=self.client.session, timeout=15)
        resp = await hook.send(response_type="ephemeral", replace_original=replace, **message.kwargs())
        if resp.status_code >= 400:
            transient = resp.status_code >= 500 or resp.status_code == 429
            raise SlackOpError("answering you", f"HTTP {resp.status_code} {resp.body}", transient=transient)

    async def ephemeral(self, channel_id: str, user_id: str, message: Message) -> None:
        """A message only `user_id` sees, in a channel they are in (chat.postEphemeral)."""
        try:
            await self.client.chat_postEphemeral(channel=channel_id, user=user_id, **message.kwargs())
        except SlackApiError as exc:
            raise op_error(f"posting only for {user_id} in {channel_id}", exc) from exc

    async def open_form(self, trigger_id: str, view: dict[str, Any]) -> None:
        """Open a modal for the person whose click or command carried `trigger_id` (valid 3 s)."""
        await self.client.views_open(trigger_id=trigger_id, view=view)

    async def invite(self, channel_id: str, user_ids: list[str]) -> None:
        """Invite people; being there already, or being the bot, is fine."""
        error = await self._invite(channel_id, user_ids) if user_ids else None
        if error not in (None, "cant_invite_self"):
            raise SlackOpError("inviting to the channel", error)

    async def invite_each(self, channel_id: str, user_ids: list[str]) -> dict[str, str]:
        """Invite people (being there already is fine), one by one when Slack refuses the batch for one
        person's sake: who could not be invited, with Slack's reason."""
        error = await self._invite(channel_id, user_ids) if user_ids else None
        if error is None:
            return {}
        if len(user_ids) == 1:
            return {user_ids[0]: error}
        refused: dict[str, str] = {}
        for user in user_ids:
            if (one := await self._invite(channel_id, [user])) is not None:
                refused[user] = one
        return refused

    async def _invite(self, channel_id: str, user_ids: list[str]) -> str | None:
        """One conversations.invite: the error about one of the people Slack refused it with, if any."""
        try:
            await self.client.conversations_invite(channel=channel_id, users=",".join(user_ids))
        except SlackApiError as exc:
            error = slack_error(exc)
            if error in PER_PERSON:
                return error
            if error != "already_in_channel":
                raise op_error("inviting to the channel", exc) from exc
        return None

    async def channel_members(self, channel_id: str) -> set[str]:
        """Everyone in a channel (conversations.members, page by page)."""
        found: set[str] = set()
        cursor = None
        while True:
            try:
                resp = await self.client.conversations_members(channel=channel_id, limit=200, cursor=cursor)
            except SlackApiError as exc:
                raise op_error("reading who is in the channel", exc) from exc
            found.update(str(u) for u in resp.get("members") or [])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return found

    async def set_topic(self, channel_id: str, topic: str) -> None:
        """Set the channel topic."""
        try:
            await self.client.conversations_setTopic(channel=channel_id, topic=topic)
        except SlackApiError as exc:
            raise op_error("setting the channel topic", exc) from exc

    async def post(self, channel: str, message: Message, *, thread_ts: str | None = None) -> str:
        """Post a message and return its ts."""
        try:
            resp = await self.client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, **message.kwargs()
            )
        except SlackApiError as exc:
            raise op_error(f"posting to {channel}", exc) from exc
        return str(resp["ts"])

    async def update(self, channel: str, ts: str, message: Message) -> None:
        """Replace a message the bot posted."""
        try:
            await self.client.chat_update(channel=channel, ts=ts, **message.kwargs())
        except SlackApiError as exc:
            raise op_error("updating the message", exc) from exc

    async def pin(self, channel_id: str, ts: str) -> None:
        """Pin a message; already pinned is fine."""
        try:
            await self.client.pins_add(channel=channel_id, timestamp=ts)
        except SlackApiError as exc:
            if slack_error(exc) != "already_pinned":
                raise op_error("pinning the message", exc) from exc

    async def bookmark(self, channel_id: str, title: str, url: str) -> str:
        """Add a link to the channel's bookmarks; returns the bookmark's id."""
        try:
            resp = await self.client.bookmarks_add(channel_id=channel_id, title=title, type="link", link=url)
        except SlackApiError as exc:
            raise op_error("adding the bookmark", exc) from exc
        return str((resp.get("bookmark") or {}).get("id") or "")

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
            raise op_error(f"joining {channel}", exc) from exc
        return await self.post(channel_id, message)

    async def channel_id(self, channel: str) -> str:
        """Resolve `#name` to a channel ID (IDs pass through); cached for the process."""
        name = channel.removeprefix("#")
        if not channel.startswith("#") and name[:1] in ("C", "G") and name.isupper():
            return name
        if name in self._channel_ids:
            return self._channel_ids[name]
        async for ch in self._channels("public_channel,private_channel", name):
            self._channel_ids[ch["name"]] = ch["id"]
            if ch["name"] == name:
                return str(ch["id"])
        raise SlackOpError(f"looking up #{name}", "channel_not_found")

    async def archive(self, channel_id: str) -> None:
        """Archive a channel (being archived already is fine)."""
        try:
            await self.client.conversations_archive(channel=channel_id)
        except SlackApiError as exc:
            if exc.response.get("error") != "already_archived":
                raise op_error("archiving the incident channel", exc) from exc

    async def unarchive(self, channel_id: str) -> None:
        """Bring an archived channel back (not being archived is fine)."""
        try:
            await self.client.conversations_unarchive(channel=channel_id)
        except SlackApiError as exc:
            if exc.response.get("error") != "not_archived":
                raise op_error("unarchiving the incident channel", exc) from exc

    async def private_channels_of(self, user_id: str) -> set[str]:
        """The private channels a person is in that the bot is in too (users.conversations)."""
        found: set[str] = set()
        cursor = None
        while True:
            try:
                resp = await self.client.users_conversations(
                    user=user_id, types="private_channel", limit=200, cursor=cursor
                )
            except SlackApiError as exc:
                raise op_error("asking which private channels you are in", exc) from exc
            found.update(ch["id"] for ch in resp["channels"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return found

    async def _channels(self, types: str, looking_for: str) -> AsyncIterator[dict[str, Any]]:
        """Every unarchived channel of these types, page by page (conversations.list)."""
        cursor = None
        while True:
            try:
                resp = await self.client.conversations_list(
                    types=types, exclude_archived=True, limit=200, cursor=cursor
                )
            except SlackApiError as exc:
                raise op_error(f"looking up #{looking_for}", exc) from exc
            for ch in resp["channels"]:
                yield ch
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return

    async def dm(self, user_id: str, message: Message) -> tuple[str, str]:
        """Open the DM with a person (once per process) and post there; returns (channel id, ts)."""
        channel_id = self._dm_channels.get(user_id)
        if channel_id is None:
            try:
                opened = await self.client.conversations_open(users=user_id)
            except SlackApiError as exc:
                raise op_error(f"opening a DM with <@{user_id}>", exc) from exc
            channel_id = self._dm_channels[user_id] = str(opened["channel"]["id"])
        return channel_id, await self.post(channel_id, message)

    async def react(self, channel_id: str, ts: str, name: str) -> None:
        """Add the bot's reaction; already there is fine."""
        try:
            await self.client.reactions_add(channel=channel_id, timestamp=ts, name=name)
        except SlackApiError as exc:
            if slack_error(exc) != "already_reacted":
                raise op_error(f"reacting :{name}:", exc) from exc

    async def unreact(self, channel_id: str, ts: str, name: str) -> None:
        """Remove the bot's reaction; already gone is fine."""
        try:
            await self.client.reactions_remove(channel=channel_id, timestamp=ts, name=name)
        except SlackApiError as exc:
            if slack_error(exc) not in ("no_reaction", "message_not_found"):
                raise op_error(f"removing :{name}:", exc) from exc

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
            return safe_url(link)
        try:
            resp = await self.client.chat_getPermalink(channel=channel_id, message_ts=ts)
        except SlackApiError as exc:
            log.warning("no permalink for %s/%s: %s", channel_id, ts, slack_error(exc))
            return None
        return safe_url(resp.get("permalink"))

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
            raise op_error("reading the message", exc) from exc
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
            raise op_error("uploading the file", exc) from exc
