"""SlackEmulator: an aiohttp server that answers the Web API like Slack and records every call."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web

from slack_emulator import api
from slack_emulator.api_views_files import view_dict
from slack_emulator.apibase import ApiError
from slack_emulator.blockkit import block_problems
from slack_emulator.faults import FaultInjection
from slack_emulator.models import Channel, LogEntry
from slack_emulator.oauth import ACCESS_METHOD, AUTHORIZE_PATH, OAuthProvider
from slack_emulator.openid import AUTHORIZE_PATH as OPENID_AUTHORIZE_PATH
from slack_emulator.openid import TOKEN_METHOD, USERINFO_METHOD, OpenIDProvider
from slack_emulator.state import Workspace
from slack_emulator.webio import Credentials, apply_response, read_params
from slack_emulator.workspaces import MultiWorkspace

log = logging.getLogger(__name__)

RESPONSE_URL_USES = 5


@dataclass
class Call:
    """One Web API request as the emulator received and answered it."""

    method: str
    params: dict[str, Any]
    http_status: int
    response: dict[str, Any]
    at: float
    team: str | None = None  # the workspace that answered (the token's), None when no token was accepted


class SlackEmulator(MultiWorkspace, FaultInjection):
    """A local Slack: the Web API under base_url; response_url, upload, OAuth and OpenID pages under url.

    `state` is the default workspace (T0EMU, installed with bot_token); add_workspace adds more.
    """

    def __init__(
        self,
        bot_token: str = "xoxb-emulator",
        now: Callable[[], float] = time.time,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.state = Workspace(now=now)
        self._init_workspaces(bot_token)
        self.oauth = OAuthProvider(self)
        self.openid = OpenIDProvider(self, self.oauth.apps)
        # Methods the app's credentials or a sign-in token answer, not a workspace's bot token.
        self._app_methods: dict[str, Callable[[dict[str, Any], Credentials], tuple[dict, str | None]]] = {
            ACCESS_METHOD: self.oauth.access,
            TOKEN_METHOD: self.openid.token,
            USERINFO_METHOD: self.openid.user_info,
        }
        if client_id or client_secret:
            self.register_app(client_id or "", client_secret or "")
        self.calls: list[Call] = []
        self.errors: list[BaseException] = []
        self.dropped: list[str] = []  # methods whose caller vanished before they were carried out
        self.url = ""
        self.base_url = ""
        self._faults = {}
        self._holds = {}
        self._methods = api.methods()
        self._runner: web.AppRunner | None = None
        # Seconds every Web API answer waits, to play Slack's own latency (benchmarks).
        self.latency = 0.0

    # lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        """Serve on host:port (0 picks a free port) and set url and base_url."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/respond/{key:.+}", self._respond)
        app.router.add_get("/files/{file_id}/{name}", self._download)
        app.router.add_get(AUTHORIZE_PATH, self.oauth.authorize)
        app.router.add_get(OPENID_AUTHORIZE_PATH, self.openid.authorize)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound}/"
        self.base_url = self.url + "api/"
        for ws in self.workspaces.values():
            ws.server_url = self.url
        return self

    async def stop(self) -> None:
        """Stop serving (state stays readable)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # the default workspace, and records of any workspace by id

    def register_app(self, client_id: str, client_secret: str) -> None:
        """The app's credentials: both authorize pages, oauth.v2.access and openid.connect.token take them."""
        self.oauth.register_app(client_id, client_secret)

    @property
    def authorize_url(self) -> str:
        """Where the app's "Add to Slack" link goes (its authorization_url)."""
        return self.url.rstrip("/") + AUTHORIZE_PATH

    @property
    def openid_authorize_url(self) -> str:
        """Where a "Sign in with Slack" link goes (Slack's /openid/connect/authorize)."""
        return self.url.rstrip("/") + OPENID_AUTHORIZE_PATH

    @property
    def now(self) -> Callable[[], float]:
        """The clock message ts values come from."""
        return self.state.now

    @property
    def trigger_ttl(self) -> float:
        """How many real seconds a trigger_id stays usable (3, as in Slack)."""
        return self.state.trigger_ttl

    @trigger_ttl.setter
    def trigger_ttl(self, seconds: float) -> None:
        for ws in self.workspaces.values():
            ws.trigger_ttl = seconds

    def add_user(self, name: str, user_id: str | None = None, real_name: str | None = None) -> str:
        """Add a workspace member; returns the user id."""
        return self.state.add_user(name, user_id, real_name)

    def add_channel(
        self, name: str, channel_id: str | None = None, members: Any = (), is_private: bool = False
    ) -> str:
        """Add a channel (include "U0BOT" in members for the bot to be in it); returns the channel id."""
        return self.state.add_channel(name, channel_id, members, is_private)

    def add_usergroup(self, handle: str, users: Any, group_id: str | None = None) -> str:
        """Add a user group; returns its S... id."""
        return self.state.add_usergroup(handle, users, group_id)

    def channel(self, id_or_name: str) -> Channel | None:
        """A channel by id, '#name' or 'name'."""
        return self.state.channel(id_or_name)

    def channel_by_name(self, name: str) -> Channel | None:
        """A channel by name."""
        return self.state.channel_by_name(name.removeprefix("#"))

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Every message in a channel (id or name) as Slack's JSON, thread replies included, oldest first."""
        ws, ch = self._channel(channel)
        return [ws.message_dict(m) for m in ch.messages]

    def dms(self, user_id: str) -> list[dict[str, Any]]:
        """Messages the bot sent in its DM with a user, as Slack's JSON."""
        ws = self._owner(user_id)
        ch = next((c for c in ws.channels.values() if c.is_im and c.user == user_id), None)
        return [ws.message_dict(m) for m in ch.messages if m.user == ws.bot_user_id] if ch else []

    def pins(self, channel: str) -> list[dict[str, Any]]:
        """Pinned messages in a channel, in pinning order, as Slack's JSON."""
        ws, ch = self._channel(channel)
        return [ws.message_dict(m) for ts in ch.pins if (m := ch.find(ts)) is not None]

    def ephemerals(self, user_id: str) -> list[dict[str, Any]]:
        """What only this user saw: chat.postEphemeral, ephemeral responses and slash-command acks."""
        return [
            {
                "type": "message",
                "user": e.user,
                "channel": e.channel,
                "ts": e.ts,
                "text": e.text,
                "blocks": e.blocks,
                "source": e.source,
            }
            for e in self._owner(user_id).ephemeral_messages
            if e.user == user_id
        ]

    def view(self, view_id: str) -> dict[str, Any] | None:
        """A modal (open or closed) as Slack's view JSON."""
        ws = self._owner(view_id)
        v = ws.views.get(view_id)
        return view_dict(ws, v) if v else None

    def open_views(self, user_id: str) -> list[dict[str, Any]]:
        """The user's open modal stack, root first, as Slack's view JSON."""
        ws = self._owner(user_id)
        return [view_dict(ws, v) for v in ws.open_views(user_id)]

    def _owner(self, record_id: str) -> Workspace:
        """The workspace holding an id; the default one when none does."""
        try:
            return self.workspace_of(record_id)
        except KeyError:
            return self.state

    def _channel(self, channel: str) -> tuple[Workspace, Channel]:
        """A channel by id in any workspace, or by name in the default one."""
        ch = self.state.channel(channel)
        if ch is not None:
            return self.state, ch
        ws = self._owner(channel)
        if channel not in ws.channels:
            raise KeyError(f"no channel {channel}")
        return ws, ws.channels[channel]

    def file_content(self, file_id: str) -> bytes:
        """The bytes uploaded for a file (KeyError if unknown, ValueError if nothing was uploaded)."""
        content = self._owner(file_id).files[file_id].content
        if content is None:
            raise ValueError(f"nothing was uploaded for {file_id}")
        return content

    @property
    def log(self) -> list[LogEntry]:
        """The readable activity log."""
        return self.state.log

    @property
    def responses(self) -> list[dict[str, Any]]:
        """Everything POSTed to response_urls, in every workspace (each entry names its team)."""
        return self.state.responses

    def transcript(self, team_id: str | None = None) -> str:
        """The activity log of the default workspace (or of team_id's) as text."""
        ws = self.workspace(team_id) if team_id else self.state
        return "\n".join(entry.format() for entry in ws.log)

    # calls and faults

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of one method, oldest first."""
        return [c for c in self.calls if c.method == method]

    def reset_calls(self) -> None:
        """Forget recorded calls (state is kept)."""
        self.calls.clear()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Poll until predicate() is truthy and return its value; TimeoutError after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (result := predicate()):
            if loop.time() >= deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            await asyncio.sleep(0.01)
        return result

    # HTTP

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if self.latency:
            await asyncio.sleep(self.latency)
            if request.transport is None or request.transport.is_closing():
                # The caller went away (killed) while the request was in flight: as on a real
                # network, a request whose connection dropped before it was read does not happen.
                self.dropped.append(method)
                return web.Response(status=499)
        await self._wait_if_held(method)
        params: dict[str, Any] = {}
        headers: dict[str, str] = {}
        team: str | None = None
        try:
            params, who = await read_params(request)
            status, body, headers, team = self._answer(method, params, who)
        except ApiError as exc:
            status, body = 200, exc.body()
        except Exception as exc:  # an emulator bug: answer 500 and keep it for the test to see
            log.exception("emulator failed on %s", method)
            self.errors.append(exc)
            status, body = 500, {"ok": False, "error": "emulator_internal_error", "detail": repr(exc)}
        self.calls.append(Call(method, params, status, body, self.state.now(), team))
        return web.json_response(body, status=status, headers=headers)

    def _answer(
        self, method: str, params: dict[str, Any], who: Credentials
    ) -> tuple[int, dict, dict[str, str], str | None]:
        app_method = self._app_methods.get(method)
        if app_method is not None:
            fault = self._fault(method)
            if fault is not None:
                return fault.status, dict(fault.body), dict(fault.headers), None
            body, team = app_method(params, who)
            return 200, body, {}, team
        if method not in self._methods:
            return 200, {"ok": False, "error": "unknown_method"}, {}, None
        if not who.token:
            return 200, {"ok": False, "error": "not_authed"}, {}, None
        refused = self.openid.refusal(who.token)
        if refused is not None:
            return 200, refused[0], {}, refused[1]
        ws = self.token_workspace(who.token)
        fault = self._fault(method)
        if fault is not None:
            if fault.after_effect:
                api.call(ws, method, params, self._methods)
            return fault.status, dict(fault.body), dict(fault.headers), ws.team_id
        return 200, api.call(ws, method, params, self._methods), {}, ws.team_id

    async def _upload(self, request: web.Request) -> web.Response:
        record = self._owner(request.match_info["file_id"]).files.get(request.match_info["file_id"])
        if record is None:
            return web.Response(status=404, text="file_not_found")
        if request.content_type.startswith("multipart/"):
            data = b""
            async for part in await request.multipart():
                data = await part.read()  # type: ignore[union-attr]
                if getattr(part, "filename", None):
                    break
        else:
            data = await request.read()
        record.content = data
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    async def _download(self, request: web.Request) -> web.Response:
        record = self._owner(request.match_info["file_id"]).files.get(request.match_info["file_id"])
        if record is None or record.content is None:
            return web.Response(status=404, text="file_not_found")
        return web.Response(body=record.content, content_type="application/octet-stream")

    async def _respond(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        ws = self.workspaces.get(key.partition("/")[0], self.state)
        target = ws.response_targets.get(key)
        if target is None:
            return web.json_response({"ok": False, "error": "invalid_url"}, status=404)
        if target.uses >= RESPONSE_URL_USES:
            return web.json_response({"ok": False, "error": "used_url"}, status=404)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid_payload"}, status=400)
        blocks = body.get("blocks")
        if blocks is not None and block_problems(blocks):
            return web.json_response({"ok": False, "error": "invalid_blocks"}, status=400)
        target.uses += 1
        ws.responses.append(
            {
                "team": ws.team_id,
                "key": target.key,
                "user": target.user,
                "channel": target.channel,
                "response_type": body.get("response_type") or "ephemeral",
                "text": body.get("text", ""),
                "blocks": blocks,
                "replace_original": bool(body.get("replace_original")),
                "delete_original": bool(body.get("delete_original")),
            }
        )
        apply_response(ws, target, body)
        return web.json_response({"ok": True})
