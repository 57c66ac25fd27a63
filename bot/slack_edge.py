"""`POST /slack/events`: the signature and its timestamp are checked on the raw bytes before anything
reads the body; Bolt is handed only signed requests whose body is UTF-8 form data or a JSON object."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body

from runtime.metrics import Metrics

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
# Slack's rule against replays: a signature older (or newer) than this is refused.
MAX_AGE_SECONDS = 300


def handler(
    app: Callable[[], AsyncApp], metrics: Callable[[], Metrics], signing_secret: str | None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The route's handler; `app` and `metrics` are asked per request (they exist once started).
    Without a signing secret Bolt's own verification is off as well, and so is this one."""
    key = signing_secret.encode() if signing_secret else None

    async def handle(request: web.Request) -> web.Response:
        started = time.perf_counter()
        body = await request.read()
        if key is not None and not _signed(key, body, request.headers):
            log.info("refused a Slack request from %s: missing, wrong or stale signature", request.remote)
            return web.json_response({"error": "invalid request"}, status=401)
        bolt_request = _bolt_request(request, body)
        if isinstance(bolt_request, str):
            log.warning("refused a signed Slack request from %s: %s", request.remote, bolt_request)
            return web.json_response({"error": bolt_request}, status=400)
        bolt_response = await app().async_dispatch(bolt_request)
        metrics().request_seconds.labels(_kind(bolt_request.body)).observe(time.perf_counter() - started)
        return await to_aiohttp_response(bolt_response)

    return handle


def _signed(key: bytes, body: bytes, headers: Mapping[str, str]) -> bool:
    """Signed with our secret within the last five minutes. On the bytes as sent: slack_sdk's
    verifier decodes the body first, which fails (a 500) on bytes that are not UTF-8."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    if abs(time.time() - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    digest = hmac.new(key, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={digest}".encode(), signature.encode())


def _bolt_request(request: web.Request, body: bytes) -> AsyncBoltRequest | str:
    """The request for Bolt, or why its body cannot be one."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    try:
        content_type = request.headers.get("Content-Type", "").split(";")[0] or None
        parsed: Any = parse_body(text, content_type)
    except ValueError:  # JSON, the body itself or a form's `payload`
        return "the body is not valid form data or JSON"
    if not isinstance(parsed, dict):
        return "the body is not a JSON object"
    try:
        return AsyncBoltRequest(body=text, query=request.query_string, headers=dict(request.headers))
    except (TypeError, AttributeError, KeyError, IndexError, ValueError):
        # A JSON object whose fields have the wrong shapes (team, authorizations, …).
        return "the body does not have the shape of a Slack request"


def _kind(body: dict[str, Any]) -> str:
    """command, event, block_actions, view_submission, … for the latency histogram."""
    if "command" in body:
        return "command"
    kind = body.get("type")
    if kind == "event_callback":
        return "event"
    return str(kind or "other")
