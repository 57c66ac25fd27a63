"""Escalation by schedule and by acknowledgement, end to end with the emulator and a moving clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from slack_emulator.models import TEAM_ID
from storage.oncall import CalendarRepo, OverrideRepo
from tests.harness import Harness, click_as

POLICY: dict[str, Any] = {
    "schedules": [
        {
            "name": "primary",
            "timezone": "Europe/Berlin",
            "users": ["U0ANA", "U0BEN"],
            "shift": "1d",
            "handoff": "2026-11-21 09:00",  # Ana until 22 Nov 09:00 Berlin, then Ben
            "fallback": ["U0LEAD"],
        },
        {
            "name": "weekdays",
            "timezone": "Europe/Berlin",
            "users": ["U0CAT"],
            "shift": "1d",
            "handoff": "2026-11-02 09:00",
            "restrict": {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-17:00"},
            "fallback": ["U0LEAD"],
        },
    ],
    "escalation": {
        "levels": [
            {"name": "L1", "title": "Primary on-call", "schedule": "primary", "after": "0s"},
            {"name": "L2", "title": "Secondary on-call", "schedule": "weekdays", "after": "ack_timeout"},
            {"name": "L3", "title": "Team lead", "users": ["U0LEAD"], "after": "30m"},
        ],
        "reach": {"sev1": "L3", "sev2": "L3", "sev3": "L2", "sev4": "L1"},
    },
}


@pytest.fixture
def policy_data() -> dict:
    return POLICY


def _people(h: Harness) -> None:
    for name in ("ana", "ben", "cat", "lead"):
        h.emu.add_user(name, user_id=f"U0{name.upper()}")


def _pages(h: Harness, user: str) -> list[dict[str, Any]]:
    return [m for m in h.emu.dms(user) if "You are paged" in str(m.get("blocks"))]


async def _timeline(h: Harness, channel: str) -> list[str]:
    _, entries = await h.bot.ctx.timeline.entries(channel)
    return [e.text for e in entries if e.kind == "paged"]


async def test_the_person_on_call_is_paged_and_the_timeline_names_the_schedule(harness: Harness) -> None:
    h = harness
    _people(h)
    channel = await h.declare("sev1 Payments are failing")  # Sunday 22 Nov, 04:00 in Berlin
    await h.tick()
    assert len(_pages(h, "U0ANA")) == 1 and not _pages(h, "U0BEN")
    assert (await _timeline(h, channel))[0] == "Paged primary on-call (L1 Primary on-call): <@U0ANA>"
    # Secondary (Sunday: a gap in the weekday schedule, so its fallback) at SEV1's 5 minutes.
    await h.advance(minutes=4, seconds=59)
    assert not _pages(h, "U0LEAD")
    await h.advance(seconds=1)
    assert len(_pages(h, "U0LEAD")) == 1, "secondary's gap: the fallback is paged"


async def test_an_override_wins_and_a_later_handoff_pages_the_next_person(harness: Harness) -> None:
    h = harness
    _people(h)
    now = h.clock.now()
    async with h.bot.shared.db.session() as s:
        await OverrideRepo(s, TEAM_ID).add(
            "primary", "U0CAT", now - timedelta(hours=1), now + timedelta(hours=1), None, now
        )
    await h.declare("sev4 Typo in the footer")
    await h.tick()
    assert len(_pages(h, "U0CAT")) == 1 and not _pages(h, "U0ANA")
    h.clock.advance(datetime(2026, 11, 22, 8, 30, tzinfo=UTC) - h.clock.now())  # 09:30 in Berlin
    await h.declare("sev4 Another typo")
    await h.tick()
    assert len(_pages(h, "U0BEN")) == 1, "after the 09:00 handoff, Ben"


async def test_an_acknowledgement_before_the_ack_timeout_skips_the_secondary(harness: Harness) -> None:
    h = harness
    _people(h)
    await h.declare("sev1 Payments are failing")
    await h.tick()
    await click_as(h, "U0ANA", "U0ANA", "page_acknowledge")
    await h.advance(minutes=10)
    assert not _pages(h, "U0LEAD"), "acknowledged within 5 minutes: no secondary page"
    await h.advance(minutes=20)
    assert len(_pages(h, "U0LEAD")) == 1, "the team lead still follows the runbook at 30 minutes"
    [page] = _pages(h, "U0LEAD")
    assert "L3" in str(page["blocks"])


def _handoffs(h: Harness, user: str) -> list[str]:
    return [str(m.get("blocks")) for m in h.emu.dms(user) if "on call for *primary*" in str(m.get("blocks"))]


async def test_handoff_dms_go_out_once_across_two_replicas_and_the_user_group_follows(
    harness: Harness,
) -> None:
    import asyncio

    from bot.runtime import Bot

    h = harness
    _people(h)
    h.emu.add_usergroup("primary-oncall", ["U0LEAD"], group_id="S0PRIMARY")
    schedules = [
        {**POLICY["schedules"][0], "usergroup": "S0PRIMARY", "remind_before": "1h"},
        POLICY["schedules"][1],
    ]
    h.policy = h.policy_for(schedules=schedules, escalation=POLICY["escalation"])
    await h.restart()
    other = Bot(h.settings(), h.policy, clock=h.clock, scheduler=False)
    await other.start(run_migrations=False)
    try:
        replicas = [h.bot, other]
        await asyncio.gather(*(bot.tick() for bot in replicas for _ in range(2)))
        assert h.emu.state.usergroups["S0PRIMARY"].users == ["U0ANA"], "the group holds who is on call"
        ana_before = len(_handoffs(h, "U0ANA"))
        assert ana_before == 0, "a first start does not announce a shift that began yesterday"
        for _ in range(5 * 6):  # 03:00 → 08:00 UTC (09:00 in Berlin), ten minutes at a time
            h.clock.advance(timedelta(minutes=10))
            await asyncio.gather(*(bot.tick() for bot in replicas))
        await h.idle()
        reminders = [m for m in h.emu.dms("U0BEN") if "starts" in str(m.get("blocks"))]
        assert len(reminders) == 1, "remind_before: one DM an hour ahead"
        [incoming] = _handoffs(h, "U0BEN")
        assert "You are on call for *primary*" in incoming and "Taking over from <@U0ANA>" in incoming
        assert "Sent late" not in incoming
        outgoing = [m for m in h.emu.dms("U0ANA") if "handed over to <@U0BEN>" in str(m.get("blocks"))]
        assert len(outgoing) == 1
        assert h.emu.state.usergroups["S0PRIMARY"].users == ["U0BEN"]
        for _ in range(3):
            await asyncio.gather(*(bot.tick() for bot in replicas))
        assert len(_handoffs(h, "U0BEN")) == 1 and len(_handoffs(h, "U0ANA")) == ana_before
    finally:
        await other.stop()


async def test_oncall_commands_show_now_and_next_and_manage_overrides(harness: Harness) -> None:
    h = harness
    _people(h)
    await h.command(h.alice, h.general, "oncall")
    shown = h.emu.ephemerals(h.alice)[-1]["text"]
    assert "*primary*: <@U0ANA> until <!date^" in shown and "then <@U0BEN>" in shown, shown
    assert "*weekdays*: <@U0LEAD>" in shown, "a gap shows the fallback"

    await h.command(h.alice, h.general, "oncall override primary <@U0CAT|cat> now +2h")
    said = h.emu.ephemerals(h.alice)[-1]["text"]
    assert "Override `#1`: <@U0CAT> is on call for *primary*" in said, said
    await h.command(h.alice, h.general, "oncall primary")
    assert "*primary*: <@U0CAT> until" in h.emu.ephemerals(h.alice)[-1]["text"]
    await h.declare("sev4 Typo")
    await h.tick()
    assert len(_pages(h, "U0CAT")) == 1

    await h.command(
        h.alice, h.general, "oncall override primary <@U0BEN|ben> 2026-11-23 18:00 2026-11-24 08:00"
    )
    await h.command(h.alice, h.general, "oncall overrides primary")
    listed = h.emu.ephemerals(h.alice)[-1]["text"]
    assert "`#1`" in listed and "`#2`" in listed and "<@U0BEN>" in listed, listed
    assert "2026-11-23 17:00 UTC" in listed, "18:00 in Berlin"

    await h.command(h.alice, h.general, "oncall override cancel 1")
    assert "is cancelled" in h.emu.ephemerals(h.alice)[-1]["text"]
    await h.command(h.alice, h.general, "oncall primary")
    assert "*primary*: <@U0ANA>" in h.emu.ephemerals(h.alice)[-1]["text"]

    for bad, why in (
        ("oncall override primary <@U0CAT|cat> tomorrow +2h", "is not a time"),
        ("oncall override nosuch <@U0CAT|cat> now +1h", "No schedule called `nosuch`"),
        ("oncall override primary <@U0CAT|cat> +2h now", "must end after it starts"),
        ("oncall override cancel 1", "already cancelled"),
    ):
        await h.command(h.alice, h.general, bad)
        assert why in h.emu.ephemerals(h.alice)[-1]["text"], (bad, h.emu.ephemerals(h.alice)[-1])


async def test_the_postmortem_says_who_was_on_call_for_each_schedule(harness: Harness) -> None:
    h = harness
    _people(h)
    channel = await h.declare("sev2 Search is slow")  # Sunday 04:00 Berlin: Ana on primary
    h.clock.advance(timedelta(hours=6))  # past the 09:00 handoff to Ben
    await h.command(h.alice, channel, "resolve Reindexed")
    await h.command(h.alice, channel, "postmortem")
    [complete] = h.emu.calls_to("files.completeUploadExternal")
    content = h.emu.file_content(complete.response["files"][0]["id"]).decode()
    assert "| On call (primary) | ana, ben |" in content, content[:1500]
    assert "| On call (weekdays) | lead |" in content, "a Sunday: the weekday schedule's fallback"


FEED = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//feed//EN
BEGIN:VEVENT
UID:cat-cover@test
SUMMARY:Cat covers primary
ATTENDEE;CN=Cat:mailto:Cat@Emulated.Slack.Test
DTSTART;TZID=Europe/Berlin:20261121T090000
DTEND;TZID=Europe/Berlin:20261122T090000
RRULE:FREQ=DAILY;COUNT=3
END:VEVENT
END:VCALENDAR
"""


