"""Workflow steps that reach people or mark the channel, end to end: `dm` (people, user groups, a role;
one DM each, never repeated by a retry), `checklist` (ticks on the timeline with who and when) and
`bookmark` (bookmarks.add)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from slack_emulator.render import checkboxes
from storage.models import TimelineEntry
from tests.harness import Harness

LIVE = ("<!channel>", "<!here>", "<@U0EVIL>", "<https://evil.example.com")
HOSTILE_TITLE = "Pay <!channel> <@U0EVIL> <https://evil.example.com|click>"


def _exec_team(h: Harness) -> None:
    h.emu.add_user("ana", user_id="U0ANA")
    h.emu.add_user("eve", user_id="U0EVE")
    h.emu.add_usergroup("exec-team", ["U0ANA", "U0EVE"], group_id="S0EXEC")


async def _entries(h: Harness, kind: str) -> list[tuple[str, str | None]]:
    async with h.bot.shared.db.session() as s:
        rows = await s.execute(
            select(TimelineEntry.text, TimelineEntry.author_id)
            .where(TimelineEntry.kind == kind)
            .order_by(TimelineEntry.id)
        )
        return [(text, author) for text, author in rows.all()]


DM = {
    "name": "tell-leads",
    "on": "declared",
    "do": [
        {"dm": {"to": ["@exec-team", "U0BOB", "commander", "scribe"], "text": "Join {{ incident.title }}"}}
    ],
}


@pytest.mark.parametrize("policy_data", [{"workflows": [DM]}])
async def test_a_dm_reaches_people_groups_and_a_role_once_each(harness: Harness) -> None:
    h = harness
    _exec_team(h)
    channel = await h.declare(f"sev2 {HOSTILE_TITLE}")
    for person in ("U0ANA", "U0EVE", h.bob, h.alice):  # alice declared it: the commander
        [dm] = [m for m in h.emu.dms(person) if "Join" in (m.get("text") or "")]
        said = str(dm["blocks"]) + dm["text"]
        for live in LIVE:
            assert live not in said, live
        assert f"<#{channel}>" in str(dm["blocks"]) and "tell-leads" in str(dm["blocks"])
    [failed] = [m for m in h.emu.messages(channel) if "Workflow *tell-leads*" in (m.get("text") or "")]
    assert failed["text"] == (
        ":warning: Workflow *tell-leads*: step 1 of 1 (`dm`) failed: sent a DM to @exec-team, <@U0BOB>, "
        "the commander <@U0ALICE>, but there is no scribe. The other steps carry on."
    ), "nobody holds the scribe role: said once the others have theirs"
    await h.advance(minutes=10)
    assert len([m for m in h.emu.dms("U0ANA") if "Join" in (m.get("text") or "")]) == 1


RETRIED = {
    "name": "tell-exec",
    "on": "status_changed",
    "if": {"to": "mitigating"},
    "do": [{"dm": {"to": ["U0ANA", "U0EVE"], "text": "Mitigating {{ incident.number }}"}}],
}


@pytest.mark.parametrize("policy_data", [{"workflows": [RETRIED]}])
async def test_a_retried_run_does_not_repeat_a_dm(harness: Harness) -> None:
    h = harness
    _exec_team(h)
    channel = await h.declare("sev2 Checkout is down")
    first = h.emu.hold("conversations.open")
    await h.driver.command(h.alice, channel, "update mitigating Rolling back")
    working = asyncio.create_task(h.idle())
    await asyncio.wait_for(first.arrived.wait(), 10)  # ana's DM being opened
    second = h.emu.hold("conversations.open")
    first.release()
    await asyncio.wait_for(second.arrived.wait(), 10)  # eve's: ana has hers
    h.emu.inject("conversations.open", status=503)
    second.release()
    await asyncio.wait_for(working, 10)
    assert [m["text"] for m in h.emu.dms("U0ANA")] == ["Mitigating INC-1"]
    assert h.emu.dms("U0EVE") == []

    await h.advance(seconds=5)  # past the retry's backoff
    assert [m["text"] for m in h.emu.dms("U0ANA")] == ["Mitigating INC-1"], "not sent again"
    assert [m["text"] for m in h.emu.dms("U0EVE")] == ["Mitigating INC-1"]
    [(entry, _)] = await _entries(h, "workflow")
    assert entry == "Workflow *tell-exec*: sent a DM to <@U0ANA>, <@U0EVE>"


UNKNOWN = {
    "name": "tell-execs",
    "on": "declared",
    "do": [{"dm": {"to": ["S0NOPE", "U0NOSUCH", "U0ANA", "S0EXEC"], "text": "Join {{ incident.number }}"}}],
}


@pytest.mark.parametrize("policy_data", [{"workflows": [UNKNOWN]}])
async def test_a_group_or_person_slack_does_not_know_stops_no_other_dm(harness: Harness) -> None:
    h = harness
    _exec_team(h)
    channel = await h.declare("sev2 Checkout is down")
    assert [m["text"] for m in h.emu.dms("U0ANA")] == ["Join INC-1"], "once, though named twice"
    assert [m["text"] for m in h.emu.dms("U0EVE")] == ["Join INC-1"]
    [failed] = [m for m in h.emu.messages(channel) if "Workflow *tell-execs*" in (m.get("text") or "")]
    assert failed["text"] == (
        ":warning: Workflow *tell-execs*: step 1 of 1 (`dm`) failed: sent a DM to <@U0ANA>, @exec-team, "
        "but there is no user group S0NOPE and could not send a DM to <@U0NOSUCH> (user_not_found). "
        "The other steps carry on."
    )


PRIVATE = {
    "name": "tell-private",
    "on": "declared",
    "do": [
        {"dm": {"to": ["U0ANA", "commander"], "text": "About {{ incident.title }} ({{ incident.number }})"}}
    ],
}


@pytest.mark.parametrize("policy_data", [{"workflows": [PRIVATE]}])
async def test_a_private_incidents_dm_is_redacted_for_people_outside_its_channel(harness: Harness) -> None:
    h = harness
    _exec_team(h)
    channel = await h.declare("--private sev2 Keys leaked")
    assert h.alice in h.emu.channel(channel).members and "U0ANA" not in h.emu.channel(channel).members
    [inside] = h.emu.dms(h.alice)  # the commander, in the channel
    assert inside["text"] == "About Keys leaked (INC-1)"
    [outside] = h.emu.dms("U0ANA")
    assert outside["text"] == "About a private incident (INC-1)"
    assert "Keys leaked" not in str(outside["blocks"])


CHECKLIST = {
    "name": "sev1-checklist",
    "on": "declared",
    "do": [
        {
            "checklist": {
                "title": "First steps <!here>",
                "items": ["Freeze deploys <!channel>", "Tell support <@U0EVIL>", "Open the bridge"],
            }
        }
    ],
}


def _checklist(h: Harness, channel: str) -> dict[str, Any]:
    [message] = [m for m in h.emu.messages(channel) if (m.get("text") or "").startswith("Checklist:")]
    return message


@pytest.mark.parametrize("policy_data", [{"workflows": [CHECKLIST]}])
async def test_a_checklists_ticks_go_on_the_timeline_with_who_and_when(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev1 Payments are failing")
    message = _checklist(h, channel)
    said = str(message["blocks"]) + message["text"]
    for live in (*LIVE, "<!here>"):
        assert live not in said, live
    boxes = [b.action_id for b in checkboxes(message["blocks"])]
    assert len(boxes) == 3
    [(entry, _)] = await _entries(h, "workflow")
    assert entry == "Workflow *sev1-checklist*: posted the checklist “First steps @here” (3 items)"

    h.clock.advance(timedelta(minutes=4))
    await h.driver.check(h.bob, channel, message["ts"], boxes[1])
    await h.idle()
    [(tick, by)] = await _entries(h, "checklist")
    assert (tick, by) == ("Checked: Tell support <@U0EVIL>", h.bob), "kept as written, escaped when shown"
    message = _checklist(h, channel)
    [ticked] = [b for b in message["blocks"] if (b.get("accessory") or {}).get("action_id") == boxes[1]]
    assert ticked["accessory"]["initial_options"] == ticked["accessory"]["options"]
    assert "checked by <@U0BOB> at" in ticked["text"]["text"] and "<@U0EVIL>" not in ticked["text"]["text"]

    await h.driver.check(h.alice, channel, message["ts"], boxes[1])  # seen unticked on a stale screen
    await h.idle()
    assert len(await _entries(h, "checklist")) == 1, "an item already ticked is not recorded again"
    await h.driver.check(h.alice, channel, message["ts"], boxes[1], ticked=False)
    await h.idle()
    assert [e for e, _ in await _entries(h, "checklist")] == [
        "Checked: Tell support <@U0EVIL>",
        "Unchecked: Tell support <@U0EVIL>",
    ]
    assert all(not b.ticked for b in checkboxes(_checklist(h, channel)["blocks"]))


BOOKMARK = {
    "name": "dashboards",
    "on": "declared",
    "do": [{"bookmark": {"title": "Status <!channel>", "url": "https://grafana.example.com/d/status"}}],
}


@pytest.mark.parametrize("policy_data", [{"workflows": [BOOKMARK]}])
async def test_a_bookmark_is_added_to_the_channel(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    [call] = h.emu.calls_to("bookmarks.add")
    assert call.params["channel_id"] == channel and call.params["type"] == "link"
    assert call.params["link"] == "https://grafana.example.com/d/status"
    assert "<!channel>" not in call.params["title"]
    assert [b["link"] for b in h.emu.channel(channel).bookmarks] == ["https://grafana.example.com/d/status"]
    [(entry, _)] = await _entries(h, "workflow")
    assert entry == "Workflow *dashboards*: bookmarked “Status @channel”"
