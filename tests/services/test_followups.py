"""After the incident: follow-ups and their reminders, postmortem deadlines, reopen and archive,
against the emulator with a moving clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.timeline import load_postmortem
from slack_emulator.models import TEAM_ID
from storage.models import Followup
from tests.harness import Harness, team

BOB, CAROL = "U0BOB", "U0CAROL"


def _followup_dms(h: Harness, user: str) -> list[dict[str, Any]]:
    return [m for m in h.emu.dms(user) if "follow-up of yours" in str(m.get("blocks"))]


def _postmortem_dms(h: Harness, user: str) -> list[dict[str, Any]]:
    return [m for m in h.emu.dms(user) if "The postmortem of" in str(m.get("blocks"))]


async def _followups(h: Harness) -> list[Followup]:
    async with h.bot.shared.db.session() as s:
        return list((await s.execute(select(Followup).order_by(Followup.id))).scalars())


def _followup_message(h: Harness, channel: str) -> dict[str, Any]:
    return next(m for m in h.emu.messages(channel) if "*Follow-up* for" in str(m.get("blocks")))


async def _click(h: Harness, user: str, channel: str, action_id: str) -> None:
    """`user` presses a button of the follow-up's message in the incident channel."""
    await h.driver.click(user, channel, _followup_message(h, channel)["ts"], action_id)
    await h.idle()


