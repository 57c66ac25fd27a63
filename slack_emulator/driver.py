"""SlackDriver: plays Slack towards the bot, sending signed commands, events and interactions."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from typing import Any, Self
from urllib.parse import urlencode

import aiohttp

from slack_emulator import browser, payloads
from slack_emulator.api_views_files import apply_submission, view_dict
from slack_emulator.models import Channel, Message
from slack_emulator.render import buttons, checkboxes
from slack_emulator.results import DriverResult, SlackDriverError, ViewAnswer, maybe_json
from slack_emulator.server import SlackEmulator

__all__ = ["DriverResult", "SlackDriver", "SlackDriverError", "ViewAnswer"]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class SlackDriver:
    """Sends what Slack would send to the bot's request URL, signed with the signing secret, on behalf
    of one workspace (`team`; None is the emulator's default workspace)."""

    def __init__(
        self, emu: SlackEmulator, app_url: str, signing_secret: str, team: str | None = None
    ) -> None:
        self.emu = emu
        self.ws = emu.workspace(team) if team else emu.state
        self.app_url = app_url
        self.signing_secret = signing_secret
        self.last: DriverResult | None = None
        self._session: aiohttp.ClientSession | None = None
        self._event_ids = itertools.count(1)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # transport

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Slack's signature headers for a body (timestamp defaults to the real time now)."""
        ts = int(time.time()) if timestamp is None else timestamp
        base = b"v0:" + str(ts).encode() + b":" + body
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}

    async def post_raw(
        self, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> DriverResult:
        """POST a body, signed unless `headers` supply their own signature headers."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        sent = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **self.sign(body),
            **(headers or {}),
        }
        started = time.monotonic()
        async with self._session.post(self.app_url, data=body, headers=sent) as resp:
            text = await resp.text()
        result = DriverResult(resp.status, text, maybe_json(text), time.monotonic() - started)
        self.last = result
        return result

    async def _form(self, fields: dict[str, str]) -> DriverResult:
        return await self.post_raw(urlencode(fields).encode(), FORM)

    def _check(self, result: DriverResult, what: str) -> DriverResult:
        if not result.ok:
            raise SlackDriverError(f"{what}: the bot answered HTTP {result.status}: {result.body[:300]}")
        return result

    @property
    def team(self) -> str:
        """The team id of the workspace this driver plays."""
        return self.ws.team_id

    # installing and uninstalling

    async def install(self, install_url: str, user: str | None = None) -> DriverResult:
        """Install the app into this workspace as `user` (default: its first person) the way a browser
        does: the bot's install page, the emulator's authorize page, then the bot's redirect_uri."""
        result = await browser.install(self.emu.authorize_url, install_url, self.team, user)
        self.last = result
        return result

    async def uninstall(self) -> None:
        """Remove the app from this workspace (its tokens are revoked) and send the bot, as Slack does,
        the `tokens_revoked` and `app_uninstalled` events."""
        self.emu.uninstall(self.team)
        revoked = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [self.ws.bot_user_id]}}
        self._check(await self.send_event(revoked), "tokens_revoked event")
        self._check(await self.send_event({"type": "app_uninstalled"}), "app_uninstalled event")

    # slash commands and events

    async def command(
        self, user_id: str, channel_id: str, text: str, command: str = "/incident"
    ) -> DriverResult:
        """Run a slash command; a non-empty ack body is shown to the user (or the channel, if in_channel)."""
        ws = self.ws
        ch = self._channel(channel_id)
        response_url = ws.response_url(user_id, ch.id)
        trigger_id = ws.issue_trigger(user_id)
        ws.record("command", ch.id, user_id, f"{command} {text}".strip(), to=user_id)
        result = await self._form(
            payloads.command_form(ws, user_id, ch, command, text, response_url, trigger_id)
        )
        result.trigger_id, result.response_url = trigger_id, response_url
        if result.ok and result.body.strip():
            ack = result.json if isinstance(result.json, dict) else {"text": result.body}
            if ack.get("response_type") == "in_channel":
                ws.add_message(ch, ws.bot_user_id, ack.get("text", ""), ack.get("blocks"))
            else:
                ws.add_ephemeral(user_id, ch.id, ack.get("text", ""), ack.get("blocks"), "ack")
        return result

    async def send_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> DriverResult:
        """Send one Events API callback as is; result.event_id lets a test send the same one again."""
        event_id = event_id or f"Ev{next(self._event_ids):04d}{secrets.token_hex(4).upper()}"
        envelope = payloads.event_envelope(event, event_id, int(self.ws.now()), self.ws)
        headers = {}
        if retry_num is not None:
            headers = {
                "X-Slack-Retry-Num": str(retry_num),
                "X-Slack-Retry-Reason": retry_reason or "http_timeout",
            }
        result = await self.post_raw(json.dumps(envelope).encode(), JSON, headers)
        result.event_id = event_id
        return result

    async def say(self, user_id: str, channel_id: str, text: str, thread_ts: str | None = None) -> str:
        """Post as a user (a reply when thread_ts is given) and send the `message` event; returns the ts."""
        ws = self.ws
        ch = self._channel(channel_id)
        ws.require_user(user_id)
        self._require_access(user_id, ch)
        if thread_ts:
            parent = self._message(ch, thread_ts)
            thread_ts = parent.thread_ts if parent.is_reply else parent.ts
        msg = ws.add_message(ch, user_id, text, thread_ts=thread_ts)
        event = payloads.message_event(ws, ch, ws.message_dict(msg))
        event["client_msg_id"] = secrets.token_hex(16)
        await self._deliver(ch, event, "message event")
        return msg.ts

    async def react(self, user_id: str, channel_id: str, ts: str, name: str) -> None:
        """Add a user's reaction and send `reaction_added`."""
        ch, msg = self._located(channel_id, ts)
        self._require_access(user_id, ch)
        users = msg.reactions.setdefault(name, [])
        if user_id in users:
            raise ValueError(f"{user_id} already reacted :{name}: to {ts}")
        users.append(user_id)
        self.ws.record("reaction", ch.id, user_id, f":{name}:", None, ts)
        await self._reaction_event("reaction_added", user_id, ch, msg, name)

    async def unreact(self, user_id: str, channel_id: str, ts: str, name: str) -> None:
        """Remove a user's reaction and send `reaction_removed`."""
        ch, msg = self._located(channel_id, ts)
        if user_id not in msg.reactions.get(name, []):
            raise ValueError(f"{user_id} has no :{name}: reaction on {ts}")
        msg.reactions[name].remove(user_id)
        if not msg.reactions[name]:
            del msg.reactions[name]
        self.ws.record("unreaction", ch.id, user_id, f":{name}:", None, ts)
        await self._reaction_event("reaction_removed", user_id, ch, msg, name)

    async def join(self, user_id: str, channel_id: str, inviter: str | None = None) -> DriverResult | None:
        """`user_id` joins a channel (invited by `inviter`: a private one takes an invitation) and the bot
        gets `member_joined_channel`, if it is in the channel. Slack sends the event for the bot's own
        invitations too: for someone already a member (invited by the bot), only the event is sent.
        Returns the delivery (its event_id lets a test send it again), None when Slack sends nothing."""
        ws = self.ws
        ch = self._channel(channel_id)
        ws.require_user(user_id)
        if not ch.has_member(user_id):
            if ch.is_private and not (inviter and ch.has_member(inviter)):
                raise ValueError(f"{user_id} cannot join the private channel {ch.label} uninvited")
            ch.members.append(user_id)
            ws.record("join", ch.id, user_id, f"<@{user_id}> joined")
        if ch.is_private and not ch.has_member(ws.bot_user_id):
            return None
        event = payloads.member_joined_event(ws, ch, user_id, inviter)
        return self._check(await self.send_event(event), "member_joined_channel event")

    def _require_access(self, user_id: str, ch: Channel) -> None:
        """Only members see (and so post or react in) a private channel."""
        if ch.is_private and not ch.has_member(user_id):
            raise ValueError(f"{user_id} is not in the private channel {ch.label}")

    async def _deliver(self, ch: Channel, event: dict[str, Any], what: str) -> None:
        """Send a channel's event; Slack sends a private channel's events only to apps in it."""
        if not ch.is_private or ch.has_member(self.ws.bot_user_id):
            self._check(await self.send_event(event), what)

    async def _reaction_event(self, kind: str, user_id: str, ch: Channel, msg: Message, name: str) -> None:
        event = {
            "type": kind,
            "user": user_id,
            "reaction": name,
            "item_user": msg.user,
            "item": {"type": "message", "channel": ch.id, "ts": msg.ts},
            "event_ts": self.ws.next_ts(),
        }
        await self._deliver(ch, event, f"{kind} event")

    async def edit(self, channel_id: str, ts: str, new_text: str) -> None:
        """Edit a message as its author and send `message_changed`."""
        ws = self.ws
        ch, msg = self._located(channel_id, ts)
        previous = ws.message_dict(msg)
        event_ts = ws.next_ts()
        msg.text, msg.blocks, msg.edited = new_text, [], {"user": msg.user, "ts": event_ts}
        ws.record("update", ch.id, msg.user, new_text, None, ts)
        event = {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "channel": ch.id,
            "ts": event_ts,
            "event_ts": event_ts,
            "channel_type": payloads.channel_type(ch),
            "message": ws.message_dict(msg),
            "previous_message": previous,
        }
        await self._deliver(ch, event, "message_changed event")

    async def delete(self, channel_id: str, ts: str) -> None:
        """Delete a message (a thread parent leaves a tombstone, as in Slack) and send `message_deleted`."""
        ws = self.ws
        ch, msg = self._located(channel_id, ts)
        previous = ws.message_dict(msg)
        if not msg.is_reply and ch.replies(ts):
            msg.subtype, msg.text, msg.blocks, msg.user, msg.bot_id = (
                "tombstone",
                "This message was deleted.",
                [],
                "USLACKBOT",
                None,
            )
        else:
            ch.messages.remove(msg)
            ch.pins.pop(ts, None)
        ws.record("update", ch.id, previous["user"], "(deleted a message)", None, ts)
        event_ts = ws.next_ts()
        event = {
            "type": "message",
            "subtype": "message_deleted",
            "hidden": True,
            "channel": ch.id,
            "ts": event_ts,
            "event_ts": event_ts,
            "deleted_ts": ts,
            "channel_type": payloads.channel_type(ch),
            "previous_message": previous,
        }
        await self._deliver(ch, event, "message_deleted event")

    # interactions

    async def click(
        self, user_id: str, channel_id: str, message_ts: str, action_id: str, value: str | None = None
    ) -> DriverResult:
        """Click a button on a message or an ephemeral the user sees; `value` picks among same-id buttons."""
        ws = self.ws
        ch, message, blocks, ephemeral = self._visible(user_id, channel_id, message_ts)
        candidates = [b for b in buttons(blocks) if b.action_id == action_id and value in (None, b.value)]
        if not candidates:
            shown = [(b.action_id, b.value) for b in buttons(blocks)]
            raise ValueError(f"no button {action_id!r} (value {value!r}) on {message_ts}; buttons: {shown}")
        response_url = ws.response_url(user_id, ch.id, message_ts, is_ephemeral=ephemeral)
        trigger_id = ws.issue_trigger(user_id)
        ws.record("click", ch.id, user_id, f"clicked [{candidates[0].text}]", None, message_ts)
        payload = payloads.block_actions(
            ws, user_id, ch, message, candidates[0], response_url, trigger_id, ws.next_ts(), ephemeral
        )
        result = await self._form({"payload": json.dumps(payload)})
        result.trigger_id, result.response_url = trigger_id, response_url
        return result

    async def check(
        self, user_id: str, channel_id: str, message_ts: str, action_id: str, ticked: bool = True
    ) -> DriverResult:
        """Tick (or untick) the first option of a checkboxes element; the others keep the state the
        message shows, as Slack's client sends them."""
        ws = self.ws
        ch, message, blocks, ephemeral = self._visible(user_id, channel_id, message_ts)
        box = next((b for b in checkboxes(blocks) if b.action_id == action_id), None)
        if box is None or not box.options:
            shown = [b.action_id for b in checkboxes(blocks)]
            raise ValueError(f"no checkboxes {action_id!r} on {message_ts}; checkboxes: {shown}")
        first = box.options[0]
        others = [o for o in box.ticked if o.get("value") != first.get("value")]
        selected = [first, *others] if ticked else others
        response_url = ws.response_url(user_id, ch.id, message_ts, is_ephemeral=ephemeral)
        trigger_id = ws.issue_trigger(user_id)
        said = f"{'ticked' if ticked else 'unticked'} {box.block_id}"
        ws.record("click", ch.id, user_id, said, None, message_ts)
        payload = payloads.checkbox_actions(
            ws, user_id, ch, message, box, selected, response_url, trigger_id, ws.next_ts(), ephemeral
        )
        result = await self._form({"payload": json.dumps(payload)})
        result.trigger_id, result.response_url = trigger_id, response_url
        return result

    def _visible(
        self, user_id: str, channel_id: str, message_ts: str
    ) -> tuple[Channel, dict[str, Any], list[dict[str, Any]], bool]:
        """A message (or an ephemeral) `user_id` sees: its channel, JSON, blocks, whether ephemeral."""
        ws = self.ws
        ch = self._channel(channel_id)
        found = ch.find(message_ts)
        if found is not None:
            return ch, ws.message_dict(found), found.blocks or [], False
        seen = [e for e in ws.ephemeral_messages if (e.ts, e.user, e.channel) == (message_ts, user_id, ch.id)]
        eph = seen[0] if seen else None
        if eph is None:
            raise ValueError(f"no message {message_ts} in {ch.label} that {user_id} can see")
        return ch, {"type": "message", "ts": message_ts, "text": eph.text}, eph.blocks or [], True

    async def submit_view(
        self, user_id: str, view_id: str, values: dict[str, Any], *, enforce_required: bool = True
    ) -> ViewAnswer:
        """Submit an open modal with {block_id: {action_id: value}} (or {block_id: value}).

        Returns the bot's JSON answer ({} when it acked with no body). Empty required inputs raise
        ValueError unless enforce_required=False, since Slack's client would not let the user submit.
        """
        ws = self.ws
        v = ws.views.get(view_id)
        if v is None or v.closed or v.user != user_id:
            raise ValueError(f"view {view_id} is not open for {user_id}")
        view = view_dict(ws, v)
        blocks = v.view.get("blocks", [])
        view["state"] = {"values": payloads.state_values(blocks, values, enforce_required=enforce_required)}
        trigger_id = ws.issue_trigger(user_id)
        title = (v.view.get("title") or {}).get("text", view_id)
        ws.record("submit", "", user_id, f"submitted {title}", to=user_id)
        payload = payloads.view_submission(ws, user_id, view, trigger_id)
        result = self._check(await self._form({"payload": json.dumps(payload)}), "view_submission")
        answer = ViewAnswer(result.json if isinstance(result.json, dict) else {})
        answer.status, answer.body = result.status, result.body
        apply_submission(self.ws, v, answer)
        return answer

    # lookups

    def _channel(self, channel_id: str) -> Channel:
        ch = self.ws.channel(channel_id)
        if ch is None:
            raise ValueError(f"no channel {channel_id} in the emulator")
        return ch

    def _message(self, ch: Channel, ts: str) -> Message:
        msg = ch.find(ts)
        if msg is None:
            raise ValueError(f"no message {ts} in {ch.label}")
        return msg

    def _located(self, channel_id: str, ts: str) -> tuple[Channel, Message]:
        ch = self._channel(channel_id)
        return ch, self._message(ch, ts)
