"""Bounded outbound fetches: the one way the bot GETs a document from a configured URL.

The rule for every such fetch (calendars today; runbook URLs or anything else later): one total
deadline around the request and the whole body (httpx's timeout is per read, so a server sending a
byte now and then would never time out), a cap on the bytes read, http(s) only, and redirects
followed by hand to the same host only. Errors name the host, never the path or query.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from domain.redact import redact_urls


@dataclass(frozen=True)
class Limits:
    """How long one fetch may take in all (seconds), how many bytes it may read, how many
    same-host redirects it follows."""

    deadline: float = 20.0
    max_bytes: int = 5_000_000
    max_redirects: int = 3


class FetchError(Exception):
    """A fetch that failed or was refused; the message is safe to log and store."""


async def fetch(http: httpx.AsyncClient, url: str, limits: Limits) -> bytes:
    """The body of GET `url` within `limits`; FetchError otherwise."""
    shown = redact_urls(url)
    try:
        async with asyncio.timeout(limits.deadline):
            return await _follow(http, httpx.URL(url), shown, limits)
    except TimeoutError:
        raise FetchError(f"{shown} did not answer in full within {limits.deadline:g} s") from None
    except httpx.HTTPError as exc:
        detail = redact_urls(str(exc))
        raise FetchError(f"{shown}: {type(exc).__name__}" + (f": {detail}" if detail else "")) from None
    except httpx.InvalidURL as exc:
        raise FetchError(f"{shown}: invalid URL ({exc})") from None


async def _follow(http: httpx.AsyncClient, origin: httpx.URL, shown: str, limits: Limits) -> bytes:
    if origin.scheme not in ("http", "https"):
        raise FetchError(f"{shown}: only http and https URLs are fetched")
    url = origin
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
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.aiter_bytes():
        size += len(chunk)
        if size > cap:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)
