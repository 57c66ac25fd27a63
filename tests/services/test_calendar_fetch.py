"""Calendars come from their own job, bounded; pages go out from the last good copy whatever the
calendar server does; secret URLs stay out of the log and the database."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

import services.oncall
from runtime.fetch import Limits
from slack_emulator.models import TEAM_ID
from storage.oncall import CalendarRepo
from tests.harness import Harness
from tests.hostile import HostileServer
from tests.receivers import Receiver
from tests.services.test_oncall import FEED

SECRET = "private-SECRETKEY123"
HOOK_SECRET = "T0000/B0000/XXXXHOOKSECRET"


@pytest.fixture
async def server() -> AsyncIterator[HostileServer]:
    s = await HostileServer(body=FEED, every=1.0).start()
    yield s
    await s.stop()


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> Limits:
    limits = Limits(deadline=4, max_bytes=1_000_000)
    monkeypatch.setattr(services.oncall, "CALENDAR_LIMITS", limits)
    return limits


def _people(h: Harness) -> None:
    for name in ("ben", "cat", "lead"):
        h.emu.add_user(name, user_id=f"U0{name.upper()}")


def _pages(h: Harness, user: str) -> list[dict[str, Any]]:
    return [m for m in h.emu.dms(user) if "You are paged" in str(m.get("blocks"))]


async def _use(h: Harness, webhooks: list[dict[str, str]] | None = None, **urls: str) -> None:
    """Schedules named after `urls` (calendars), L1 on the first, L2 (Ben) 20 s later."""
    schedules = [
        {"name": name, "timezone": "Europe/Berlin", "ical_url": url, "fallback": ["U0LEAD"]}
        for name, url in urls.items()
    ]
    levels = {
        "levels": [
            {"name": "L1", "title": "Primary", "schedule": next(iter(urls)), "after": "0s"},
            {"name": "L2", "title": "Backup", "users": ["U0BEN"], "after": "20s"},
        ],
        "reach": {"sev1": "L2", "sev2": "L2", "sev3": "L2", "sev4": "L2"},
    }
    h.policy = h.policy_for(schedules=schedules, escalation=levels, webhooks=webhooks or [])
    await h.restart()


async def _copy(h: Harness, schedule: str) -> Any:
    async with h.bot.shared.db.session() as s:
        return await CalendarRepo(s, TEAM_ID).get(schedule)


async def _paged_lines(h: Harness, channel: str) -> list[str]:
    _, entries = await h.bot.ctx.timeline.entries(channel)
    return [e.text for e in entries if e.kind == "paged"]


async def test_a_trickling_calendar_never_holds_up_a_page(
    harness: Harness, server: HostileServer, short_deadline: Limits
) -> None:
    h = harness
    _people(h)
    await _use(h, primary=f"{server.base}/feed/{SECRET}/basic.ics")
    await h.tick()  # the calendar job keeps a good copy; Cat's e-mail is looked up
    assert (await _copy(h, "primary")).body == FEED
    server.mode = "trickle"  # the calendar server now sends one byte a second
    h.clock.advance(timedelta(minutes=11))  # past [oncall] refresh: the copy is due again
    channel = await h.declare("sev4 Checkout is slow")
    # The paging tick reads the copy only; were it to fetch, it would hang here.
    await asyncio.wait_for(h.bot.tick(), 10)
    await h.idle()
    assert len(_pages(h, "U0CAT")) == 1, "L1 paged at once, from the last good copy"
    refresh = asyncio.create_task(h.bot.refresh_calendars())
    await h.emu.wait_for(lambda: server.trickling == 1)
    h.clock.advance(timedelta(seconds=20))
    await asyncio.wait_for(h.bot.tick(), 10)
    await h.idle()
    assert len(_pages(h, "U0BEN")) == 1, "L2 on time while the calendar still trickles"
    assert not refresh.done() and server.trickling == 1
    await asyncio.wait_for(refresh, 15)  # the calendar job gives up at its deadline
    copy = await _copy(h, "primary")
    assert copy.body == FEED, "the last good copy stays"
    assert "within 4 s" in (copy.last_error or "") and SECRET not in (copy.last_error or "")
    second = await h.declare("sev4 Checkout is slow again")
    await asyncio.wait_for(h.tick(), 10)  # the copy is not due again yet: no fetch
    assert len(_pages(h, "U0CAT")) == 2
    [line] = await _paged_lines(h, second)
    assert line.startswith("Paged primary on-call (L1 Primary): <@U0CAT>"), line
    assert "calendar copy fetched 22 Nov 03:00 UTC (stale" in line, line
    assert "(stale" not in (await _paged_lines(h, channel))[0], "fresh when it was paged"
    first, second_page = _pages(h, "U0CAT")
    assert "stale" not in str(first["blocks"])
    assert "On-call schedule: from the calendar copy fetched 22 Nov 03:00 UTC (stale" in str(
        second_page["blocks"]
    )


async def test_each_calendar_is_fetched_on_its_own_and_refused_when_hostile(
    harness: Harness, server: HostileServer, short_deadline: Limits
) -> None:
    h = harness
    _people(h)
    await _use(
        h,
        moved=f"{server.base}/elsewhere/{SECRET}/a.ics",
        huge=f"{server.base}/huge/{SECRET}/b.ics",
        slow=f"{server.base}/trickle/{SECRET}/c.ics",
        good=f"{server.base}/feed/{SECRET}/d.ics",
    )
    refresh = asyncio.create_task(h.bot.refresh_calendars())

    async def good_kept() -> bool:
        copy = await _copy(h, "good")
        return copy is not None and copy.body == FEED

    for _ in range(200):  # the good calendar does not wait for the slow one
        if await good_kept():
            break
        await asyncio.sleep(0.02)
    assert await good_kept() and not refresh.done()
    await asyncio.wait_for(refresh, 15)
    errors = {name: (await _copy(h, name)).last_error for name in ("moved", "huge", "slow")}
    assert "redirected to another host (localhost)" in errors["moved"]
    assert "larger than 1000000 bytes" in errors["huge"]
    assert "within 4 s" in errors["slow"]
    assert not any(SECRET in e for e in errors.values()), errors
    assert not any(p.startswith("/feed/") and p.endswith("a.ics") for p in server.requests)
    # No copy of `moved` at all: its fallback is paged, and the timeline says why.
    channel = await h.declare("sev4 Nobody to page")
    await asyncio.wait_for(h.bot.tick(), 10)
    await h.idle()
    assert len(_pages(h, "U0LEAD")) == 1
    [line] = await _paged_lines(h, channel)
    assert "no copy of its calendar yet" in line, line


async def test_secret_urls_stay_out_of_the_log_and_the_database(
    harness: Harness, server: HostileServer, hooks: Receiver, log_stream: io.StringIO
) -> None:
    h = harness
    _people(h)
    server.status = 404
    hook = {"url": f"{hooks.url}/services/{HOOK_SECRET}", "secret": "hook-signing-secret"}
    await _use(h, [hook], primary=f"{server.base}/feed/{SECRET}/basic.ics")
    await h.tick()  # the calendar fetch fails (404)
    await h.declare("sev4 Webhook and calendar")
    await h.bot.shared.outbox.deliver_due()
    assert any(r.path.endswith(HOOK_SECRET) for r in hooks.requests), "the webhook was delivered"
    hooks.status = 500
    await h.declare("sev4 A failed delivery")
    await h.bot.shared.outbox.deliver_due()
    out = log_stream.getvalue()
    assert "could not fetch the calendar of schedule primary" in out, out
    assert SECRET not in out and "XXXXHOOKSECRET" not in out, out
    copy = await _copy(h, "primary")
    assert copy.last_error == f"HTTP 404 from {server.base}/…"
