"""What keeps the web view's pages inert: the Markdown renderer for the postmortem draft (no images,
only http(s) links, opened without a referrer) and the security headers on every /ui/ response."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web
from markdown_it import MarkdownIt
from markdown_it.token import Token

from domain.urls import safe_url

CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}
LINK_REL = "noopener noreferrer nofollow"


def renderer() -> MarkdownIt:
    """CommonMark with tables, raw HTML off, images off, links only to http(s) addresses."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")
    md.validateLink = _http_only  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    return md


def _http_only(url: str) -> bool:
    return safe_url(url) is not None


def _link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("rel", LINK_REL)
    return str(self.renderToken(tokens, idx, options, env))


async def secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response under /ui (pages, downloads, static files, redirects, errors)."""
    if request.path == "/ui" or request.path.startswith("/ui/"):
        response.headers.update(HEADERS)


def protect(app: web.Application) -> None:
    """Send the security headers with every /ui/ response of `app`, however it was made."""
    app.on_response_prepare.append(secure_headers)
