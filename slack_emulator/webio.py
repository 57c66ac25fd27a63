"""What the emulator's HTTP endpoints share: reading a Web API request, and applying a response_url post."""

from __future__ import annotations

import base64
import binascii
import html
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp import web

from slack_emulator.apibase import JSON_PARAMS, ApiError
from slack_emulator.models import Ephemeral, Message, ResponseTarget
from slack_emulator.state import Workspace


@dataclass
class Credentials:
    """Who a Web API request says it is: a bearer token, or an app's client id and secret (Basic auth)."""

    token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None


def apply_response(ws: Workspace, target: ResponseTarget, body: dict[str, Any]) -> None:
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
        deleted = "(deleted the original message)"
        ws.record("update", target.channel, ws.bot_user_id, deleted, None, target.message_ts)
        return
    if source is not None and body.get("replace_original"):
        source.text = text
        source.blocks = list(blocks or [])
        ws.record("update", target.channel, ws.bot_user_id, text, blocks, source.ts)
        return
    if body.get("response_type") == "in_channel":
        ch = ws.channels[target.channel]
        ws.add_message(ch, ws.bot_user_id, text, blocks, thread_ts=body.get("thread_ts"))
    else:
        ws.add_ephemeral(target.user, target.channel, text, blocks, "response_url")


def _authorization(header: str) -> Credentials:
    if header.startswith("Bearer "):
        return Credentials(token=header[7:].strip())
    if header.startswith("Basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return Credentials()
        return Credentials(client_id=client_id, client_secret=secret)
    return Credentials()


async def read_params(request: web.Request) -> tuple[dict[str, Any], Credentials]:
    """Arguments from the query string and a form or JSON body, JSON-valued ones decoded; plus who asks."""
    params: dict[str, Any] = dict(request.query)
    credentials = _authorization(request.headers.get("Authorization", ""))
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
    credentials.token = credentials.token or form_token
    for name in JSON_PARAMS & params.keys():
        if isinstance(params[name], str):
            try:
                params[name] = json.loads(params[name])
            except ValueError:
                pass  # left as text: the method answers with its own format error
    return params, credentials


def with_query(url: str, **fields: str | None) -> str:
    """The url with these query fields set (replacing any already there); None values are left out."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in fields]
    added = [(k, v) for k, v in fields.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(kept + added)))


def html_page(status: int, title: str, text: str, body: str = "") -> web.Response:
    """A plain HTML page: an escaped title and sentence, then `body` (markup the caller escaped)."""
    page = (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>\n"
        f"<body><h1>{html.escape(title)}</h1>\n<p>{html.escape(text)}</p>\n{body}</body></html>\n"
    )
    return web.Response(status=status, text=page, content_type="text/html")
