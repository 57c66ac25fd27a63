"""Who may do what: `[permissions]`, escalation within the severity's reach, the page DM's promise."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from slack_emulator.models import TEAM_ID
from storage.inbox import InboxRepo
from storage.repositories import IncidentRepo
from tests.harness import LEVELS, Harness, click_as

POLICY: dict[str, Any] = {**LEVELS, "permissions": {"responders_usergroup": "S0SRE"}}


@pytest.fixture
def policy_data() -> dict:
    return copy.deepcopy(POLICY)


def _people(h: Harness) -> dict[str, str]:
    ids = {
        name: h.emu.add_user(name, user_id=f"U0{name.upper()}") for name in ("oncall", "lead", "em", "cto")
    }
    ids |= {name: h.emu.add_user(name, user_id=f"U0{name.upper()}") for name in ("carol", "sre", "mallory")}
    h.emu.add_usergroup("managers", [ids["em"]], group_id="S0MANAGERS")
    h.emu.add_usergroup("sre", [ids["sre"]], group_id="S0SRE")
    return ids


async def _incident(h: Harness, channel: str) -> Any:
    async with h.bot.shared.db.session() as s:
        return await IncidentRepo(s, TEAM_ID).by_channel(channel)


def _last_reply(h: Harness, user: str) -> str:
    return str(h.emu.ephemerals(user)[-1]["text"])


async def test_outsiders_cannot_resolve_change_severity_assign_roles_or_publish(harness: Harness) -> None:
    h = harness
    people = _people(h)
    channel = await h.declare("sev2 Checkout is down")
    h.emu.channel(channel).members.append(people["mallory"])  # opened the public channel and joined
    before = await _incident(h, channel)
    posts = len(h.emu.messages(channel))
    announced = len(h.emu.messages(h.announce))

    for text in ("resolve it is fine", "severity sev4", "commander <@U0MALLORY>", "scribe <@U0MALLORY>",
                 "statuspage investigating We are looking into it"):  # fmt: skip
        await h.command(people["mallory"], channel, text)
        reply = _last_reply(h, people["mallory"])
        assert "Only responders can" in reply and "Nothing was changed" in reply, (text, reply)
        assert f"its commander <@{h.alice}>" in reply and "L1 On-call engineer" in reply, reply
        assert "`S0SRE`" in reply, reply

    after = await _incident(h, channel)
    assert (after.status, after.severity, after.commander_id, after.scribe_id) == (
        before.status, before.severity, before.commander_id, None,
    )  # fmt: skip
    assert len(h.emu.messages(channel)) == posts, "nothing was posted in the channel"
    assert len(h.emu.messages(h.announce)) == announced
    assert not h.emu.dms(people["mallory"]), "no role DM"

    # Anyone in the channel still posts updates and notes and reads the timeline.
    await h.command(people["mallory"], channel, "update Seeing 502s from the edge")
    await h.command(people["mallory"], channel, "note Rolled back the CDN config")
    await h.command(people["mallory"], channel, "timeline")
    assert "Rolled back the CDN config" in str(h.emu.ephemerals(people["mallory"])[-1])
    assert len(h.emu.messages(channel)) == posts + 2


@pytest.mark.parametrize("who", ["scribe", "level user", "level group", "responders group", "paged"])
async def test_responders_may(harness: Harness, who: str) -> None:
    h = harness
    people = _people(h)
    channel = await h.declare("sev1 Payments are failing")
    user = {
        "scribe": people["carol"],
        "level user": people["cto"],
        "level group": people["em"],
        "responders group": people["sre"],
        "paged": people["oncall"],
    }[who]
    if who == "scribe":
        # Carried out in order: the role given just before counts for the next request.
        await h.driver.command(h.alice, channel, f"scribe <@{user}>")
    if who == "paged":
        await h.tick()
    await h.command(user, channel, "severity sev2")
    await h.command(user, channel, "resolve Card processor back")
    incident = await _incident(h, channel)
    assert (incident.severity, incident.status) == ("SEV2", "resolved"), h.emu.ephemerals(user)


async def test_a_role_handed_over_leaves_the_old_holder_an_outsider(harness: Harness) -> None:
    h = harness
    people = _people(h)
    channel = await h.declare("sev3 Search is slow")
    await h.command(h.alice, channel, f"commander <@{people['carol']}>")
    await h.command(h.alice, channel, "resolve done")
    assert "Only responders can resolve" in _last_reply(h, h.alice)
    assert (await _incident(h, channel)).is_open
    await h.command(people["carol"], channel, "resolve done")
    assert not (await _incident(h, channel)).is_open


async def test_permissions_are_configurable(harness: Harness) -> None:
    h = harness
    people = _people(h)
    h.policy = h.policy_for(
        escalation=POLICY["escalation"], permissions={"resolve": "anyone", "note": "responders"}
    )
    await h.restart()
    channel = await h.declare("sev3 Search is slow")
    await h.command(people["mallory"], channel, "note I think it is DNS")
    assert "Only responders can add notes to" in _last_reply(h, people["mallory"])
    await h.command(people["mallory"], channel, "resolve it was DNS")
    assert not (await _incident(h, channel)).is_open


async def test_escalate_stays_within_the_severity_reach(harness: Harness) -> None:
    h = harness
    people = _people(h)
    channel = await h.declare("sev4 Typo in the footer")
    await h.tick()
    assert len(h.emu.dms(people["oncall"])) == 1
    dms_before = sum(len(h.emu.dms(u)) for u in people.values())

    await h.command(people["mallory"], channel, "escalate")  # anyone may escalate, within reach
    reply = _last_reply(h, people["mallory"])
    assert "SEV4 reaches L1 (On-call engineer)" in reply, reply
    assert "`/incident severity sev3`" in reply, reply
    await h.advance(hours=3)
    assert sum(len(h.emu.dms(u)) for u in people.values()) == dms_before, "nobody beyond L1 was paged"

    await h.command(h.alice, channel, "severity sev3")
    await h.command(people["mallory"], channel, "escalate")
    assert len(h.emu.dms(people["lead"])) == 1, "after raising the severity, L2 is in reach"
    await h.command(people["mallory"], channel, "escalate")
    assert "SEV3 reaches L2 (Team lead)" in _last_reply(h, people["mallory"])
    assert "`/incident severity sev2`" in _last_reply(h, people["mallory"])
    assert not h.emu.dms(people["em"]) and not h.emu.dms(people["cto"])


async def test_escalate_now_button_stays_within_reach(harness: Harness) -> None:

    h = harness
    people = _people(h)
    await h.declare("sev4 Typo in the footer")
    await h.tick()
    await click_as(h, people["oncall"], people["oncall"], "page_escalate")
    assert "SEV4 reaches L1" in _last_reply(h, people["oncall"])
    assert not h.emu.dms(people["lead"])


async def test_the_page_says_acknowledging_does_not_stop_the_management_levels(harness: Harness) -> None:

    h = harness
    people = _people(h)
    await h.declare("sev1 Payments are failing")
    await h.tick()
    [page] = h.emu.dms(people["oncall"])
    text = str(page["blocks"])
    assert "does not stop escalation" in text
    for level in (
        "L2 Team lead at 03:30 UTC",
        "L3 Engineering manager at 04:00 UTC",
        "L4 CTO/VP at 05:00 UTC",
    ):
        assert level in text, (level, text)
    await click_as(h, people["oncall"], people["oncall"], "page_acknowledge")
    [acked] = h.emu.dms(people["oncall"])
    assert "Acknowledged by" in str(acked["blocks"]) and "L2 Team lead at 03:30 UTC" in str(acked["blocks"])
    await h.advance(minutes=30)
    assert len(h.emu.dms(people["lead"])) == 1, "acknowledged, yet L2 follows the runbook"


async def test_nul_and_lone_surrogates_from_slack_are_dropped_not_fatal(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev3 Search is slow")
    await h.command(h.alice, channel, "note restarted\x00 the indexer")
    ts = await h.driver.say(h.alice, channel, "seen\x00 at the \ud800edge")
    await h.driver.react(h.alice, channel, ts, "pushpin")
    await h.idle()
    _, entries = await h.bot.ctx.timeline.entries(channel)
    texts = [e.text for e in entries]
    assert "restarted the indexer" in texts and "seen at the \ufffdedge" in texts, texts
    async with h.bot.shared.db.session() as s:
        assert dict(await InboxRepo(s).summary()).get("failed", 0) == 0
