"""Bounded outbound fetches against a hostile local server, and URL redaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from domain.redact import redact_urls
from services.fetch import FetchError, Limits, fetch
from tests.hostile import HostileServer

SECRET = "private-SECRETKEY123"


@pytest.fixture
async def server() -> AsyncIterator[HostileServer]:
    s = await HostileServer(body="BEGIN:VCALENDAR\nEND:VCALENDAR\n", every=0.5).start()
    yield s
    await s.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # The bot's client: a per-read timeout far longer than any deadline below.
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def test_a_trickle_is_cut_off_at_the_total_deadline(
    server: HostileServer, http: httpx.AsyncClient
) -> None:
    url = f"{server.base}/trickle/{SECRET}/basic.ics"
    task = asyncio.create_task(fetch(http, url, Limits(deadline=2, max_bytes=1_000_000)))
    await asyncio.sleep(1)
    assert not task.done() and server.trickling == 1, "still reading the trickle"
    with pytest.raises(FetchError) as caught:
        await asyncio.wait_for(task, 10)  # bounded by the deadline, not by the per-read timeout
    assert "within 2 s" in str(caught.value) and SECRET not in str(caught.value)
    assert f"{server.base}/…" in str(caught.value)


async def test_a_body_larger_than_the_cap_is_refused(server: HostileServer, http: httpx.AsyncClient) -> None:
    with pytest.raises(FetchError) as caught:
        await fetch(http, f"{server.base}/huge/{SECRET}/x.ics", Limits(deadline=20, max_bytes=1_000_000))
    assert "larger than 1000000 bytes" in str(caught.value) and SECRET not in str(caught.value)


async def test_redirects_stay_on_the_same_host(server: HostileServer, http: httpx.AsyncClient) -> None:
    body = await fetch(http, f"{server.base}/same/{SECRET}/x.ics", Limits())
    assert body.startswith(b"BEGIN:VCALENDAR")
    assert server.requests == [f"/same/{SECRET}/x.ics", f"/feed/{SECRET}/x.ics"], "followed on the same host"
    server.requests.clear()
    with pytest.raises(FetchError) as caught:
        await fetch(http, f"{server.base}/elsewhere/{SECRET}/x.ics", Limits())
    assert "redirected to another host (localhost)" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert server.requests == [f"/elsewhere/{SECRET}/x.ics"], "the other host was never asked"


async def test_errors_and_schemes(server: HostileServer, http: httpx.AsyncClient) -> None:
    server.status = 404
    with pytest.raises(FetchError) as caught:
        await fetch(http, f"{server.base}/feed/{SECRET}/x.ics?token=abc", Limits())
    assert str(caught.value) == f"HTTP 404 from {server.base}/…"
    with pytest.raises(FetchError, match="only http and https"):
        await fetch(http, "file:///etc/passwd", Limits())


def test_redact_urls_keeps_scheme_and_host_only() -> None:
    text = (
        "GET https://calendar.example.com/private-SECRETKEY123/basic.ics?x=1, "
        "'https://hooks.slack.com/services/T000/B000/XXXXSECRET' and http://u:pw@10.0.0.1:8080/p "
        "and https://example.com/ and https://example.com"
    )
    out = redact_urls(text)
    assert out == (
        "GET https://calendar.example.com/…, 'https://hooks.slack.com/…' and http://10.0.0.1:8080/… "
        "and https://example.com/ and https://example.com"
    )


def test_log_lines_and_tracebacks_never_carry_a_url_path() -> None:
    import io

    from services import logs

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure("text", "INFO")
        stream = io.StringIO()
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        logging.getLogger("httpx").info("HTTP Request: GET https://cal.example/%s/basic.ics", SECRET)
        logging.getLogger("bot.test").warning("fetching %s", f"https://cal.example/{SECRET}/basic.ics")
        try:
            raise RuntimeError(f"boom at https://cal.example/{SECRET}")
        except RuntimeError:
            logging.getLogger("bot.test").exception("failed")
        out = stream.getvalue()
        assert SECRET not in out, out
        assert "fetching https://cal.example/…" in out and "boom at https://cal.example/…" in out
        assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
        assert logging.getLogger("httpcore").getEffectiveLevel() >= logging.WARNING
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
