"""Catch-ups: someone joining an incident channel gets one (ephemeral) with the incident so far, once
however often Slack sends the join; `/incident catchup` gives it at any time, `since <time>|last`
only what happened since; a private incident's only to its channel's members; a long timeline is read
only as far as shown."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from slack_emulator import payloads
from slack_emulator.models import TEAM_ID
from storage.models import CatchUp, Incident, Person, TimelineEntry
from tests.harness import Harness

RUNBOOK = Path(__file__).parent / "runbooks" / "cache.md"
CAROL, DAVE = "U0CAROL", "U0DAVE"
BOT = "U0BOT"


@pytest.fixture
def policy_data() -> dict:
    dashboards = [
        {"name": "Cache <!channel> latency", "url": "https://grafana.example/d/cache"},
        {"name": "Evictions", "url": "https://grafana.example/d/evictions"},
    ]
    return {"services": [{"name": "cache", "runbook": str(RUNBOOK), "dashboards": dashboards}]}


def catchups(h: Harness, user: str) -> list[dict[str, Any]]:
    """The catch-ups `user` got by chat.postEphemeral, oldest first."""
    return [
        m
        for m in h.emu.ephemerals(user)
        if m["source"] == "chat.postEphemeral" and m["text"].startswith("Catch-up on")
    ]


def answers(h: Harness, user: str, start: str) -> list[dict[str, Any]]:
    """What `user` was answered (ephemeral) starting with `start`."""
    return [m for m in h.emu.ephemerals(user) if m["text"].startswith(start)]


def shown(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


async def incident_of(h: Harness, channel: str) -> Incident:
    async with h.bot.shared.db.session() as s:
        return (await s.execute(select(Incident).where(Incident.channel_id == channel))).scalar_one()


async def notes(h: Harness, channel: str, *texts: str, every: timedelta = timedelta(minutes=1)) -> None:
    for text in texts:
        h.clock.advance(every)
        await h.command(h.alice, channel, f"note {text}")


async def test_a_late_joiner_gets_one_catchup_with_the_incident_so_far(harness: Harness) -> None:
    h = harness
    h.emu.add_user("carol", user_id=CAROL)
    channel = await h.declare("--service cache sev2 Cache hit rate <!channel> collapsed")
    # Slack tells of the declaration's own invitation: the declarer needs no catch-up.
    await h.driver.join(h.alice, channel, inviter=BOT)
    await h.idle()
    assert catchups(h, h.alice) == []

    await h.command(h.alice, channel, f"scribe <@{h.bob}|bob>")
    await h.command(h.alice, channel, "update identified Evictions from the 02:50 deploy")
    await notes(h, channel, *(f"step {i} <@U0ALICE> looked" for i in range(1, 8)))
    await h.command(h.alice, channel, f"followup <@{h.bob}|bob> +3d Alert on eviction rate")
    async with h.bot.shared.db.session() as s:
        row = (await s.execute(select(Incident))).scalar_one()
        # Set as a status page publication and an alert would have set them.
        row.statuspage_link = "https://status.example.com/incidents/abc"
        row.runbook_url = "https://wiki.example.com/cache-evictions"
    h.clock.advance(timedelta(hours=1, minutes=5))

    joined = await h.driver.join(CAROL, channel)
    await h.idle()
    assert joined is not None
    # Slack retries the event (the bot was slow to answer): still one catch-up.
    again = payloads.member_joined_event(h.emu.state, h.emu.state.channel(channel), CAROL, None)
    await h.driver.send_event(again, event_id=joined.event_id, retry_num=1, retry_reason="http_timeout")
    await h.idle()

    [got] = catchups(h, CAROL)
    assert got["channel"] == channel
    text = shown(got)
    assert "Catch-up · INC-1: Cache hit rate @channel collapsed" in text
    assert "SEV2" in text and "Identified" in text
    assert f"<@{h.alice}>" in text and f"Scribe <@{h.bob}>" in text
    assert "1h 12m" in text, "how long it has been going"
    assert "Evictions from the 02:50 deploy" in text and "03:00 UTC (1h 12m ago)" in text
    # The newest five timeline entries only.
    assert [i for i in range(1, 8) if f"step {i} " in text] == [4, 5, 6, 7]
    assert "Alert on eviction rate" in text and "Open follow-ups (1)" in text
    assert "<https://grafana.example/d/cache|Dashboard: Cache @channel latency>" in text
    assert "<https://wiki.example.com/cache-evictions|Alert runbook>" in text
    assert "<https://status.example.com/incidents/abc|Status page>" in text
    assert "<!channel>" not in text and "<!channel>" not in got["text"]
    async with h.bot.shared.db.session() as s:
        seen = (await s.execute(select(CatchUp.user_id, CatchUp.seen_at))).all()
    assert {u for u, _ in seen} == {h.alice, CAROL}

    # Joins elsewhere, and the bot's own, give nothing.
    await h.driver.join(CAROL, h.general)
    await h.driver.send_event(
        payloads.member_joined_event(h.emu.state, h.emu.state.channel(channel), BOT, None)
    )
    await h.idle()
    assert len(catchups(h, CAROL)) == 1 and len(h.emu.calls_to("chat.postEphemeral")) == 1


async def test_catchup_any_time_and_since_a_time(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev3 Search is slow")
    await h.command(h.alice, channel, "update mitigating Rolled back the index change")
    await notes(h, channel, "early note")  # 03:01

    await h.command(h.bob, channel, "catchup")
    [whole] = answers(h, h.bob, "Catch-up on INC-1")
    assert "Rolled back the index change" in shown(whole) and "early note" in shown(whole)

    h.clock.advance(timedelta(minutes=40))
    await notes(h, channel, "late note")  # 03:42
    await h.command(h.bob, channel, "catchup since 30m")
    [since] = answers(h, h.bob, "INC-1 since")
    assert "late note" in shown(since) and "early note" not in shown(since)
    assert "Since 03:12 UTC" in shown(since)

    # A clock time is today's in UTC, or in the person's time zone when users.info told it.
    await h.command(h.bob, channel, "catchup since 03:30")
    assert "late note" in shown(answers(h, h.bob, "INC-1 since")[-1])
    assert "early note" not in shown(answers(h, h.bob, "INC-1 since")[-1])
    async with h.bot.shared.db.session() as s:  # as users.info would have told it: UTC+5:30
        await s.merge(
            Person(team_id=TEAM_ID, user_id=h.bob, name="bob", tz="Asia/Kolkata", looked_up_at=h.clock.now())
        )
    await h.command(h.bob, channel, "catchup since 08:35")
    latest = shown(answers(h, h.bob, "INC-1 since")[-1])
    assert "early note" not in latest and "late note" in latest and "08:35 (Asia/Kolkata)" in latest
    await h.command(h.bob, channel, "catchup since 2026-11-22T03:00Z")
    latest = shown(answers(h, h.bob, "INC-1 since")[-1])
    assert "early note" in latest and "late note" in latest

    # Nothing since: said so.
    h.clock.advance(timedelta(minutes=5))
    await h.command(h.bob, channel, "catchup since 1m")
    assert "Nothing new on the timeline" in shown(answers(h, h.bob, "INC-1 since")[-1])

    # Bad words are refused at once, and outside an incident channel it asks for one.
    await h.command(h.bob, channel, "catchup since teatime")
    assert "`teatime` is not a time" in h.emu.ephemerals(h.bob)[-1]["text"]
    await h.command(h.bob, h.general, "catchup")
    assert "works in an incident channel" in h.emu.ephemerals(h.bob)[-1]["text"]
    await h.command(h.bob, h.general, "catchup INC-9")
    assert "There is no incident INC-9" in h.emu.ephemerals(h.bob)[-1]["text"]


async def test_since_last_starts_at_each_persons_previous_catchup(harness: Harness) -> None:
    h = harness
    h.emu.add_user("carol", user_id=CAROL)
    channel = await h.declare("sev2 Payments failing")
    await notes(h, channel, "before carol")
    h.clock.advance(timedelta(minutes=10))
    await h.driver.join(CAROL, channel)  # her first catch-up
    await h.idle()
    assert len(catchups(h, CAROL)) == 1
    await notes(h, channel, "while carol was in a meeting", every=timedelta(minutes=10))

    h.clock.advance(timedelta(minutes=10))
    await h.command(CAROL, channel, "catchup since last")
    first = shown(answers(h, CAROL, "INC-1 since")[-1])
    assert "while carol was in a meeting" in first and "before carol" not in first
    assert "your last catch-up" in first

    await notes(h, channel, "after her second look", every=timedelta(minutes=10))
    h.clock.advance(timedelta(minutes=10))
    await h.command(CAROL, channel, "catchup since last")
    second = shown(answers(h, CAROL, "INC-1 since")[-1])
    assert "after her second look" in second and "while carol was in a meeting" not in second

    # Someone never caught up on it starts at the declaration.
    await h.command(h.bob, channel, "catchup since last")
    bobs = shown(answers(h, h.bob, "INC-1 since")[-1])
    assert "before carol" in bobs and "after her second look" in bobs and "the start" in bobs


async def test_a_private_incidents_catchup_is_for_its_members_only(harness: Harness) -> None:
    h = harness
    h.emu.add_user("carol", user_id=CAROL)
    h.emu.add_user("dave", user_id=DAVE)
    title = "Embargoed breach at Globex"
    channel = await h.declare(f"--private sev1 {title}")
    await notes(h, channel, "rotated the keys")

    await h.command(DAVE, h.general, "catchup INC-1")
    refused = h.emu.ephemerals(DAVE)[-1]["text"]
    assert "only the members of its channel" in refused
    assert "Globex" not in refused and "rotated" not in refused
    await h.command(DAVE, h.general, "catchup INC-1 since last")
    assert "only the members" in h.emu.ephemerals(DAVE)[-1]["text"]
    assert not any("Globex" in str(m) for m in h.emu.ephemerals(DAVE))
    async with h.bot.shared.db.session() as s:
        assert (await s.execute(select(CatchUp).where(CatchUp.user_id == DAVE))).first() is None

    # Invited in, carol gets the catch-up in the channel, and may ask for it from anywhere.
    await h.driver.join(CAROL, channel, inviter=h.alice)
    await h.idle()
    [got] = catchups(h, CAROL)
    assert "Globex" in shown(got) and "rotated the keys" in shown(got)
    await h.command(CAROL, h.general, "catchup INC-1")
    assert "Globex" in shown(answers(h, CAROL, "Catch-up on INC-1")[-1])


async def test_a_catchup_of_a_huge_timeline_reads_what_it_shows(harness: Harness) -> None:
    h = harness
    h.emu.add_user("carol", user_id=CAROL)
    channel = await h.declare("sev2 Checkout is down")
    incident = await incident_of(h, channel)
    async with h.bot.shared.db.session() as s:
        rows = [
            {
                "incident_id": incident.id,
                "kind": "note",
                "text": f"entry {i}: looked at the dashboards again",
                "at": incident.declared_at + timedelta(seconds=i),
                "author_id": h.alice,
            }
            for i in range(5_000)
        ]
        await s.execute(TimelineEntry.__table__.insert(), rows)
    h.clock.advance(timedelta(hours=2))
    loaded: list[object] = []
    load = lambda target, _context: loaded.append(target)  # noqa: E731
    event.listen(TimelineEntry, "load", load)
    try:
        await h.driver.join(CAROL, channel)
        await h.idle()
        joined = len(loaded)
        await h.command(CAROL, channel, "catchup since 2h")
    finally:
        event.remove(TimelineEntry, "load", load)
    text = shown(catchups(h, CAROL)[-1])
    assert "entry 4999:" in text and "entry 4995:" in text and "entry 4994:" not in text
    assert "the last 5 of 5001" in text
    assert joined == 5, f"{joined} entries read to show 5"
    since = answers(h, CAROL, "INC-1 since")[-1]
    assert since["text"] == "INC-1 since 03:00 UTC: 4999 new on the timeline"  # after 03:00:00
    assert "4979 earlier since then not shown" in shown(since)
    assert len(loaded) - joined == 20
