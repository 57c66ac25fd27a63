"""Roles, `/incident status` and `/incident list`."""

from __future__ import annotations

from datetime import timedelta

from slack_emulator.models import TEAM_ID
from storage.repositories import IncidentRepo
from tests.harness import Harness


async def test_assigning_roles_invites_posts_and_dms(harness: Harness) -> None:
    h = harness
    channel = await h.declare()
    carol = h.emu.add_user("carol", user_id="U0CAROL")
    await h.command(h.alice, channel, f"scribe <@{h.bob}|bob>")
    await h.command(h.alice, channel, f"comms <@{carol}>")
    await h.command(h.alice, channel, f"ic <@{h.bob}|bob>")
    async with h.bot.shared.db.session() as s:
        inc = await IncidentRepo(s, TEAM_ID).by_channel(channel)
    assert inc is not None
    assert (inc.commander_id, inc.scribe_id, inc.comms_id) == (h.bob, h.bob, carol)

    invited = [
        c.params["users"] for c in h.emu.calls_to("conversations.invite") if c.params["channel"] == channel
    ]
    assert invited == [h.alice, h.bob, carol, h.bob]
    ch = h.emu.channel(channel)
    assert ch is not None and {h.bob, carol} <= set(ch.members)
    posts = [m["text"] for m in h.emu.messages(channel)]
    assert any(f"<@{h.bob}> is now scribe" in t for t in posts)
    assert any(f"<@{carol}> is now communications lead" in t for t in posts)
    assert any(f"<@{h.bob}> is now incident commander" in t for t in posts)
    bob_dms = " ".join(str(m.get("blocks")) for m in h.emu.dms(h.bob))
    assert "records the timeline" in bob_dms and "coordinates the response" in bob_dms
    assert "stakeholders" in str(h.emu.dms(carol))
    assert h.emu.calls_to("conversations.open")
    # The topic follows the commander.
    assert f"IC <@{h.bob}>" in h.emu.calls_to("conversations.setTopic")[-1].params["topic"]


async def test_role_input_mistakes_are_explained(harness: Harness) -> None:
    h = harness
    channel = await h.declare()
    calls = len(h.emu.calls)
    await h.command(h.alice, channel, "scribe @bob")
    assert "autocomplete" in h.emu.ephemerals(h.alice)[-1]["text"]
    await h.command(h.alice, channel, "comms")
    assert "Who?" in h.emu.ephemerals(h.alice)[-1]["text"]
    await h.command(h.alice, h.general, f"scribe <@{h.bob}>")
    assert "only works in an incident channel" in h.emu.responses[-1]["text"]
    await h.command(h.alice, channel, f"ic <@{h.alice}>")
    assert "already the incident commander" in h.emu.responses[-1]["text"]
    assert [c.method for c in h.emu.calls[calls:]] == [], "bad input changed nothing in Slack"


async def test_status_and_list(harness: Harness) -> None:
    h = harness
    first = await h.declare("sev3 Slow search")
    h.clock.advance(timedelta(minutes=10))
    second = await h.declare("p0 Payments down")
    await h.command(h.alice, second, f"scribe <@{h.bob}>")
    h.clock.advance(timedelta(minutes=5))
    await h.command(h.alice, second, "update identified Card processor timeouts")
    h.clock.advance(timedelta(minutes=20))

    await h.command(h.bob, second, "status")
    shown = h.emu.responses[-1]
    assert shown["response_type"] == "ephemeral"
    body = str(shown["blocks"])
    for expected in ("SEV1", "Identified", f"<@{h.alice}>", f"<@{h.bob}>", "25m", "Card processor timeouts"):
        assert expected in body, expected

    await h.command(h.alice, h.general, "list")
    listing = str(h.emu.responses[-1]["blocks"])
    assert listing.index(f"<#{second}>") < listing.index(f"<#{first}>"), "worst severity first"
    assert "35m" in listing and "25m" in listing
    await h.command(h.alice, first, "resolve Reindexed")
    await h.command(h.alice, h.general, "list")
    assert f"<#{first}>" not in str(h.emu.responses[-1]["blocks"])


async def test_a_role_goes_to_nobody_who_cannot_be_invited_and_never_to_the_bot(harness: Harness) -> None:
    from storage.repositories import IncidentRepo

    h = harness
    channel = await h.declare("sev2 Checkout is down")
    posts = len(h.emu.messages(channel))
    await h.command(h.alice, channel, "scribe <@U0NOBODY>")
    await h.command(h.alice, channel, "scribe <@U0BOT>")
    said = [e.get("text", "") for e in h.emu.ephemerals(h.alice)]
    assert any("Could not invite <@U0NOBODY> (user_not_found)" in t for t in said), said
    assert any("The bot cannot be the scribe" in t for t in said), said
    async with h.bot.shared.db.session() as s:
        incident = await IncidentRepo(s, TEAM_ID).by_channel(channel)
    assert incident is not None and incident.scribe_id is None
    assert len(h.emu.messages(channel)) == posts, "nothing was announced"
