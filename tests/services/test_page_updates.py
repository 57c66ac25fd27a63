"""Page DMs that update themselves: after anyone acknowledges, and after the resolution, every page DM of
the incident says so and loses its buttons; across replicas, through a Slack outage, after a reopen."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.runtime import Bot
from tests.harness import LEVELS, Harness, paged, team

L1_TWO = {
    "escalation": {
        **LEVELS["escalation"],
        "levels": [
            {**LEVELS["escalation"]["levels"][0], "users": ["U0ONCALL", "U0SECOND"]},
            *LEVELS["escalation"]["levels"][1:],
        ],
    }
}
ACK_TIMEOUT_L2 = {
    "escalation": {
        "levels": [
            {"name": "L1", "title": "On-call engineer", "users": ["U0ONCALL"], "after": "0s"},
            {"name": "L2", "title": "Team lead", "users": ["U0LEAD"], "after": "ack_timeout"},
        ],
        "reach": {"sev1": "L2", "sev2": "L2", "sev3": "L2", "sev4": "L2"},
    }
}


@pytest.fixture
def policy_data(request: pytest.FixtureRequest) -> dict:
    return getattr(request, "param", L1_TWO)


def page_of(h: Harness, user: str) -> dict[str, Any]:
    """The one page DM a person has (as it reads now, after any edit)."""
    [dm] = h.emu.dms(user)
    return dm


def has_buttons(dm: dict[str, Any]) -> bool:
    blocks = str(dm["blocks"])
    return "page_acknowledge" in blocks or "page_escalate" in blocks


def edits(h: Harness, dm: dict[str, Any]) -> int:
    """How many times Slack accepted an edit of this DM."""
    return sum(
        1 for c in h.emu.calls_to("chat.update") if c.params.get("ts") == dm["ts"] and c.response.get("ok")
    )


async def acknowledge(h: Harness, user: str) -> None:
    """`user` presses Acknowledge on their (last) page DM."""
    *_, dm = h.emu.dms(user)
    await h.driver.click(user, h.emu.state.open_dm(user).id, dm["ts"], "page_acknowledge")
    await h.idle()


async def test_one_acknowledgement_edits_every_page_dm_and_the_resolution_again(harness: Harness) -> None:
    h = harness
    team(h)
    h.emu.add_user("second", user_id="U0SECOND")
    channel = await h.declare("sev2 Checkout is down")
    await h.tick()
    await h.advance(minutes=30)
    assert sorted(paged(h)) == ["U0LEAD", "U0ONCALL", "U0SECOND"]
    assert all(has_buttons(page_of(h, u)) for u in ("U0ONCALL", "U0SECOND", "U0LEAD"))
    h.clock.advance(timedelta(minutes=2))
    await acknowledge(h, "U0SECOND")
    for user in ("U0ONCALL", "U0SECOND", "U0LEAD"):
        dm = page_of(h, user)
        blocks = str(dm["blocks"])
        assert "Acknowledged by <@U0SECOND> at 2026-11-22 03:32 UTC (L1 page)" in blocks, user
        assert not has_buttons(dm), user
        assert f"<#{channel}>" in blocks, "Join #channel stays"
        assert "the runbook pages L3 Engineering manager at 04:00 UTC" in blocks, "what still follows stays"
        assert edits(h, dm) == 1, user
    await h.advance(minutes=28)  # L3 falls due after the acknowledgement: it says who, without buttons
    em = page_of(h, "U0EM")
    assert "You are paged (L3 Engineering manager)" in str(em["blocks"])
    assert "Acknowledged by <@U0SECOND> at 2026-11-22 03:32 UTC (L1 page)" in str(em["blocks"])
    assert not has_buttons(em)
    h.clock.advance(timedelta(minutes=5))
    await h.command(h.alice, channel, "resolve Rolled back")
    await h.tick()
    for user in ("U0ONCALL", "U0SECOND", "U0LEAD", "U0EM"):
        blocks = str(page_of(h, user)["blocks"])
        assert "Resolved at 2026-11-22 04:05 UTC" in blocks, user
        assert "Acknowledged by <@U0SECOND>" in blocks and "the runbook pages" not in blocks, user
        assert "page_acknowledge" not in blocks


@pytest.mark.parametrize("change", ["acknowledge", "resolve"])
async def test_a_page_sent_while_another_replica_changes_the_incident_is_edited_too(
    harness: Harness, change: str
) -> None:
    h = harness
    team(h)
    h.emu.add_user("second", user_id="U0SECOND")
    other = Bot(h.settings(), h.policy, clock=h.clock, scheduler=False)
    await other.start(run_migrations=False)
    try:
        channel = await h.declare("sev2 Checkout is down")
        await h.tick()
        h.clock.advance(timedelta(minutes=30))
        held = h.emu.hold("chat.postMessage")
        paging = asyncio.create_task(other.tick())  # the other replica pages L2; its DM is in flight
        await asyncio.wait_for(held.arrived.wait(), 10)
        if change == "acknowledge":
            await acknowledge(h, "U0ONCALL")
        else:
            await h.driver.command(h.alice, channel, "resolve Rolled back")
        await h.idle()
        await other.settle()
        await h.tick()  # this replica's pass over the DMs it knows of
        assert not has_buttons(page_of(h, "U0ONCALL")) and not has_buttons(page_of(h, "U0SECOND"))
        assert h.emu.dms("U0LEAD") == [], "L2's DM is still on its way"
        held.release()
        await asyncio.wait_for(paging, 10)  # sent as it was drawn: with its buttons
        await h.tick()
        lead = page_of(h, "U0LEAD")
        assert not has_buttons(lead)
        said = {"acknowledge": "Acknowledged by <@U0ONCALL>", "resolve": "Resolved at 2026-11-22 03:30 UTC"}
        for user in ("U0ONCALL", "U0SECOND", "U0LEAD"):
            assert said[change] in str(page_of(h, user)["blocks"]), user
        assert edits(h, lead) == 1
    finally:
        await other.stop()


async def test_edits_refused_by_slack_for_a_while_are_retried_until_done(harness: Harness) -> None:
    h = harness
    team(h)
    h.emu.add_user("second", user_id="U0SECOND")
    await h.declare("sev2 Checkout is down")
    await h.tick()
    await h.advance(minutes=30)
    h.emu.inject("chat.update", status=503, seconds=240)
    await acknowledge(h, "U0LEAD")
    assert all(has_buttons(page_of(h, u)) for u in ("U0ONCALL", "U0SECOND", "U0LEAD")), "Slack is down"
    for _ in range(3):
        await h.advance(seconds=60)
    failed = [c for c in h.emu.calls_to("chat.update") if not c.response.get("ok")]
    assert len(failed) >= 3, "tried again and again while Slack answered 503"
    for _ in range(8):  # Slack is back: the next retry (backoff at most 2 minutes, ±50 %) goes through
        await h.advance(seconds=30)
    for user in ("U0ONCALL", "U0SECOND", "U0LEAD"):
        dm = page_of(h, user)
        assert not has_buttons(dm) and "Acknowledged by <@U0LEAD>" in str(dm["blocks"]), user
        assert edits(h, dm) == 1, user
    made = len(h.emu.calls_to("chat.update"))
    await h.advance(minutes=10)
    assert len(h.emu.calls_to("chat.update")) == made, "done: no more edits"


@pytest.mark.parametrize("policy_data", [LEVELS], indirect=True)
async def test_a_page_after_a_reopen_lists_the_levels_to_come_and_has_its_buttons(harness: Harness) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev2 Checkout is down")
    await h.tick()
    await acknowledge(h, "U0ONCALL")
    await h.advance(minutes=10)
    await h.command(h.alice, channel, "resolve Rolled back")
    await h.tick()
    await h.advance(hours=3)  # 06:10
    await h.command(h.alice, channel, "reopen It is back")
    await h.tick()
    first, again = h.emu.dms("U0ONCALL")
    assert "Resolved at 2026-11-22 03:10 UTC" in str(first["blocks"]), "the first page keeps its outcome"
    blocks = str(again["blocks"])
    assert "You are paged (L1 On-call engineer)" in blocks
    assert has_buttons(again), "nobody acknowledged since the reopen"
    assert "the runbook pages L2 Team lead at 06:40 UTC, L3 Engineering manager at 07:10 UTC" in blocks
    await acknowledge(h, "U0ONCALL")
    blocks = str(h.emu.dms("U0ONCALL")[1]["blocks"])
    assert "Acknowledged by <@U0ONCALL> at 2026-11-22 06:10 UTC (L1 page)" in blocks
    assert "Acknowledged by <@U0ONCALL> at 2026-11-22 03:00 UTC" not in blocks, "only this life's"
    assert "L2 Team lead at 06:40 UTC" in blocks


@pytest.mark.parametrize("policy_data", [ACK_TIMEOUT_L2], indirect=True)
async def test_after_a_reopen_a_level_waiting_on_an_acknowledgement_pages_again(harness: Harness) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev2 Checkout is down")
    await h.tick()
    await acknowledge(h, "U0ONCALL")
    await h.advance(minutes=15)
    assert paged(h) == ["U0ONCALL"], "acknowledged in time: L2 is not paged"
    await h.command(h.alice, channel, "resolve Rolled back")
    await h.advance(hours=1)
    await h.command(h.alice, channel, "reopen It is back")
    await h.tick()
    assert paged(h) == ["U0ONCALL", "U0ONCALL"]
    await h.advance(minutes=15)
    assert paged(h) == ["U0ONCALL", "U0ONCALL", "U0LEAD"], "nobody acknowledged the reopened incident"
