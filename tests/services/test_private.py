"""Private incidents: a private channel whose title never reaches the announce channel, a
non-member's `/incident list`, a webhook without `include_private`, or the status page."""

from __future__ import annotations

import pytest

from storage.models import Incident
from tests.harness import Harness, paged, team
from tests.receivers import Receiver

TITLE = "Embargoed breach at Globex"
WORDS = ("embargoed", "breach", "globex")


@pytest.fixture
def policy_data(hooks: Receiver, statuspage: Receiver, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("STATUSPAGE_API_KEY", "sp-api-key")
    return {
        "webhooks": [
            {"url": hooks.url + "/public", "secret": "hook-secret-1"},
            {"url": hooks.url + "/trusted", "secret": "hook-secret-2", "include_private": True},
        ],
        "escalation": {"levels": [{"name": "L1", "users": ["U0ONCALL"], "after": "0s"}]},
        "statuspage": {"page_id": "page123", "api_url": statuspage.url + "/v1"},
    }


def _mentions_title(text: str) -> bool:
    return any(word in text.lower() for word in WORDS)


async def test_a_private_incident_keeps_its_title_to_its_members(
    harness: Harness, hooks: Receiver, statuspage: Receiver
) -> None:
    h = harness
    team(h)
    carol = h.emu.add_user("carol", user_id="U0CAROL")
    channel = await h.declare(f"--private sev1 {TITLE}")

    created = h.emu.calls_to("conversations.create")[-1]
    assert created.params["is_private"] in (True, "true", "1")
    name = created.response["channel"]["name"]
    assert name.endswith("-private") and not _mentions_title(name)
    assert h.emu.state.channel(channel).is_private
    assert h.alice in h.emu.state.channel(channel).members

    # The announcement: severity and who, nothing about what.
    announced = [str(m) for m in h.emu.messages(h.announce)]
    assert announced and all(not _mentions_title(m) for m in announced)
    assert any("private SEV1" in m and h.alice in m for m in announced)
    assert not any(channel in m for m in announced), "no link to the private channel"

    # The page names it: the person paged needs it to act; acknowledging lets them in.
    await h.tick()
    page = paged(h)
    assert page and any(_mentions_title(str(m.get("blocks"))) for m in h.emu.dms("U0ONCALL"))
    dm = h.emu.dms("U0ONCALL")[-1]
    await h.driver.click("U0ONCALL", h.emu.state.open_dm("U0ONCALL").id, dm["ts"], "page_acknowledge")
    await h.idle()
    assert "U0ONCALL" in h.emu.state.channel(channel).members

    # /incident list: a member sees it, a non-member does not.
    await h.command(carol, h.general, "list")
    assert not _mentions_title(str(h.emu.state.responses[-1]))
    await h.command(h.alice, h.general, "list")
    assert _mentions_title(str(h.emu.state.responses[-1]))

    # Messages in the private channel (message.groups) feed the timeline.
    ts = await h.driver.say(h.alice, channel, "rotated the leaked keys")
    await h.driver.react(h.alice, channel, ts, "pushpin")
    await h.idle()
    _, entries = await h.bot.ctx.timeline.entries(channel)
    assert any("rotated the leaked keys" in e.text for e in entries)

    # Webhooks: only the trusted receiver hears what it is.
    await h.bot.shared.outbox.deliver_due()
    public = [r.json for r in hooks.delivered() if r.path == "/public"]
    trusted = [r.json for r in hooks.delivered() if r.path == "/trusted"]
    assert public and trusted
    assert all(not _mentions_title(str(event)) and event["incident"]["private"] for event in public)
    assert all("channel" not in event["incident"] for event in public)
    assert any(_mentions_title(str(event)) for event in trusted)

    # The status page is refused, and nothing reaches it.
    await h.command(h.alice, channel, "statuspage investigating We are looking into it")
    assert "private" in str(h.emu.state.responses[-1])
    assert statuspage.delivered() == []

    # Resolving announces that a private incident ended, not which.
    await h.command(h.alice, channel, "resolve keys rotated, customer told")
    assert all(not _mentions_title(str(m)) for m in h.emu.messages(h.announce))
    async with h.bot.shared.db.session() as s:
        row = await s.get(Incident, 1)
    assert row is not None and row.private and row.number == 1


async def test_the_declare_form_has_a_private_checkbox(harness: Harness) -> None:
    h = harness
    await h.command(h.alice, h.general, "declare --private")
    view = h.emu.calls_to("views.open")[-1].params["view"]
    assert "private" in str(view).lower() and "initial_options" in str(view)
