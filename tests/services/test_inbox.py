"""The inbox: stored before the answer, carried out in order per incident, resumed after failures."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from slack_emulator.models import TEAM_ID
from storage.inbox import InboxRepo
from storage.repositories import IncidentRepo, TimelineRepo
from tests.harness import Harness
from tests.receivers import Receiver

LEVELS = {
    "escalation": {
        "levels": [
            {"name": "L1", "title": "On-call engineer", "users": ["U0ONCALL"], "after": "0s"},
            {"name": "L2", "title": "Team lead", "users": ["U0LEAD"], "after": "30m"},
        ],
        "reach": {"sev1": "L2", "sev2": "L2", "sev3": "L1", "sev4": "L1"},
    }
}


@pytest.fixture
def policy_data() -> dict:
    return LEVELS


def team(h: Harness) -> None:
    h.emu.add_user("oncall", user_id="U0ONCALL")
    h.emu.add_user("lead", user_id="U0LEAD")


def _created(h: Harness) -> list[str]:
    return [c.response["channel"]["id"] for c in h.emu.calls_to("conversations.create") if c.response["ok"]]


def _bot_posts(h: Harness, channel: str) -> list[str]:
    return [m.get("text", "") for m in h.emu.messages(channel) if m.get("bot_id")]


def _pages(h: Harness, user: str) -> list[dict]:
    return [m for m in h.emu.dms(user) if "You are paged" in str(m.get("blocks"))]


async def _timeline(h: Harness, channel: str) -> list[tuple[str, str]]:
    async with h.bot.shared.db.session() as s:
        incident = await IncidentRepo(s, TEAM_ID).by_channel(channel)
        assert incident is not None
        return [(e.kind, e.text) for e in await TimelineRepo(s).for_incident(incident.id)]


async def _drained(h: Harness, timeout: float = 20) -> None:
    """Wait until the running worker has carried out every stored request."""
    async with asyncio.timeout(timeout):
        while True:
            async with h.bot.shared.db.session() as s:
                states = dict(await InboxRepo(s).summary())
            if not states.get("pending") and not states.get("working"):
                return
            await asyncio.sleep(0.02)


async def _advance_until(h: Harness, seconds: float, step: float = 2.0) -> None:
    """Move the clock in steps (as time passes), carrying out what falls due at each."""
    moved = 0.0
    while moved < seconds:
        await h.advance(seconds=step)
        moved += step


async def test_a_postmessage_outage_after_declaring_loses_neither_the_post_nor_the_page(
    harness: Harness,
) -> None:
    h = harness
    team(h)
    h.emu.inject("chat.postMessage", status=500, seconds=20)
    result = await h.driver.command(h.alice, h.general, "declare sev2 Checkout is down")
    assert result.ok
    await h.tick()
    channel = _created(h)[0]
    assert _bot_posts(h, channel) == [] and _pages(h, "U0ONCALL") == [], "Slack is down: nothing landed yet"
    await _advance_until(h, 60)  # a 20 s outage; the last retry inside it may wait ~24 s (backoff ±50 %)
    initial = [t for t in _bot_posts(h, channel) if "declared" in t.lower() or "SEV2" in t]
    assert len(initial) == 1, _bot_posts(h, channel)
    assert len(h.emu.pins(channel)) == 1
    assert len(_pages(h, "U0ONCALL")) == 1, "the L1 page arrives once, after Slack recovered"
    assert len([m for m in h.emu.messages(h.announce) if m.get("bot_id")]) == 1
    answers = [e for e in h.emu.ephemerals(h.alice) if "declared in" in e.get("text", "")]
    assert len(answers) == 1


async def test_a_lost_conversations_create_answer_still_ends_with_one_channel(harness: Harness) -> None:
    h = harness
    team(h)
    h.emu.inject("conversations.create", status=500, after_effect=True)
    await h.command(h.alice, h.general, "declare sev3 Search is slow")
    made = [c for c in h.emu.state.channels.values() if c.name.startswith("incident-")]
    assert len(made) == 1 and _created(h) == [], "Slack made the channel but the bot did not hear back"
    await _advance_until(h, 10)
    made = [c for c in h.emu.state.channels.values() if c.name.startswith("incident-")]
    assert len(made) == 1, [c.name for c in made]
    async with h.bot.shared.db.session() as s:
        incident = await IncidentRepo(s, TEAM_ID).by_channel(made[0].id)
    assert incident is not None, "the retry adopted the channel it had made"
    assert len(_bot_posts(h, made[0].id)) == 1


async def test_a_page_slack_refuses_for_good_is_said_in_the_channel(harness: Harness) -> None:
    h = harness  # U0ONCALL is not a member of this workspace: conversations.open says user_not_found
    channel = await h.declare("sev2 Checkout is down")
    await h.tick()
    said = [t for t in _bot_posts(h, channel) if "Could not page L1" in t]
    assert said, _bot_posts(h, channel)
    assert any(kind == "page_failed" for kind, _ in await _timeline(h, channel))


async def test_back_to_back_updates_and_resolve_come_out_in_order(harness: Harness) -> None:
    h = harness
    hooks = await Receiver().start()
    try:
        webhook = {"url": hooks.url + "/all", "secret": "order-test-secret"}
        h.bot.shared.outbox.policy = h.policy_for(**LEVELS, webhooks=[webhook])
        channel = await h.declare("sev2 Checkout is down")
        h.bot.shared.worker.start()  # as in `serve`: requests are carried out while more arrive
        h.emu.latency = 0.01
        for i in range(5):
            assert (await h.driver.command(h.alice, channel, f"update step {i}")).ok
        assert (await h.driver.command(h.alice, channel, "resolve Rolled back")).ok
        await h.emu.wait_for(lambda: any("resolved" in t.lower() for t in _bot_posts(h, channel)[5:]), 20)
        posts = [t for t in _bot_posts(h, channel) if "step" in t or "resolved" in t.lower()]
        order = [next((f"step {i}" for i in range(5) if f"step {i}" in t), "resolve") for t in posts]
        assert order == ["step 0", "step 1", "step 2", "step 3", "step 4", "resolve"], posts
        await _drained(h)
        for _ in range(8):
            await h.bot.shared.outbox.deliver_due()
        got = [(r.json["event"], r.json["data"].get("text")) for r in hooks.delivered()]
        updates = [("updated", f"step {i}") for i in range(5)]
        assert got == [("declared", None), *updates, ("resolved", None)], got
    finally:
        await hooks.stop()


async def test_pin_then_unpin_at_once_with_a_slow_slack_leaves_nothing(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    ts = await h.driver.say(h.bob, channel, "error rate back to normal")
    await h.idle()
    h.bot.shared.worker.start()
    h.emu.latency = 0.1
    await h.driver.react(h.alice, channel, ts, "pushpin")
    await h.driver.unreact(h.alice, channel, ts, "pushpin")
    await _drained(h)
    assert len(h.emu.calls_to("reactions.add")) == 1 and len(h.emu.calls_to("reactions.remove")) == 1
    assert not [k for k, _ in await _timeline(h, channel) if k == "pinned"]
    message = next(m for m in h.emu.messages(channel) if m.get("ts") == ts)
    assert "white_check_mark" not in str(message.get("reactions")), message


async def test_an_edit_never_overtakes_its_message(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    await h.command(h.alice, channel, f"scribe <@{h.bob}|bob>")
    h.bot.shared.worker.start()
    h.emu.latency = 0.02
    for i in range(10):
        ts = await h.driver.say(h.bob, channel, f"draft {i}")
        await h.driver.edit(channel, ts, f"final {i}")
    await _drained(h)
    scribe = [text for kind, text in await _timeline(h, channel) if kind == "scribe"]
    assert scribe == [f"final {i}" for i in range(10)]


async def test_a_redelivered_event_is_answered_200_and_adds_nothing(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    await h.command(h.alice, channel, f"scribe <@{h.bob}|bob>")
    msg = h.emu.state.add_message(h.emu.channel(channel), h.bob, "db failover started", log=False)
    event = {
        **h.emu.state.message_dict(msg),
        "type": "message",
        "channel": channel,
        "channel_type": "channel",
    }
    first = await h.driver.send_event(event)
    again = await h.driver.send_event(event, event_id=first.event_id, retry_num=1)
    assert first.ok and again.ok
    await h.idle()
    assert [t for k, t in await _timeline(h, channel) if k == "scribe"] == ["db failover started"]
    async with h.bot.shared.db.session() as s:
        assert sum(n for _, n in await InboxRepo(s).summary()) == 3  # declare, scribe, message: nothing more


async def test_a_request_the_database_cannot_store_is_not_answered_200(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    if h.database_url.startswith("sqlite"):
        path = h.database_url.split("///", 1)[1]
        blocker = sqlite3.connect(path, timeout=0)
        blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the file past busy_timeout
        release = blocker.close
    else:
        release = await _refuse_connections(h.database_url)
    try:
        await h.bot.shared.db.engine.dispose()
        refused = await h.driver.command(h.alice, channel, "update still investigating")
        msg = h.emu.state.add_message(h.emu.channel(channel), h.bob, "seen", log=False)
        event = {
            **h.emu.state.message_dict(msg),
            "type": "message",
            "channel": channel,
            "channel_type": "channel",
        }
        event_refused = await h.driver.send_event(event)
    finally:
        await _maybe_await(release())
    assert refused.status >= 500 and event_refused.status >= 500
    retried = await h.driver.send_event(event, event_id=event_refused.event_id, retry_num=1)
    assert retried.ok, "Slack's retry of the refused event is stored"
    await h.idle()
    texts = [t for t in _bot_posts(h, channel) if "still investigating" in t]
    assert texts == [], "the refused command did nothing"


async def _refuse_connections(url: str):  # type: ignore[no-untyped-def]
    """Close the test database to new connections and end the open ones; returns the undo."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from storage.db import async_url
    from tests.harness import postgres_admin_url

    name = url.rsplit("/", 1)[1]
    admin = create_async_engine(async_url(postgres_admin_url()), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        await conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
        )

    async def undo() -> None:
        async with admin.connect() as conn:
            await conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        await admin.dispose()

    return undo


