"""Runbooks given by URL: fetched within a deadline and a size cap from their own server, refreshed
every `[oncall] refresh` only, the last good copy kept (across a restart) when the server fails, and
the URL's path and query (a token) kept out of every error, log line and Slack call."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

import services.catalog
from bot.runtime import Bot
from runtime.fetch import Limits
from services.catalog import RunbookError
from tests.harness import LEVELS, Harness, paged, team
from tests.hostile import HostileServer

TOKEN = "tok-RUNBOOKSECRET42"


def _runbook(lead: str) -> str:
    """A runbook whose L2 is the `lead` user group, 20 minutes in."""
    return (
        "# RUN-042: Cache Eviction Storm\n\n**Owner**: @cache-team\n\n## Diagnosis\n\n"
        "### Step 1: Check memory\n\n## Escalation Path\n\n**Level 1**: On-call engineer (you)\n"
        f"- **Escalate if**: Can't resolve in 20 minutes\n\n**Level 2**: Cache lead {lead}\n"
    )


@pytest.fixture
async def server() -> AsyncIterator[HostileServer]:
    s = await HostileServer(body=_runbook("@cache-leads"), every=1.0).start()
    yield s
    await s.stop()


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> Limits:
    limits = Limits(deadline=2, max_bytes=services.catalog.MAX_BYTES, max_redirects=3)
    monkeypatch.setattr(services.catalog, "LIMITS", limits)
    return limits


def _url(server: HostileServer, route: str = "feed") -> str:
    return f"{server.base}/{route}/cache.md?token={TOKEN}"


async def _use(h: Harness, url: str) -> None:
    """The cache service with its runbook at `url`, and the people its path pages."""
    team(h)
    h.emu.add_user("cachelead", user_id="U0CLEAD")
    h.emu.add_user("cacheowner", user_id="U0COWNER")
    h.emu.add_usergroup("cache-leads", ["U0CLEAD"], group_id="S0CLEADS")
    h.emu.add_usergroup("cache-owners", ["U0COWNER"], group_id="S0COWNERS")
    h.policy = h.policy_for(**LEVELS, services=[{"name": "cache", "runbook": url}])
    await h.restart()


async def _l2_paged(h: Harness) -> str:
    """Declare a cache incident, let 20 minutes pass: who its L2 paged."""
    seen = len(paged(h))
    await h.declare("--service cache sev2 Evictions everywhere")
    await h.advance(minutes=20)
    [l1, l2] = paged(h)[seen:]
    assert l1 == "U0ONCALL"
    return l2


def _no_token(h: Harness, *texts: str) -> None:
    for text in (*texts, *(str(c.params) for c in h.emu.calls)):
        assert TOKEN not in text, text


async def test_a_url_runbook_is_read_and_fetched_again_only_every_refresh(
    harness: Harness, server: HostileServer, log_stream: io.StringIO
) -> None:
    h = harness
    await _use(h, _url(server))
    assert len(server.requests) == 1, "fetched once at start"
    await h.tick()
    assert len(server.requests) == 1, "the calendar job's first run does not fetch it again"
    assert await _l2_paged(h) == "U0CLEAD", "the runbook's L2: @cache-leads, resolved by usergroups.list"
    assert len(server.requests) == 2, "fetched again once [oncall] refresh (10 min) had passed"
    server.body = _runbook("@cache-owners")
    await h.advance(minutes=9)
    assert len(server.requests) == 2, "not due yet"
    await h.advance(minutes=1)
    assert len(server.requests) == 3
    assert await _l2_paged(h) == "U0COWNER", "the new text is in use"
    assert server.requests[0] == f"/feed/cache.md?token={TOKEN}"
    _no_token(h, log_stream.getvalue())


async def test_a_failing_server_leaves_the_last_good_copy_in_use_even_after_a_restart(
    harness: Harness, server: HostileServer, log_stream: io.StringIO
) -> None:
    h = harness
    await _use(h, _url(server))
    server.status = 500
    await h.advance(minutes=10)
    assert len(server.requests) == 2
    out = log_stream.getvalue()
    assert f"runbook {server.base}/…: HTTP 500 from {server.base}/…; using the copy fetched" in out, out
    assert await _l2_paged(h) == "U0CLEAD"
    await server.stop()  # down altogether: the restart reads the copy in the database
    await h.restart()
    assert await _l2_paged(h) == "U0CLEAD"
    out = log_stream.getvalue()
    assert out.count("using the copy fetched") >= 2, out
    _no_token(h, out)


async def test_a_trickling_server_is_given_up_at_the_deadline_and_never_holds_up_a_page(
    harness: Harness, server: HostileServer, short_deadline: Limits, log_stream: io.StringIO
) -> None:
    h = harness
    await _use(h, _url(server))
    await h.declare("--service cache sev2 Evictions everywhere")
    await h.tick()
    server.mode = "trickle"  # one byte a second from now on
    h.clock.advance(timedelta(minutes=20))  # the runbook is due again, and so is L2
    refresh = asyncio.create_task(h.bot.refresh_calendars())
    await h.emu.wait_for(lambda: server.trickling == 1)
    # The paging tick never fetches: were it to wait on the runbook, it would hang here.
    await asyncio.wait_for(h.bot.tick(), 10)
    await h.idle()
    assert paged(h) == ["U0ONCALL", "U0CLEAD"], "L2 on time while the runbook server trickles"
    assert not refresh.done() and server.trickling == 1
    await asyncio.wait_for(refresh, 10)  # given up at its 2 s deadline
    out = log_stream.getvalue()
    assert f"{server.base}/… did not answer in full within 2 s; using the copy fetched" in out, out
    assert await _l2_paged(h) == "U0CLEAD", "the last good copy is still in use"
    _no_token(h, out)


@pytest.mark.parametrize(
    ("route", "why"),
    [
        ("trickle", "did not answer in full within 2 s"),
        ("huge", "sent more than the limit: larger than 2000000 bytes"),
        ("elsewhere", "redirected to another host (localhost)"),
        ("missing", "HTTP 404 from"),
    ],
)
async def test_a_hostile_server_with_no_copy_kept_stops_the_start_in_one_line(
    harness: Harness, server: HostileServer, short_deadline: Limits, route: str, why: str
) -> None:
    h = harness
    policy = h.policy_for(**LEVELS, services=[{"name": "cache", "runbook": _url(server, route)}])
    bot = Bot(h.settings(), policy, clock=h.clock, scheduler=False)
    with pytest.raises(RunbookError) as info:
        await asyncio.wait_for(bot.start(), 10)
    message = str(info.value)
    assert message.startswith(f"services[0].runbook: {server.base}/…: "), message
    assert why in message and message.endswith("(and no copy was kept)"), message
    assert "\n" not in message and TOKEN not in message and "cache.md" not in message
    assert server.sent <= 3 * services.catalog.MAX_BYTES, "the huge answer is not read past the cap"
