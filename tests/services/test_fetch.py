"""Bounded outbound fetches against a hostile local server, and URL redaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from domain.redact import redact_urls
from runtime.fetch import FetchError, Limits, Redirected, api_limits, fetch, send
from tests.hostile import HostileServer
from tests.receivers import Receiver

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


async def test_a_post_is_sent_with_its_body_and_headers_and_any_status_is_answered(
    http: httpx.AsyncClient,
) -> None:
    receiver = await Receiver(status=503, retry_after="7").start()
    try:
        headers = {"Content-Type": "application/json", "X-Test": "1"}
        answer = await send(http, "POST", f"{receiver.url}/hook/{SECRET}", b'{"a": 1}', headers, Limits())
    finally:
        await receiver.stop()
    assert (answer.status, answer.ok, answer.headers["Retry-After"]) == (503, False, "7")
    assert answer.json() == {"error": "down"} and not answer.cut
    [got] = receiver.requests
    assert (got.method, got.path, got.body, got.headers["X-Test"]) == (
        "POST",
        f"/hook/{SECRET}",
        b'{"a": 1}',
        "1",
    )


async def test_a_post_whose_answer_trickles_is_cut_off_at_the_deadline(
    server: HostileServer, http: httpx.AsyncClient
) -> None:
    limits = api_limits(timedelta(seconds=2))
    task = asyncio.create_task(send(http, "POST", f"{server.base}/trickle/{SECRET}", b"{}", {}, limits))
    with pytest.raises(FetchError) as caught:
        await asyncio.wait_for(task, 10)
    assert str(caught.value) == f"{server.base}/… did not answer in full within 2 s"


async def test_a_huge_answer_to_a_post_is_cut_at_the_cap(
    server: HostileServer, http: httpx.AsyncClient
) -> None:
    server.huge = 64 << 20
    answer = await send(http, "PATCH", f"{server.base}/huge/{SECRET}", b"{}", {}, Limits(max_bytes=100_000))
    assert answer.ok and answer.cut and len(answer.body) == 100_000
    with pytest.raises(ValueError, match="cut at 100000 bytes"):
        answer.json()
    assert server.sent < 16 << 20, "the rest was never read"


async def test_a_post_never_follows_a_redirect(server: HostileServer, http: httpx.AsyncClient) -> None:
    for path, to in (("elsewhere", f"http://localhost:{server.port}/…"), ("same", f"{server.base}/…")):
        server.requests.clear()
        with pytest.raises(Redirected) as caught:
            await send(http, "POST", f"{server.base}/{path}/{SECRET}", b"{}", {}, Limits())
        assert str(caught.value) == f"HTTP 302 from {server.base}/…: redirects are not followed (to {to})"
        assert server.requests == [f"/{path}/{SECRET}"]


async def test_unusable_urls_are_refused_before_any_connection(http: httpx.AsyncClient) -> None:
    with pytest.raises(FetchError, match="invalid port 99999"):
        await send(http, "POST", f"http://127.0.0.1:99999/{SECRET}", b"", {}, Limits())
    with pytest.raises(FetchError, match="invalid port 70000"):
        await fetch(http, f"http://127.0.0.1:70000/{SECRET}", Limits())
    with pytest.raises(FetchError, match="only http and https"):
        await send(http, "POST", f"ftp://127.0.0.1/{SECRET}", b"", {}, Limits())


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

    from runtime import logs

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
