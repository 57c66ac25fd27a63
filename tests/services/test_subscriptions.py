"""Stakeholders: `/incident subscribe` in an incident channel or with INC-n, each update, the resolution
and a change of severity by DM, unsubscribing, private incidents, and DMs sent once however Slack
fails or the bot restarts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from slack_emulator.models import TEAM_ID
from storage.models import Subscription
from storage.repositories import IncidentRepo
from storage.subscriptions import SubscriptionRepo
from tests.harness import Harness

CAROL, DAVE = "U0CAROL", "U0DAVE"
TITLE = "Embargoed breach at Globex"


def _news(h: Harness, user: str, words: str) -> list[dict[str, Any]]:
    """The DMs `user` got that carry `words`."""
    return [m for m in h.emu.dms(user) if words in str(m.get("blocks"))]


def _answer(h: Harness, user: str) -> str:
    """What `user` was last answered, only to them."""
    last = h.emu.ephemerals(user)[-1]
    return f"{last['text']} {last.get('blocks') or ''}"


async def _subscriptions(h: Harness) -> list[tuple[int, str]]:
    async with h.bot.shared.db.session() as s:
        rows = await s.execute(select(Subscription.incident_id, Subscription.user_id))
        return sorted((i, u) for i, u in rows.all())


async def _advance_until(h: Harness, seconds: float, step: float = 5.0) -> None:
    """Move the clock in steps (as time passes), carrying out what falls due at each."""
    moved = 0.0
    while moved < seconds:
        await h.advance(seconds=step)
        moved += step


async def test_subscribers_get_each_update_the_severity_and_the_resolution_until_they_unsubscribe(
    harness: Harness,
) -> None:
    h = harness
    h.emu.add_user("carol", user_id=CAROL)
    channel = await h.declare("sev3 Checkout is slow")

    await h.command(h.bob, channel, "subscribe")
    assert "Subscribed to INC-1" in _answer(h, h.bob) and "Checkout is slow" in _answer(h, h.bob)
    await h.command(CAROL, h.general, "subscribe INC-1")
    assert "Subscribed to INC-1" in _answer(h, CAROL)
    await h.command(CAROL, h.general, "subscribe inc-1")
    assert "already subscribed to INC-1" in _answer(h, CAROL)

    await h.command(h.alice, channel, "update identified A bad deploy of checkout-api")
    for user in (h.bob, CAROL):
        [dm] = _news(h, user, "A bad deploy of checkout-api")
        shown = str(dm["blocks"])
        assert "INC-1 update · Identified" in shown and "Investigating → Identified" in shown
        assert f"<#{channel}>" in shown and f"<@{h.alice}>" in shown and "Checkout is slow" in shown
        assert "/incident unsubscribe INC-1" in shown
    assert not h.emu.dms(h.alice), "nobody is sent what they did not subscribe to"

    await h.command(h.alice, channel, "severity sev1")
    assert len(_news(h, CAROL, "raised from *SEV3* to *SEV1*")) == 1
    assert len(_news(h, h.bob, "raised from *SEV3* to *SEV1*")) == 1

    await h.command(h.bob, channel, "unsubscribe")
    assert "Unsubscribed from INC-1" in _answer(h, h.bob)
    await h.command(h.bob, channel, "unsubscribe")
    assert "not subscribed to INC-1" in _answer(h, h.bob)

    await h.command(h.alice, channel, "resolve Rolled back the deploy")
    [resolved] = _news(h, CAROL, "Rolled back the deploy")
    assert "INC-1 resolved" in str(resolved["blocks"]) and "Resolved after" in str(resolved["blocks"])
    assert _news(h, h.bob, "Rolled back the deploy") == [], "bob unsubscribed"
    assert len(_news(h, CAROL, "A bad deploy of checkout-api")) == 1, "each piece of news once"

    # Outside an incident channel, `subscribe` alone lists yours.
    await h.command(CAROL, h.general, "subscribe")
    assert (
        "Your subscriptions" in _answer(h, CAROL)
        and "INC-1" in _answer(h, CAROL)
        and "resolved" in _answer(h, CAROL)
    )
    await h.command(h.bob, h.general, "subscribe")
    assert "subscribed to no incidents" in _answer(h, h.bob)


async def test_the_author_is_not_sent_their_own_news_and_nothing_in_a_dm_pings(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 <!channel> Search is down <@U0BOB>")
    await h.command(h.alice, channel, "subscribe")
    await h.command(h.bob, h.general, "subscribe #nowhere")
    assert "is not an incident" in _answer(h, h.bob)
    await h.command(h.bob, h.general, "unsubscribe INC-7")
    assert "not subscribed to INC-7" in _answer(h, h.bob)
    await h.command(h.alice, channel, "update Reindexing")
    assert _news(h, h.alice, "Reindexing") == []
    await h.command(h.bob, channel, "update <!here> Reindexing half done " + "x" * 2800)
    [dm] = _news(h, h.alice, "Reindexing half done")
    shown = dm["text"] + str(dm["blocks"])
    assert "<!" not in shown and "@here" in shown and "@channel" in shown
    assert f"<@{h.bob}>" in shown, "the bot's own mention of who posted it"
    assert all(len(b["text"]["text"]) <= 3000 for b in dm["blocks"] if b["type"] == "section")


async def test_a_private_incident_takes_subscribers_only_from_its_channel(harness: Harness) -> None:
    h = harness
    h.emu.add_user("carol", user_id=CAROL)
    channel = await h.declare(f"--private sev1 {TITLE}")

    await h.command(CAROL, h.general, "subscribe INC-1")
    refused = _answer(h, CAROL)
    assert "no incident INC-1 you can subscribe to" in refused
    assert not any(word in refused.lower() for word in ("embargoed", "breach", "globex"))
    await h.command(CAROL, h.general, "subscribe INC-2")
    assert _answer(h, CAROL).replace("INC-2", "INC-1") == refused, (
        "a private incident reads as no incident at all"
    )
    assert await _subscriptions(h) == []

    h.emu.state.channel(channel).members.append(CAROL)
    await h.command(CAROL, h.general, "subscribe INC-1")
    assert "Subscribed to INC-1" in _answer(h, CAROL) and "Globex" in _answer(h, CAROL)
    await h.command(h.alice, channel, "update Keys rotated")
    assert len(_news(h, CAROL, "Keys rotated")) == 1

    # Removed from the channel: nothing more, and the list names it by its ref only.
    h.emu.state.channel(channel).members.remove(CAROL)
    await h.command(h.alice, channel, "update Customers told")
    assert _news(h, CAROL, "Customers told") == []
    await h.command(CAROL, h.general, "subscribe")
    assert "INC-1" in _answer(h, CAROL) and "Globex" not in _answer(h, CAROL)


async def test_a_dm_slack_refuses_for_a_while_is_sent_once_when_it_is_back(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    await h.command(h.bob, channel, "subscribe")
    h.emu.inject("conversations.open", status=503, seconds=90)

    await h.command(h.alice, channel, "update Failing over to the replica")
    updates = [m for m in h.emu.messages(channel) if "Failing over" in str(m.get("blocks"))]
    assert len(updates) == 1, "the update is posted whatever the DMs do"
    assert _news(h, h.bob, "Failing over") == []
    await h.command(h.alice, channel, "note the replica is warm")
    _, entries = await h.bot.ctx.timeline.entries(channel)
    assert any("replica is warm" in e.text for e in entries), "the channel is not held up behind the DMs"

    await _advance_until(h, 240)
    assert len(_news(h, h.bob, "Failing over")) == 1


async def test_a_restart_in_the_middle_of_sending_sends_each_dm_once(harness: Harness) -> None:
    h = harness
    people = [h.emu.add_user(f"watcher{i}", user_id=f"U0WATCH{i}") for i in range(5)]
    channel = await h.declare("sev2 Payments are slow")
    for user in people:
        await h.command(user, channel, "subscribe")
    h.emu.inject("conversations.open", status=503, times=1)  # one DM of the five fails

    await h.command(h.alice, channel, "update Throttling the batch jobs")
    sent = [u for u in people if _news(h, u, "Throttling the batch jobs")]
    assert len(sent) == 4, sent

    await h.restart()
    await _advance_until(h, 60)
    assert all(len(_news(h, u, "Throttling the batch jobs")) == 1 for u in people)
    dms = [c for c in h.emu.calls_to("chat.postMessage") if "Throttling the batch jobs" in str(c.params)]
    assert len(dms) == 1 + 5, "the channel's post and one DM each"


async def test_a_hundred_subscribers_do_not_hold_up_the_update_or_the_channel(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev1 Everything is on fire")
    people = [h.emu.add_user(f"stakeholder{i}", user_id=f"U0STAKE{i:03d}") for i in range(100)]
    async with h.bot.shared.db.session() as s:
        incident = await IncidentRepo(s, TEAM_ID).by_channel(channel)
        assert incident is not None
        for user in people:
            await SubscriptionRepo(s, TEAM_ID).add(incident.id, user, h.clock.now())
    h.bot.shared.worker.start()  # as in `serve`: requests are carried out while more arrive
    h.emu.latency = 0.02

    assert (await h.driver.command(h.alice, channel, "update Fire brigade called")).ok
    assert (await h.driver.command(h.alice, channel, "note hoses connected")).ok
    noted = lambda: any("hoses connected" in str(m) for m in h.emu.messages(channel))  # noqa: E731
    await h.emu.wait_for(noted, 20)
    told = sum(1 for u in people if _news(h, u, "Fire brigade called"))
    assert told < 100, "the next request in the channel went ahead while the DMs were being sent"
    await h.emu.wait_for(lambda: all(_news(h, u, "Fire brigade called") for u in people), 60)
    assert all(len(_news(h, u, "Fire brigade called")) == 1 for u in people)
    async with h.bot.shared.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Subscription))).scalar_one() == 100
