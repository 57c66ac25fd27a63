"""Links from outside systems and people: only absolute http(s) URLs become links, in Slack and on
the incident page; a tracker answering a `javascript:` URL leaves the issue's key as plain text."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from domain.urls import safe_url
from storage.models import Followup, Incident, TimelineEntry
from tests.receivers import Receiver
from tests.web.test_web_view import CLIENT_ID, CLIENT_SECRET, WebHarness, sign_in

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
EVIL = "javascript:alert(document.domain)//"


def test_only_absolute_http_urls_are_safe() -> None:
    for good in ("https://github.com/acme/api/issues/42", "http://127.0.0.1:8080/x?y=1#z", "HTTPS://EX.COM"):
        assert safe_url(good) == good
    for bad in (
        EVIL, "JavaScript:alert(1)", " javascript:alert(1)", "data:text/html,<b>", "vbscript:x",
        "//evil.example/", "/relative", "https:evil.example", "https://", "http:///path",
        "https://exa mple.com", "https://ok.example/\nx", "https://[::1", "ftp://files.example/",
        "", None, 42,
    ):  # fmt: skip
        assert safe_url(bad) is None, bad


@pytest.fixture
async def tracker() -> AsyncIterator[Receiver]:
    """A GitHub stand-in that answers every new issue with a `javascript:` html_url."""
    r = await Receiver(status=201, answer={"number": 42, "html_url": EVIL, "state": "open"}).start()
    yield r
    await r.stop()


@pytest.fixture
async def evil_harness(
    database_url: str, tracker: Receiver, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[WebHarness]:
    monkeypatch.setenv("GH_TOKEN", "ghp-test-token")
    github = {"repo": "acme/api", "api_url": tracker.url, "token_env": "GH_TOKEN"}
    delivery = {"max_attempts": 5, "backoff": "10s", "max_backoff": "1m", "timeout": "5s"}
    h = WebHarness(database_url, {"trackers": {"github": github}, "delivery": delivery})
    await h.start()
    h.emu.register_app(CLIENT_ID, CLIENT_SECRET)
    try:
        yield h
    finally:
        await h.stop()


async def test_a_javascript_tracker_link_is_never_a_link(evil_harness: WebHarness, tracker: Receiver) -> None:
    h = evil_harness
    channel = await h.declare("sev2 Checkout is down")
    await h.command(h.alice, channel, "followup <@U0BOB> +3d Add a circuit breaker")
    await h.bot.shared.outbox.deliver_due()
    h.clock.advance(timedelta(minutes=2))
    await h.idle()
    assert len(tracker.requests) == 1, "the issue was filed"
    async with h.bot.shared.db.session() as s:
        f = (await s.execute(select(Followup))).scalar_one()
    assert (f.tracker_key, f.tracker_url) == ("acme/api#42", None), "the key is kept, the URL is not"
    slack = str([m.get("blocks") for m in h.emu.messages(channel)]) + str(h.emu.messages(channel))
    assert "javascript" not in slack.lower()
    session = await sign_in(h, h.alice)
    try:
        async with session.get(h.url + "/ui/incidents/1") as resp:
            page = await resp.text()
        assert resp.status == 200 and "acme/api#42" in page
        assert "javascript" not in page.lower()
        hrefs = re.findall(r'href="([^"]*)"', page)
        assert all(href.startswith(("/", "?", "http://", "https://")) for href in hrefs), hrefs

        # Rows stored before links were checked: the page still makes no link of them.
        async with h.bot.shared.db.session() as s:
            await s.execute(update(Followup).values(tracker_url=EVIL))
            await s.execute(update(Incident).values(postmortem_url=EVIL))
            await s.execute(update(TimelineEntry).values(permalink=EVIL))
        async with session.get(h.url + "/ui/incidents/1") as resp:
            page = await resp.text()
        assert resp.status == 200 and "acme/api#42" in page
        assert not re.findall(r'href="javascript', page, re.IGNORECASE)
    finally:
        await session.close()