async def test_a_followup_is_posted_listed_reminded_once_and_done_by_its_owner(harness: Harness) -> None:
    h = harness
    team(h)
    h.emu.add_user("carol", user_id=CAROL)
    channel = await h.declare("sev2 Checkout is slow")
    await h.command(h.alice, channel, f"followup <@{BOB}|bob> +2d Add a circuit breaker to checkout")
    [f] = await _followups(h)
    assert (f.owner_id, f.due_on.isoformat(), f.state) == (BOB, "2026-11-24", "open")
    message = _followup_message(h, channel)
    assert "Add a circuit breaker" in str(message)
    buttons = {e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert buttons == {"followup_done", "followup_due"}

    await h.command(BOB, h.general, "followups mine")
    assert "Add a circuit breaker" in str(h.emu.state.responses[-1])
    await h.command(h.alice, channel, "followups")
    assert "Add a circuit breaker" in str(h.emu.state.responses[-1])

    # The due date, 09:00 UTC: one DM, however often the scheduler ticks.
    await h.advance(days=2, hours=5, minutes=59)
    assert _followup_dms(h, BOB) == []
    await h.advance(minutes=2)
    await h.tick()
    assert len(_followup_dms(h, BOB)) == 1
    # Weekly while overdue.
    await h.advance(days=7)
    await h.tick()
    assert len(_followup_dms(h, BOB)) == 2 and "overdue" in str(_followup_dms(h, BOB)[-1])

    # Only the owner or the commander may close it.
    await _click(h, CAROL, channel, "followup_done")
    assert [x.state for x in await _followups(h)] == ["open"]
    await _click(h, BOB, channel, "followup_done")
    assert [x.state for x in await _followups(h)] == ["done"]
    assert "done by" in str(_followup_message(h, channel))
    await h.advance(days=8)
    assert len(_followup_dms(h, BOB)) == 2, "no reminder once done"

    data = await load_postmortem(h.bot.shared.db, TEAM_ID, "INC-1")
    assert data is not None
    assert [x["text"] for x in data.to_json()["followups"]] == ["Add a circuit breaker to checkout"]
    assert any("Add a circuit breaker" in item["action"] for item in data.action_items())


async def test_the_commander_moves_the_due_date_and_the_reminder_moves_with_it(harness: Harness) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev3 Queue backlog")
    await h.command(h.alice, channel, f"followup <@{BOB}> tomorrow Tune the consumer pool")
    await _click(h, h.alice, channel, "followup_due")
    view = h.emu.state.open_views(h.alice)[-1]
    answer = await h.driver.submit_view(h.alice, view.id, {"due": {"due_date": "2026-11-30"}})
    await h.idle()
    assert answer.get("response_action") != "errors", answer
    [f] = await _followups(h)
    assert f.due_on.isoformat() == "2026-11-30"
    await h.advance(days=2, hours=7)  # the old date's 09:00 has passed
    assert _followup_dms(h, BOB) == []
    await h.advance(days=6)
    assert len(_followup_dms(h, BOB)) == 1


async def test_a_bad_due_date_is_explained(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev3 Queue backlog")
    result = await h.command(h.alice, channel, "followup <@U0BOB> someday Tune the pool")
    assert "not a due date" in result.body and await _followups(h) == []


async def test_two_replicas_send_each_followup_reminder_once(harness: Harness) -> None:
    from bot.runtime import Bot

    h = harness
    team(h)
    channel = await h.declare("sev2 Checkout is slow")
    await h.command(h.alice, channel, f"followup <@{BOB}> +1d Add a circuit breaker")
    other = Bot(h.settings(), h.policy, clock=h.clock, scheduler=False)
    await other.start()
    try:
        h.clock.advance(timedelta(days=1, hours=7))
        await asyncio.gather(*(bot.tick() for bot in (h.bot, other) for _ in range(3)))
        await asyncio.gather(h.bot.settle(), other.settle())
    finally:
        await other.stop()
    assert len(_followup_dms(h, BOB)) == 1


@pytest.fixture
def policy_data() -> dict:
    return {"postmortem": {"due": {"sev3": "3d"}}, "channels": {"archive_after": "9d"}}


async def test_postmortem_deadlines_by_severity_until_it_is_written(harness: Harness) -> None:
    h = harness
    sev2 = await h.declare("sev2 Checkout is slow")
    sev4 = await h.declare("sev4 A typo on the status page")
    await h.command(h.alice, sev2, "resolve Rolled back")
    await h.command(h.alice, sev4, "resolve Fixed")
    await h.advance(days=6, hours=23)
    assert _postmortem_dms(h, h.alice) == []
    await h.advance(hours=2)
    await h.tick()
    assert len(_postmortem_dms(h, h.alice)) == 1, "the SEV2 one, once; SEV4 owes none"
    await h.advance(days=1)
    assert len(_postmortem_dms(h, h.alice)) == 2, "daily while missing"

    await h.command(h.alice, sev2, "postmortem done <https://docs.example.com/pm/inc-1>")
    assert "https://docs.example.com/pm/inc-1" in h.emu.state.channel(sev2).topic["value"]
    threaded = [m for m in h.emu.messages(h.announce) if m.get("thread_ts", m["ts"]) != m["ts"]]
    assert threaded and "docs.example.com/pm/inc-1" in str(threaded[-1])
    data = await load_postmortem(h.bot.shared.db, TEAM_ID, "INC-1")
    assert data is not None and data.to_json()["postmortem"]["url"] == "https://docs.example.com/pm/inc-1"
    await h.advance(days=3)
    assert len(_postmortem_dms(h, h.alice)) == 2, "no reminder once written"


async def test_the_channel_is_archived_after_the_delay_not_while_a_followup_is_open(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev3 Queue backlog")
    await h.command(h.alice, channel, f"followup <@{h.alice}> +2d Tune the consumer pool")
    await h.command(h.alice, channel, "resolve Drained")
    await h.advance(days=9, minutes=1)
    assert not h.emu.state.channel(channel).is_archived, "a follow-up is still open"
    await _click(h, h.alice, channel, "followup_done")
    await h.advance(days=1, minutes=1)
    assert h.emu.state.channel(channel).is_archived
    assert any("archiving this channel" in str(m) for m in h.emu.messages(channel))
    assert len(h.emu.calls_to("conversations.archive")) == 1

    # Reopening brings the channel back, plans escalation from now and says so.
    await h.command(h.alice, channel, "reopen The backlog is growing again")
    assert not h.emu.state.channel(channel).is_archived
    assert any("reopened" in str(m) for m in h.emu.messages(h.announce))
    data = await load_postmortem(h.bot.shared.db, TEAM_ID, "INC-1")
    assert data is not None and data.incident.is_open and data.incident.status == "investigating"
    assert any(e.kind == "reopened" for e in data.entries)


async def test_reopen_returns_to_the_status_before_resolution_and_pages_again(harness: Harness) -> None:
    from tests.harness import LEVELS, paged

    h = harness
    h.policy = h.policy_for(**LEVELS)
    await h.restart()
    team(h)
    channel = await h.declare("sev2 Checkout is slow")
    await h.command(h.alice, channel, "update mitigating Shifted traffic")
    await h.command(h.alice, channel, "resolve Rolled back")
    before = len(paged(h))
    await h.advance(hours=2)
    await h.command(h.alice, channel, "reopen Errors are back")
    await h.tick()
    data = await load_postmortem(h.bot.shared.db, TEAM_ID, "INC-1")
    assert (
        data is not None and data.incident.status == "mitigating" and data.incident.postmortem_due_at is None
    )
    assert len(paged(h)) > before, "L1 paged again from the reopen"
    refused = await h.command(h.alice, channel, "reopen again")
    assert "not resolved" in str(h.emu.state.responses[-1]) or "not resolved" in refused.body
