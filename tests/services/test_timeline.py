"""The timeline from reactions, scribe messages and notes, through signed Events API requests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from slack_emulator.models import TEAM_ID
from storage.models import ProcessedEvent, TimelineEntry, TranscriptMessage
from storage.repositories import EventRepo, IncidentRepo, TimelineRepo
from storage.transcript import ts_time
from tests.harness import Harness


async def _entries(h: Harness, channel: str, kinds: tuple[str, ...] = ("pinned", "scribe", "note")) -> list:
    async with h.bot.shared.db.session() as s:
        incident = await IncidentRepo(s, TEAM_ID).by_channel(channel)
        assert incident is not None
        return [e for e in await TimelineRepo(s).for_incident(incident.id) if e.kind in kinds]


async def _count(h: Harness, model: type) -> int:
    async with h.bot.shared.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


def _reaction_event(h: Harness, kind: str, user: str, channel: str, ts: str, name: str = "pushpin") -> dict:
    return {
        "type": kind,
        "user": user,
        "reaction": name,
        "item_user": h.alice,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": h.emu.state.next_ts(),
    }


async def test_a_pushpin_adds_one_entry_at_the_message_time_and_a_check_mark(harness: Harness) -> None:
    h = harness
    channel = await h.declare()
    h.clock.advance(timedelta(minutes=3))
    ts = await h.driver.say(h.bob, channel, "Error rate is 40% on checkout-api")
    h.clock.advance(timedelta(minutes=5))  # the reaction comes later than the message
    event = _reaction_event(h, "reaction_added", h.alice, channel, ts)
    first = await h.driver.send_event(event)
    await h.idle()
    again = await h.driver.send_event(
        event, event_id=first.event_id, retry_num=1, retry_reason="http_timeout"
    )
    await h.idle()
    assert first.status == again.status == 200

    [entry] = await _entries(h, channel)
    assert (entry.kind, entry.author_id, entry.text) == ("pinned", h.bob, "Error rate is 40% on checkout-api")
    assert entry.at == ts_time(ts)
    assert entry.at.replace(second=0, microsecond=0) == datetime(2026, 11, 22, 3, 3, tzinfo=UTC)
    assert entry.permalink and ts.replace(".", "") in entry.permalink
    checks = h.emu.calls_to("reactions.add")
    assert [(c.params["channel"], c.params["timestamp"], c.params["name"]) for c in checks] == [
        (channel, ts, "white_check_mark")
    ]
    # A second person's pin neither doubles the entry nor keeps it when only the first is removed.
    await h.driver.react(h.bob, channel, ts, "pushpin")
    await h.idle()
    assert len(await _entries(h, channel)) == 1
    await h.driver.send_event(_reaction_event(h, "reaction_removed", h.alice, channel, ts))
    await h.idle()
    assert len(await _entries(h, channel)) == 1, "bob's pin is still there"
    await h.driver.unreact(h.bob, channel, ts, "pushpin")
    await h.idle()
    assert await _entries(h, channel) == []
    assert [c.params["name"] for c in h.emu.calls_to("reactions.remove")] == ["white_check_mark"]


async def test_other_emoji_and_other_channels_are_acknowledged_and_ignored(harness: Harness) -> None:
    h = harness
    channel = await h.declare()
    ts = await h.driver.say(h.bob, channel, "hello")
    await h.driver.react(h.alice, channel, ts, "eyes")
    general_ts = await h.driver.say(h.alice, h.general, "unrelated chatter")
    await h.driver.react(h.bob, h.general, general_ts, "pushpin")
    await h.driver.edit(h.general, general_ts, "edited chatter")
    await h.driver.delete(h.general, general_ts)
    await h.idle()  # the driver raises unless every event was answered 2xx
    assert await _entries(h, channel) == []
    assert h.emu.calls_to("reactions.add") == []
    assert await _count(h, TranscriptMessage) == 1  # only the incident channel's message is kept
    assert await _count(h, ProcessedEvent) == 0  # nothing of the other channel was recorded


async def test_scribe_messages_go_on_the_timeline_and_edits_and_deletes_follow(harness: Harness) -> None:
    h = harness
    channel = await h.declare()
    await h.command(h.alice, channel, f"scribe <@{h.bob}|bob>")
    before = await h.driver.say(h.alice, channel, "I am not the scribe")
    h.clock.advance(timedelta(minutes=2))
    first = await h.driver.say(h.bob, channel, "03:02 rolled back deploy 4.2")
    reply = await h.driver.say(h.bob, channel, "in a thread: still failing", thread_ts=before)
    await h.idle()
    entries = await _entries(h, channel)
    assert [(e.kind, e.text) for e in entries] == [
        ("scribe", "03:02 rolled back deploy 4.2"),
        ("scribe", "in a thread: still failing"),
    ]
    assert await _count(h, TranscriptMessage) == 3

    await h.driver.edit(channel, first, "03:02 rolled back deploy 4.2.0 (not 4.1)")
    await h.driver.delete(channel, reply)
    await h.idle()
    entries = await _entries(h, channel)
    assert [e.text for e in entries] == ["03:02 rolled back deploy 4.2.0 (not 4.1)"]
    assert await _count(h, TranscriptMessage) == 2

    # Someone else's message, pinned then deleted, leaves the timeline too.
    await h.driver.react(h.bob, channel, before, "pushpin")
    await h.idle()
    assert len(await _entries(h, channel)) == 2
    await h.driver.delete(channel, before)
    await h.idle()
    assert [e.kind for e in await _entries(h, channel)] == ["scribe"]


async def test_concurrent_duplicate_deliveries_make_one_entry(harness: Harness) -> None:
    h = harness
    channel = await h.declare()
    ts = await h.driver.say(h.bob, channel, "DB failover started")
    event = _reaction_event(h, "reaction_added", h.alice, channel, ts)
    results = await asyncio.gather(*(h.driver.send_event(event, event_id="EvSAME1") for _ in range(4)))
    await h.idle()
    assert {r.status for r in results} == {200}
    assert len(await _entries(h, channel)) == 1


async def test_a_reaction_on_an_unseen_message_is_looked_up_in_slack(harness: Harness) -> None:
    h = harness
    channel = await h.declare()
    ch = h.emu.channel(channel)
    assert ch is not None
    # Messages that reached Slack while the bot was not listening: no event was ever sent for them.
    parent = h.emu.state.add_message(ch, h.bob, "Paging the DBA")
    reply = h.emu.state.add_message(ch, h.alice, "DBA says replica lag is 20 min", thread_ts=parent.ts)
    await h.driver.react(h.alice, channel, parent.ts, "pushpin")
    await h.driver.react(h.bob, channel, reply.ts, "pushpin")
    # The bot's own initial post can be pinned to the timeline too.
    [initial] = [m for m in h.emu.messages(channel) if m.get("bot_id")][:1]
    await h.driver.react(h.alice, channel, initial["ts"], "pushpin")
    await h.idle()
    texts = {e.text: e.author_id for e in await _entries(h, channel)}
    assert texts["Paging the DBA"] == h.bob
    assert texts["DBA says replica lag is 20 min"] == h.alice
    assert any("declared" in t for t in texts)
    assert h.emu.calls_to("conversations.history") and h.emu.calls_to("conversations.replies")


async def test_notes_and_the_timeline_view(harness: Harness) -> None:
    h = harness
    channel = await h.declare()
    h.clock.advance(timedelta(minutes=7))
    await h.command(h.bob, channel, "note Customer support reports EU-only failures")
    await h.command(h.alice, channel, "timeline")
    [note] = await _entries(h, channel)
    assert (note.kind, note.author_id, note.text) == (
        "note",
        h.bob,
        "Customer support reports EU-only failures",
    )
    assert note.at == h.clock.now()
    shown = h.emu.responses[-1]
    assert shown["response_type"] == "ephemeral"
    body = str(shown["blocks"])
    declared_at, noted_at = body.index("2026-11-22 03:00 UTC"), body.index("2026-11-22 03:07 UTC")
    assert declared_at < noted_at and "EU-only failures" in body

    posted = len(h.emu.messages(channel))
    await h.command(h.alice, channel, "timeline share")
    assert len(h.emu.messages(channel)) == posted + 1
    await h.command(h.alice, h.general, "timeline")
    assert "only works in an incident channel" in h.emu.responses[-1]["text"]
    await h.command(h.alice, channel, "note")
    assert "Missing note text" in h.emu.ephemerals(h.alice)[-1]["text"]


async def test_processed_event_ids_are_forgotten_after_a_day(harness: Harness) -> None:
    h = harness
    channel = await h.declare()
    ts = await h.driver.say(h.bob, channel, "one")
    await h.driver.react(h.alice, channel, ts, "pushpin")
    await h.idle()
    assert await _count(h, ProcessedEvent) == 1  # the pin's event id, claimed with its effect
    async with h.bot.shared.db.session() as s:
        assert await EventRepo(s).prune(h.clock.now() - timedelta(days=1)) == 0
    h.clock.advance(timedelta(days=1, minutes=1))
    async with h.bot.shared.db.session() as s:
        assert await EventRepo(s).prune(h.clock.now() - timedelta(days=1)) == 1


async def test_entries_from_slack_are_unique_per_message(harness: Harness) -> None:
    h = harness
    channel = await h.declare()
    await h.command(h.alice, channel, f"scribe <@{h.bob}>")
    ts = await h.driver.say(h.bob, channel, "scribe line, pinned as well")
    await h.driver.react(h.alice, channel, ts, "pushpin")
    await h.idle()
    async with h.bot.shared.db.session() as s:
        rows = (await s.execute(select(TimelineEntry).where(TimelineEntry.message_ts == ts))).scalars().all()
    assert len(rows) == 1 and rows[0].kind == "scribe"
    # The pin still gets its confirmation even though the entry was already there.
    assert [c.params["timestamp"] for c in h.emu.calls_to("reactions.add")] == [ts]
