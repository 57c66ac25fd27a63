"""Escalation by schedule and by acknowledgement, end to end with the emulator and a moving clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage.oncall import OverrideRepo
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


async def _timeline(h: Harness, channel: str) -> list[str]:
    _, entries = await h.bot.ctx.timeline.entries(channel)
    return [e.text for e in entries if e.kind == "paged"]


async def test_the_person_on_call_is_paged_and_the_timeline_names_the_schedule(harness: Harness) -> None:
    h = harness
    _people(h)
    channel = await h.declare("sev1 Payments are failing")  # Sunday 22 Nov, 04:00 in Berlin
    await h.tick()
    assert len(h.emu.dms("U0ANA")) == 1 and not h.emu.dms("U0BEN")
    assert (await _timeline(h, channel))[0] == "Paged primary on-call (L1 Primary on-call): <@U0ANA>"
    # Secondary (Sunday: a gap in the weekday schedule, so its fallback) at SEV1's 5 minutes.
    await h.advance(minutes=4, seconds=59)
    assert not h.emu.dms("U0LEAD")
    await h.advance(seconds=1)
    assert len(h.emu.dms("U0LEAD")) == 1, "secondary's gap: the fallback is paged"


async def test_an_override_wins_and_a_later_handoff_pages_the_next_person(harness: Harness) -> None:
    h = harness
    _people(h)
    now = h.clock.now()
    async with h.bot.ctx.db.session() as s:
        await OverrideRepo(s).add("primary", "U0CAT", now - timedelta(hours=1), now + timedelta(hours=1), None, now)
    await h.declare("sev4 Typo in the footer")
    await h.tick()
    assert len(h.emu.dms("U0CAT")) == 1 and not h.emu.dms("U0ANA")
    h.clock.advance(datetime(2026, 11, 22, 8, 30, tzinfo=UTC) - h.clock.now())  # 09:30 in Berlin
    await h.declare("sev4 Another typo")
    await h.tick()
    assert len(h.emu.dms("U0BEN")) == 1, "after the 09:00 handoff, Ben"


async def test_an_acknowledgement_before_the_ack_timeout_skips_the_secondary(harness: Harness) -> None:
    h = harness
    _people(h)
    await h.declare("sev1 Payments are failing")
    await h.tick()
    await click_as(h, "U0ANA", "U0ANA", "page_acknowledge")
    await h.advance(minutes=10)
    assert not h.emu.dms("U0LEAD"), "acknowledged within 5 minutes: no secondary page"
    await h.advance(minutes=20)
    assert len(h.emu.dms("U0LEAD")) == 1, "the team lead still follows the runbook at 30 minutes"
    [page] = h.emu.dms("U0LEAD")
    assert "L3" in str(page["blocks"])