async def test_a_calendar_url_pages_the_attendee_and_keeps_its_last_good_copy(harness: Harness) -> None:
    from aiohttp import web

    h = harness
    _people(h)
    answers = [web.Response(text=FEED, content_type="text/calendar")]

    async def feed(_: web.Request) -> web.Response:
        return answers[-1] if answers[-1].status != 500 else web.Response(status=500)

    app = web.Application()
    app.router.add_get("/oncall.ics", feed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/oncall.ics"
    try:
        schedules = [
            {"name": "primary", "timezone": "Europe/Berlin", "ical_url": url, "fallback": ["U0LEAD"]}
        ]
        levels = {"levels": [{"name": "L1", "title": "Primary", "schedule": "primary"}]}
        h.policy = h.policy_for(schedules=schedules, escalation=levels)
        await h.restart()
        await h.declare("sev4 First")
        await h.tick()
        assert len(_pages(h, "U0CAT")) == 1, "the attendee's e-mail, looked up in Slack"
        answers.append(web.Response(status=500))
        await h.advance(minutes=11)  # past [oncall] refresh: the fetch fails, the last copy stays
        await h.declare("sev4 Second")
        await h.tick()
        assert len(_pages(h, "U0CAT")) == 2 and not _pages(h, "U0LEAD")
        async with h.bot.shared.db.session() as s:
            copy = await CalendarRepo(s, TEAM_ID).get("primary")
        assert copy is not None and "500" in (copy.last_error or ""), "the failed fetch was tried"
        assert len(h.emu.calls_to("users.lookupByEmail")) == 1, "each address is looked up once"
    finally:
        await runner.cleanup()


async def test_a_handoff_due_while_the_bot_was_down_is_sent_late_once_and_a_shift_over_never(
    harness: Harness,
) -> None:
    h = harness
    _people(h)
    await h.tick()  # plans the 09:00 Berlin handoffs of the next two days
    await h.bot.stop()
    h.clock.advance(timedelta(hours=5, minutes=30))  # down across the 09:00 handoff to Ben
    await h.restart()
    await h.tick()
    await h.tick()
    [late] = _handoffs(h, "U0BEN")
    assert "Sent late" in late
    await h.bot.stop()
    h.clock.advance(timedelta(days=2, hours=1))  # down across Ana's shift (23rd) and into Ben's (24th)
    await h.restart()
    await h.tick()
    assert _handoffs(h, "U0ANA") == [], "Ana's shift is over: never announced"
    assert len(_handoffs(h, "U0BEN")) == 2 and "Sent late" in _handoffs(h, "U0BEN")[1]


async def test_whoever_is_on_call_on_a_level_schedule_is_a_responder(harness: Harness) -> None:
    h = harness
    _people(h)
    channel = await h.declare("sev4 Typo in the footer")  # reaches L1 only: the secondary is not paged
    await h.tick()
    await h.command("U0CAT", channel, "resolve fixed")  # on no schedule right now (a Sunday)
    assert "Only responders can resolve" in h.emu.ephemerals("U0CAT")[-1]["text"]
    await h.command(h.alice, h.general, "oncall override weekdays <@U0CAT|cat> now +1h")
    await h.command("U0CAT", channel, "resolve fixed")  # now on call for the secondary's schedule
    async with h.bot.shared.db.session() as s:
        from storage.repositories import IncidentRepo

        incident = await IncidentRepo(s, TEAM_ID).by_channel(channel)
    assert incident is not None and not incident.is_open
