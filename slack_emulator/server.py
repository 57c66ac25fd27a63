"""SlackEmulator: an aiohttp server that answers the Web API like Slack and records every call."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web

from slack_emulator import api
from slack_emulator.api_views_files import view_dict
from slack_emulator.apibase import JSON_PARAMS, ApiError
from slack_emulator.blockkit import block_problems
from slack_emulator.models import BOT_USER_ID, Channel, Ephemeral, LogEntry, Message, ResponseTarget
from slack_emulator.state import Workspace

log = logging.getLogger(__name__)

RESPONSE_URL_USES = 5
_SERVER_ERRORS = {
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "request_timeout",
}


@dataclass
class Call:
    """One Web API request as the emulator received and answered it."""

    method: str
    params: dict[str, Any]
    http_status: int
    response: dict[str, Any]
    at: float


@dataclass
class Fault:
    """An injected failure: for the next `times` calls of a method, or every call until `until`
    (the emulator's clock); `after_effect` carries the call out first and loses its answer."""

    times: int
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    until: float | None = None
    after_effect: bool = False


class SlackEmulator:
    """A local Slack: the Web API under base_url, response_url and upload endpoints under url."""

    def __init__(self, bot_token: str = "xoxb-emulator", now: Callable[[], float] = time.time) -> None:
        self.bot_token = bot_token
        self.state = Workspace(now=now)
        self.calls: list[Call] = []
        self.errors: list[BaseException] = []
        self.dropped: list[str] = []  # methods whose caller vanished before they were carried out
        self.url = ""
        self.base_url = ""
        self._faults: dict[str, list[Fault]] = {}
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
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound}/"
        self.base_url = self.url + "api/"
        self.state.server_url = self.url
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

    # the workspace

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
        self.state.trigger_ttl = seconds

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
        return [self.state.message_dict(m) for m in self._channel(channel).messages]

    def dms(self, user_id: str) -> list[dict[str, Any]]:
        """Messages the bot sent in its DM with a user, as Slack's JSON."""
        ch = next((c for c in self.state.channels.values() if c.is_im and c.user == user_id), None)
        return [self.state.message_dict(m) for m in ch.messages if m.user == BOT_USER_ID] if ch else []

    def pins(self, channel: str) -> list[dict[str, Any]]:
        """Pinned messages in a channel, in pinning order, as Slack's JSON."""
        ch = self._channel(channel)
        return [self.state.message_dict(m) for ts in ch.pins if (m := ch.find(ts)) is not None]

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
            for e in self.state.ephemeral_messages
            if e.user == user_id
        ]

    def view(self, view_id: str) -> dict[str, Any] | None:
        """A modal (open or closed) as Slack's view JSON."""
        v = self.state.views.get(view_id)
        return view_dict(v) if v else None

    def open_views(self, user_id: str) -> list[dict[str, Any]]:
        """The user's open modal stack, root first, as Slack's view JSON."""
        return [view_dict(v) for v in self.state.open_views(user_id)]

    def _channel(self, channel: str) -> Channel:
        ch = self.state.channel(channel)
        if ch is None:
            raise KeyError(f"no channel {channel}")
        return ch

    def file_content(self, file_id: str) -> bytes:
        """The bytes uploaded for a file (KeyError if unknown, ValueError if nothing was uploaded)."""
        content = self.state.files[file_id].content
        if content is None:
            raise ValueError(f"nothing was uploaded for {file_id}")
        return content

    @property
    def log(self) -> list[LogEntry]:
        """The readable activity log."""
        return self.state.log

    @property
    def responses(self) -> list[dict[str, Any]]:
        """Everything POSTed to response_urls."""
        return self.state.responses

    def transcript(self) -> str:
        """The activity log as text."""
        return "\n".join(entry.format() for entry in self.state.log)

    # calls and faults

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of one method, oldest first."""
        return [c for c in self.calls if c.method == method]

    def reset_calls(self) -> None:
        """Forget recorded calls (state is kept)."""
        self.calls.clear()

    def inject(
        self,
        method: str,
        *,
        times: int = 1,
        status: int | None = None,
        retry_after: int | None = None,
        error: str | None = None,
        seconds: float | None = None,
        after_effect: bool = False,
    ) -> None:
        """Fail the next `times` calls of `method` (or every call for the next `seconds` of the
        emulator's clock): 429 with Retry-After, a 5xx, or HTTP 200 with `error`. With
        `after_effect` the call takes effect and only its answer is the failure (Slack did it,
        the answer was lost)."""
        if status is None and error is None:
            raise ValueError("inject needs status or error")
        headers: dict[str, str] = {}
        if status == 429:
            headers["Retry-After"] = str(retry_after if retry_after is not None else 1)
            body = {"ok": False, "error": error or "ratelimited"}
        elif status is not None:
            body = {"ok": False, "error": error or _SERVER_ERRORS.get(status, "internal_error")}
        else:
            body = {"ok": False, "error": error}
        until = self.state.now() + seconds if seconds is not None else None
        self._faults.setdefault(method, []).append(
            Fault(times, status or 200, body, headers, until, after_effect)
        )

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Poll until predicate() is truthy and return its value; TimeoutError after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (result := predicate()):
            if loop.time() >= deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            await asyncio.sleep(0.01)
        return result

    def _fault(self, method: str) -> Fault | None:
        queue = self._faults.get(method)
        while queue:
            fault = queue[0]
            if fault.until is not None:
                if self.state.now() < fault.until:
                    return fault
                queue.pop(0)  # the outage is over
                continue
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault
        return None

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
        params: dict[str, Any] = {}
        headers: dict[str, str] = {}
        try:
            params, token = await _read_params(request)
            status, body, headers = self._answer(method, params, token)
        except ApiError as exc:
            status, body = 200, exc.body()
        except Exception as exc:  # an emulator bug: answer 500 and keep it for the test to see
            log.exception("emulator failed on %s", method)
            self.errors.append(exc)
            status, body = 500, {"ok": False, "error": "emulator_internal_error", "detail": repr(exc)}
        self.calls.append(Call(method, params, status, body, self.state.now()))
        return web.json_response(body, status=status, headers=headers)

    def _answer(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict, dict[str, str]]:
        if method not in self._methods:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token != self.bot_token:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        fault = self._fault(method)
        if fault is not None:
            if fault.after_effect:
                api.call(self.state, method, params, self._methods)
            return fault.status, dict(fault.body), dict(fault.headers)
        return 200, api.call(self.state, method, params, self._methods), {}

    async def _upload(self, request: web.Request) -> web.Response:
        record = self.state.files.get(request.match_info["file_id"])
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
        record = self.state.files.get(request.match_info["file_id"])
        if record is None or record.content is None:
            return web.Response(status=404, text="file_not_found")
        return web.Response(body=record.content, content_type="application/octet-stream")

    async def _respond(self, request: web.Request) -> web.Response:
        target = self.state.response_targets.get(request.match_info["key"])
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
        self.state.responses.append(
            {
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
        _apply_response(self.state, target, body)
        return web.json_response({"ok": True})


def _apply_response(ws: Workspace, target: ResponseTarget, body: dict[str, Any]) -> None:
    """What a response_url post does to the workspace: replace, delete, or add a message."""
    text, blocks = body.get("text", ""), body.get("blocks")
    source: Message | Ephemeral | None = None
    if target.message_ts:
        if target.is_ephemeral:
            source = next(
                (e for e in ws.ephemeral_messages if e.ts == target.message_ts and e.user == target.user),
                None,
            )
        else:
            source = ws.find_message(target.channel, target.message_ts)
    if source is not None and body.get("delete_original"):
        if isinstance(source, Ephemeral):
            ws.ephemeral_messages.remove(source)
        else:
            ws.channels[target.channel].messages.remove(source)
        ws.record(
            "update", target.channel, BOT_USER_ID, "(deleted the original message)", None, target.message_ts
        )
        return
    if source is not None and body.get("replace_original"):
        source.text = text
        source.blocks = list(blocks or [])
        ws.record("update", target.channel, BOT_USER_ID, text, blocks, source.ts)
        return
    if body.get("response_type") == "in_channel":
        ch = ws.channels[target.channel]
        ws.add_message(ch, BOT_USER_ID, text, blocks, thread_ts=body.get("thread_ts"))
    else:
        ws.add_ephemeral(target.user, target.channel, text, blocks, "response_url")


async def _read_params(request: web.Request) -> tuple[dict[str, Any], str | None]:
    """Arguments from the query string and a form or JSON body, JSON-valued ones decoded; plus the token."""
    params: dict[str, Any] = dict(request.query)
    auth = request.headers.get("Authorization", "")
    token = auth[7:].strip() if auth.startswith("Bearer ") else None
    if request.body_exists:
        if request.content_type == "application/json":
            try:
                body = json.loads(await request.read() or b"{}")
            except ValueError:
                raise ApiError("invalid_json") from None
            if not isinstance(body, dict):
                raise ApiError("json_not_object")
            body.pop("token", None)  # Slack does not read tokens from JSON bodies
            params.update(body)
        else:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    form_token = params.pop("token", None)
    token = token or form_token
    for name in JSON_PARAMS & params.keys():
        if isinstance(params[name], str):
            try:
                params[name] = json.loads(params[name])
            except ValueError:
                pass  # left as text: the method answers with its own format error
    return params, token