async def _maybe_await(value: object) -> None:
    if asyncio.iscoroutine(value):
        await value


async def test_given_up_work_is_said_in_the_channel_and_listed(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import _inbox_status

    h = harness
    channel = await h.declare("sev2 Checkout is down")
    h.emu.inject("conversations.setTopic", status=503, seconds=2 * 3600)
    await h.command(h.alice, channel, "update identified bad deploy")
    assert any("bad deploy" in t for t in _bot_posts(h, channel)), "the post went out; the topic is failing"
    for _ in range(40):  # the backoff grows to its cap; given up an hour after the acknowledgement
        await h.advance(minutes=2)
    async with h.bot.shared.db.session() as s:
        failed = await InboxRepo(s).failed()
    assert [f.op for f in failed] == ["update"]
    notices = [t for t in _bot_posts(h, channel) if "could not carry out `/incident update" in t]
    assert len(notices) == 1, _bot_posts(h, channel)
    assert h.bot.shared.metrics.inbox_failed.labels("update")._value.get() == 1
    assert await _inbox_status(h.settings()) == 0
    out = capsys.readouterr().out
    assert "failed\t1" in out and "/incident update identified bad deploy" in out, out


async def test_a_declaration_given_up_is_said_to_the_declarer(harness: Harness) -> None:
    h = harness
    h.emu.inject("conversations.create", status=503, seconds=2 * 3600)
    await h.command(h.alice, h.general, "declare sev2 Checkout is down")
    for _ in range(40):  # retried with backoff for an hour, then given up
        await h.advance(minutes=2)
    said = [m for m in h.emu.dms(h.alice) if "could not carry out `/incident declare" in m.get("text", "")]
    assert len(said) == 1, h.emu.dms(h.alice)
    assert not [c for c in h.emu.state.channels.values() if c.name.startswith("incident-")]


async def test_a_row_queued_behind_a_failing_one_gets_its_own_retry_budget(harness: Harness) -> None:
    """During a long outage, the update behind a given-up one is retried for `inbound_give_up` from
    its own first attempt, not given up at its first failure on the time of the row ahead of it."""
    from sqlalchemy import select

    from storage.models import InboxItem

    h = harness
    channel = await h.declare("sev2 Checkout is down")
    h.emu.inject("conversations.setTopic", status=503, seconds=90 * 60)  # longer than the give-up hour
    await h.command(h.alice, channel, "update identified bad deploy")
    await h.advance(seconds=2)
    await h.command(h.alice, channel, "update monitoring the rollback")  # queued behind the first
    for _ in range(32):  # ~64 min: the first is given up, the second has its first try right after
        await h.advance(minutes=2)
    async with h.bot.shared.db.session() as s:
        rows = {
            r.payload: r
            for r in (await s.execute(select(InboxItem).where(InboxItem.op == "update"))).scalars()
        }
    first = next(r for p, r in rows.items() if "bad deploy" in p)
    second = next(r for p, r in rows.items() if "rollback" in p)
    assert first.state == "failed", (first.state, first.attempts)
    assert second.first_attempt_at is not None and first.done_at is not None
    assert second.first_attempt_at >= first.done_at.replace(tzinfo=second.first_attempt_at.tzinfo), (
        "the second row's budget starts at its own first attempt, after the first was given up"
    )
    for _ in range(20):  # the outage ends at 90 min, inside the second row's own hour
        await h.advance(minutes=2)
    async with h.bot.shared.db.session() as s:
        second = await s.get(InboxItem, second.id, populate_existing=True)
    assert second is not None and second.state == "done", (second.state, second.attempts, second.last_error)
    assert second.attempts > 1, "its failed tries are counted: one per attempt of its own"
    notices = [t for t in _bot_posts(h, channel) if "could not carry out `/incident update" in t]
    assert len(notices) == 1 and "bad deploy" in notices[0], notices
    assert "Monitoring" in h.emu.channel(channel).topic["value"], "the second update's status is set"
