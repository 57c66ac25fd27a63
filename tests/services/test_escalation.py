"""Escalation by DM and update reminders, with the clock moved instead of sleeping."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from slack_emulator.models import TEAM_ID
from storage.repositories import IncidentRepo
from tests.harness import LEVELS, PEOPLE, Harness, click_as, paged, team


@pytest.fixture
def policy_data() -> dict:
    return LEVELS


async def test_levels_fall_due_at_their_minute_and_sev3_stops_at_l2(harness: Harness) -> None:
    h = harness
    team(h)
    sev2 = await h.declare("sev2 Checkout is down")
    sev3 = await h.declare("sev3 Search is slow")
    await h.tick()
    assert sorted(paged(h)) == ["U0ONCALL", "U0ONCALL"]
    await h.advance(minutes=29, seconds=59)
    assert len(paged(h)) == 2, "L2 is not due before 30 minutes"
    await h.advance(seconds=1)
    assert paged(h)[2:] == ["U0LEAD", "U0LEAD"]
    await h.advance(minutes=30)
    assert paged(h)[4:] == ["U0EM"], "L3 (a user group) for the SEV2 only"
    await h.advance(hours=5)
    assert paged(h)[5:] == [], "SEV2 reaches L3, SEV3 reaches L2: nobody else, ever"
    [page] = h.emu.dms("U0EM")
    text = str(page["blocks"])
    for expected in (
        "SEV2",
        "Checkout is down",
        f"<#{sev2}>",
        f"<@{h.alice}>",
        "1h",
        "Acknowledge",
        "Escalate now",
    ):
        assert expected in text, expected
    assert sev3 != sev2
    timeline = await h.bot.ctx.timeline.entries(sev2)
    assert [e.text for e in timeline[1] if e.kind == "paged"] == [
        "Paged L1 On-call engineer: <@U0ONCALL>",
        "Paged L2 Team lead: <@U0LEAD>",
        "Paged L3 Engineering manager: <@U0EM>",
    ]


async def test_resolve_cancels_pending_pages_and_reminders(harness: Harness) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev1 Database down")
    await h.tick()
    await h.advance(minutes=10)
    await h.command(h.alice, channel, "resolve Failover completed")
    await h.advance(hours=3)
    assert paged(h) == ["U0ONCALL"]
    assert not [m for m in h.emu.messages(channel) if "status update is due" in str(m)]


async def test_acknowledge_invites_records_and_updates_the_dm(harness: Harness) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev2 Checkout is down")
    await h.advance(minutes=4)
    [dm] = h.emu.dms("U0ONCALL")
    await h.driver.click("U0ONCALL", h.emu.state.open_dm("U0ONCALL").id, dm["ts"], "page_acknowledge")
    await h.idle()
    ch = h.emu.channel(channel)
    assert ch is not None and "U0ONCALL" in ch.members
    [updated] = h.emu.dms("U0ONCALL")
    assert "Acknowledged by <@U0ONCALL> at 2026-11-22 03:04 UTC" in str(updated["blocks"])
    assert "page_acknowledge" not in str(updated["blocks"])
    async with h.bot.shared.db.session() as s:
        inc = await IncidentRepo(s, TEAM_ID).by_channel(channel)
    assert inc is not None and inc.acknowledged_at == h.clock.now()
    _, entries = await h.bot.ctx.timeline.entries(channel)
    assert [e.text for e in entries if e.kind == "acknowledged"] == ["<@U0ONCALL> acknowledged the L1 page"]


async def test_escalate_now_pages_the_next_level_once(harness: Harness) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev2 Checkout is down")
    await h.advance(minutes=5)
    [dm] = h.emu.dms("U0ONCALL")
    dm_channel = h.emu.state.open_dm("U0ONCALL").id
    await h.driver.click("U0ONCALL", dm_channel, dm["ts"], "page_escalate")
    await h.idle()
    assert paged(h) == ["U0ONCALL", "U0LEAD"]
    await h.advance(minutes=30)  # L2's own time passes: skipped, not repeated
    assert paged(h) == ["U0ONCALL", "U0LEAD"]
    await h.command(h.alice, channel, "escalate")
    assert paged(h) == ["U0ONCALL", "U0LEAD", "U0EM"]
    await h.advance(hours=3)
    assert paged(h) == ["U0ONCALL", "U0LEAD", "U0EM"]


async def test_raising_severity_after_90_minutes_pages_l3_at_once(harness: Harness) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev3 Search is slow")
    await h.advance(minutes=90)
    assert paged(h) == ["U0ONCALL", "U0LEAD"]
    await h.command(h.alice, channel, "severity sev1")
    await h.tick()
    assert paged(h) == ["U0ONCALL", "U0LEAD", "U0EM"], "L3 was due at 1h: paged at once"
    await h.advance(minutes=29)
    assert len(paged(h)) == 3
    await h.advance(minutes=1)
    assert paged(h)[-1] == "U0CTO", "L4 at 2h"
    assert any("raised the severity" in str(m) for m in h.emu.messages(channel))


async def test_lowering_severity_cancels_levels_out_of_reach(harness: Harness) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev1 Payments down")
    await h.advance(minutes=10)
    await h.command(h.alice, channel, "sev p3")
    await h.advance(hours=3)
    assert paged(h) == ["U0ONCALL"]


async def test_reminders_at_30_minutes_for_sev2_and_none_after_an_update(harness: Harness) -> None:
    h = harness
    team(h)
    quiet = await h.declare("sev2 Checkout is down")
    busy = await h.declare("sev2 Login is down")

    def reminders(channel: str) -> list[str]:
        return [str(m["blocks"]) for m in h.emu.messages(channel) if "status update is due" in str(m)]

    await h.advance(minutes=20)
    await h.command(h.alice, busy, "update Found the bad config")
    await h.advance(minutes=9, seconds=59)
    assert reminders(quiet) == []
    await h.advance(seconds=1)
    assert len(reminders(quiet)) == 1 and f"<@{h.alice}>" in reminders(quiet)[0]
    assert reminders(busy) == []
    await h.advance(minutes=5)
    assert len(reminders(quiet)) == 1, "once per missed slot"
    await h.advance(minutes=25)
    assert len(reminders(quiet)) == 2, "the next slot was missed too"
    assert len(reminders(busy)) == 1, "30 minutes after its update"


async def test_a_page_due_while_the_bot_was_down_is_sent_once_marked_late(harness: Harness) -> None:
    h = harness
    team(h)
    await h.declare("sev2 Checkout is down")
    await h.tick()
    await h.advance(minutes=20)
    await h.bot.stop()
    h.clock.advance(timedelta(minutes=25))  # L2 falls due at 30 min, while nothing runs
    await h.restart()
    await h.tick()
    await h.tick()
    assert paged(h) == ["U0ONCALL", "U0LEAD"]
    [page] = h.emu.dms("U0LEAD")
    assert "late: was due 2026-11-22 03:30 UTC" in page["text"]


async def test_status_lists_open_escalations(harness: Harness) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev2 Checkout is down")
    await h.tick()
    await h.command(h.alice, channel, "status")
    body = str(h.emu.responses[-1]["blocks"])
    assert "L2 Team lead: due 03:30 UTC" in body and "L3 Engineering manager: due 04:00 UTC" in body


async def test_two_replicas_ticking_together_page_exactly_once(harness: Harness) -> None:
    from collections import Counter

    from bot.runtime import Bot

    h = harness
    team(h)
    other = Bot(h.settings(), h.policy, clock=h.clock, scheduler=False)
    await other.start(run_migrations=False)
    try:
        replicas = [h.bot, other]
        for round_ in range(8):
            for n in range(3):
                await h.declare(f"sev1 Race {round_}-{n}")
            for step in (timedelta(0), timedelta(minutes=30), timedelta(minutes=30), timedelta(hours=1)):
                h.clock.advance(step)
                await asyncio.gather(*(bot.tick() for bot in replicas for _ in range(3)))
            await h.idle()
            await other.settle()
        pages = Counter(
            (user, ref)
            for user in PEOPLE
            for dm in h.emu.dms(user)
            for ref in [dm["text"].split(" INC-")[1].split(" ")[0]]
        )
        assert len(pages) == 8 * 3 * 4, "every incident paged L1..L4"
        assert set(pages.values()) == {1}, [k for k, v in pages.items() if v > 1]
    finally:
        await other.stop()


async def test_only_the_person_paged_or_their_level_acknowledges_and_never_after_resolution(
    harness: Harness,
) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev2 Checkout is down")
    await h.tick()
    await click_as(h, "U0LEAD", "U0ONCALL", "page_acknowledge")
    assert "only they or someone on L1" in h.emu.responses[-1]["text"]
    async with h.bot.shared.db.session() as s:
        inc = await IncidentRepo(s, TEAM_ID).by_channel(channel)
    assert inc is not None and inc.acknowledged_at is None
    await h.command(h.alice, channel, "resolve Rolled back")
    await click_as(h, "U0ONCALL", "U0ONCALL", "page_acknowledge")
    assert "already resolved" in h.emu.responses[-1]["text"]
    _, entries = await h.bot.ctx.timeline.entries(channel)
    assert not [e for e in entries if e.kind == "acknowledged"]
    assert [e.kind for e in entries][-1] == "resolved"


async def test_a_reminder_without_a_commander_speaks_to_the_first_level_never_to_none(
    harness: Harness,
) -> None:
    from sqlalchemy import update

    from storage.models import Incident

    h = harness
    team(h)
    channel = await h.declare("sev2 Checkout is down")
    async with h.bot.shared.db.session() as s:  # as an Alertmanager declaration: nobody took command yet
        await s.execute(update(Incident).where(Incident.channel_id == channel).values(commander_id=None))
    await h.advance(minutes=30)
    [reminder] = [str(m["blocks"]) for m in h.emu.messages(channel) if "status update is due" in str(m)]
    assert "<@None>" not in reminder and "<@U0ONCALL>" in reminder and "/incident commander" in reminder


async def test_a_level_due_after_midnight_is_named_with_its_day(harness: Harness) -> None:
    h = harness
    team(h)
    h.clock.advance(timedelta(hours=20, minutes=50))  # Sunday 22 Nov, 23:50 UTC
    await h.declare("sev1 Database down")
    await h.tick()
    [dm] = h.emu.dms("U0ONCALL")
    text = str(dm["blocks"])
    assert "L2 Team lead at Mon 23 Nov 00:20 UTC" in text, text
    assert "L3 Engineering manager at Mon 23 Nov 00:50 UTC" in text, text


UNTITLED = {
    "escalation": {
        "levels": [{"name": "L1", "users": ["U0ONCALL"]}, {"name": "L2", "users": ["U0LEAD"], "after": "30m"}]
    }
}


@pytest.mark.parametrize("policy_data", [UNTITLED])
async def test_a_level_without_a_title_is_said_by_its_name_alone(harness: Harness) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev2 Checkout is down")
    await h.tick()
    await h.command(h.alice, channel, "escalate")
    assert "Escalated INC-1 to L2." in str(h.emu.responses[-1])
    timeline = await h.bot.ctx.timeline.entries(channel)
    said = [e.text for e in timeline[1] if e.kind == "paged"]
    assert said == ["Paged L1: <@U0ONCALL>", "Paged L2: <@U0LEAD>"], said
