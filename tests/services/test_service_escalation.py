"""A service's incidents: declared by name (an unknown one refused), paged along its own escalation."""

from __future__ import annotations

from pathlib import Path

import pytest

from slack_emulator.models import TEAM_ID
from storage.repositories import IncidentRepo
from tests.harness import LEVELS, Harness, paged, team

RUNBOOKS = Path(__file__).parent / "runbooks"
SEARCH = Path(__file__).parents[1] / "domain" / "runbooks" / "search_service.md"


@pytest.fixture
def policy_data() -> dict:
    return {
        **LEVELS,
        "schedules": [
            {"name": "cache-oncall", "users": ["U0CACHE"], "shift": "7d", "handoff": "2026-01-05T09:00"}
        ],
        "services": [
            {"name": "cache", "runbook": str(RUNBOOKS / "cache.md"), "schedule": "cache-oncall"},
            {"name": "search", "runbook": str(SEARCH)},
        ],
    }


async def test_a_service_pages_its_schedule_then_its_runbooks_path(harness: Harness) -> None:
    h = harness
    team(h)
    h.emu.add_user("cacheoncall", user_id="U0CACHE")
    h.emu.add_user("cachelead", user_id="U0CLEAD")
    h.emu.add_usergroup("cache-leads", ["U0CLEAD"], group_id="S0CACHELEADS")
    channel = await h.declare("--service cache sev2 Evictions everywhere")
    await h.tick()
    assert paged(h) == ["U0CACHE"], "L1 is the service's schedule, not the policy's L1"
    await h.advance(minutes=19, seconds=59)
    assert paged(h) == ["U0CACHE"]
    await h.advance(seconds=1)
    assert paged(h) == ["U0CACHE", "U0CLEAD"], "L2 after the runbook's 20 minutes: its @cache-leads group"
    await h.advance(minutes=40)
    assert paged(h)[2:] == ["U0EM"], "L3 after the runbook's hour: the policy's L3, as today"
    async with h.bot.shared.db.session() as s:
        incident = await IncidentRepo(s, TEAM_ID).by_channel(channel)
    assert incident is not None and incident.service == "cache"
    timeline = [c.params.get("text") for c in h.emu.calls_to("chat.postMessage")]
    assert timeline  # the channel heard about each page


async def test_without_a_service_the_policy_escalation_is_unchanged(harness: Harness) -> None:
    h = harness
    team(h)
    await h.declare("sev2 Checkout is down")
    await h.tick()
    assert paged(h) == ["U0ONCALL"]
    await h.advance(minutes=30)
    assert paged(h) == ["U0ONCALL", "U0LEAD"]


async def test_the_runbooks_timing_moves_a_level_of_the_policy(harness: Harness) -> None:
    h = harness
    team(h)
    await h.declare("--service search sev2 Queries time out")
    await h.tick()
    assert paged(h) == ["U0ONCALL"], "no schedule for search: the policy's L1"
    await h.advance(minutes=30)
    assert paged(h) == ["U0ONCALL"], "search's runbook brings L2 in after 45 minutes, not 30"
    await h.advance(minutes=15)
    assert paged(h) == ["U0ONCALL", "U0LEAD"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("--service cahce sev2 Evictions", "Did you mean `cache`?"),
        ("--service billing sev2 Invoices late", "Known services: `cache`, `search`"),
        ("--service=serch sev2 Slow", "Did you mean `search`?"),
    ],
)
async def test_an_unknown_service_is_refused_and_nothing_is_created(
    harness: Harness, text: str, said: str
) -> None:
    h = harness
    answer = await h.command(h.alice, h.general, f"declare {text}")
    reply = answer.body
    assert said in reply
    assert "Nothing was declared" in reply
    assert h.emu.calls_to("conversations.create") == []
