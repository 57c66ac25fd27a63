"""Bounded outbound HTTP: the one way the bot fetches a document from a configured URL or calls an
outside API (webhooks, PagerDuty, trackers, Statuspage).

The rule for every request: one total deadline around connecting, sending and the whole answer
(httpx's timeout is per read, so a server sending a byte now and then would never time out), a cap
on the bytes read, http(s) only, and redirects followed by hand to the same host only for a GET and
never for a request with a body. Errors name the host, never the path or query.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import httpx

from domain.redact import redact_urls

# An API's answer (an issue, an incident, an acknowledgement) is small; anything past this is cut.
API_MAX_BYTES = 1_000_000
T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """How long one fetch may take in all (seconds), how many bytes it may read, how many
    same-host redirects it follows."""

    deadline: float = 20.0
    max_bytes: int = 5_000_000
    max_redirects: int = 3


def api_limits(timeout: timedelta) -> Limits:
    """The limits of one call to an outside API: `timeout` in all, a 1 MB answer, no redirects."""
    return Limits(deadline=timeout.total_seconds(), max_bytes=API_MAX_BYTES, max_redirects=0)


class FetchError(Exception):
    """A fetch that failed or was refused; the message is safe to log and store."""


class Redirected(FetchError):
    """A call answered with a redirect, which is never followed: the configured URL is wrong."""


@dataclass(frozen=True)
class Answer:
    """An API's answer: its status, headers and body, the body cut at the cap when `cut`."""

    status: int
    headers: httpx.Headers
    body: bytes
    cut: bool = False

    @property
    def ok(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not JSON or was cut."""
        if self.cut:
            raise ValueError(f"the answer was cut at {len(self.body)} bytes")
        return json.loads(self.body)


async def fetch(http: httpx.AsyncClient, url: str, limits: Limits) -> bytes:
    """The body of GET `url` within `limits`; FetchError otherwise."""
    shown = redact_urls(url)
    return await _bounded(_follow(http, url, shown, limits), shown, limits)


async def send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    content: bytes,
    headers: Mapping[str, str],
    limits: Limits,
) -> Answer:
    """The answer to `method url` with `content`, whatever its status, its body cut at the cap;
    FetchError for a deadline passed, a transport error, an unusable URL or a redirect (Redirected)."""
    shown = redact_urls(url)
    return await _bounded(_send(http, method, url, content, headers, shown, limits), shown, limits)


async def _bounded(work: Awaitable[T], shown: str, limits: Limits) -> T:
    """`work` within the total deadline, every failure a FetchError naming the host only."""
    try:
        async with asyncio.timeout(limits.deadline):
            return await work
    except TimeoutError:
        raise FetchError(f"{shown} did not answer in full within {limits.deadline:g} s") from None
    except httpx.HTTPError as exc:
        detail = redact_urls(str(exc))
        raise FetchError(f"{shown}: {type(exc).__name__}" + (f": {detail}" if detail else "")) from None
    except httpx.InvalidURL as exc:
        raise FetchError(f"{shown}: invalid URL ({redact_urls(str(exc))})") from None


def _checked(url: str, shown: str) -> httpx.URL:
    """`url` parsed, when it is http(s) with a port a socket can take."""
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https"):
        raise FetchError(f"{shown}: only http and https URLs are fetched")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise FetchError(f"{shown}: invalid port {parsed.port}")  # else an OverflowError escapes httpx
    return parsed


async def _send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    content: bytes,
    headers: Mapping[str, str],
    shown: str,
    limits: Limits,
) -> Answer:
    target = _checked(url, shown)
    request = http.build_request(method, target, content=content, headers=dict(headers))
    resp = await http.send(request, stream=True, follow_redirects=False)
    try:
        if resp.is_redirect:
            where = redact_urls(str(target.join(resp.headers.get("location", ""))))
            raise Redirected(f"HTTP {resp.status_code} from {shown}: redirects are not followed (to {where})")
        body, cut = await _read_upto(resp, limits.max_bytes)
        return Answer(resp.status_code, resp.headers, body, cut)
    finally:
        await resp.aclose()  # an answer cut at the cap closes its connection: the rest is never read


async def _follow(http: httpx.AsyncClient, given: str, shown: str, limits: Limits) -> bytes:
    origin = url = _checked(given, shown)
    for _ in range(limits.max_redirects + 1):
        async with http.stream("GET", url, follow_redirects=False) as resp:
            if resp.is_redirect:
                target = url.join(resp.headers.get("location", ""))
                if target.host != origin.host or target.scheme not in ("http", "https"):
                    raise FetchError(f"{shown} redirected to another host ({target.host or target.scheme})")
                if origin.scheme == "https" and target.scheme != "https":
                    raise FetchError(f"{shown} redirected from https to http")
                url = target
                continue
            if not resp.is_success:
                raise FetchError(f"HTTP {resp.status_code} from {shown}")
            return await _read(resp, shown, limits.max_bytes)
    raise FetchError(f"{shown} redirected more than {limits.max_redirects} times")


async def _read(resp: httpx.Response, shown: str, cap: int) -> bytes:
    """The body, refused as soon as it passes `cap` bytes (announced or streamed)."""
    too_big = FetchError(f"{shown} sent more than the limit: larger than {cap} bytes")
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_big
    body, cut = await _read_upto(resp, cap)
    if cut:
        raise too_big
    return body


async def _read_upto(resp: httpx.Response, cap: int) -> tuple[bytes, bool]:
    """At most `cap` bytes of the body, and whether there was more (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.aiter_bytes():
        if size + len(chunk) > cap:
            chunks.append(chunk[: cap - size])
            return b"".join(chunks), True
        size += len(chunk)
        chunks.append(chunk)
    return b"".join(chunks), False
