"""`/incident expert [area]`: a service's experts listed, or one area's user group invited and said."""

from __future__ import annotations

from pathlib import Path

import pytest

from slack_emulator.models import TEAM_ID
from storage.repositories import IncidentRepo, TimelineRepo
from tests.harness import Harness

RUNBOOKS = Path(__file__).parent / "runbooks"
SEARCH = Path(__file__).parents[1] / "domain" / "runbooks" / "search_service.md"
DBAS = ["U0DBA1", "U0DBA2"]


@pytest.fixture
def policy_data() -> dict:
    return {
        "services": [
            {"name": "search", "runbook": str(SEARCH)},
            {
                "name": "cache",
                "runbook": str(RUNBOOKS / "cache.md"),
                "experts": {"memory <!channel>": "@cache-team", "storage": "@dba-team"},
            },
        ],
    }


def dbas(h: Harness) -> None:
    """@dba-team: two DBAs, and Alice (who declares, so is in the channel already)."""
    for user in DBAS:
        h.emu.add_user(user.lower(), user_id=user)
    h.emu.add_usergroup("dba-team", [*DBAS, h.alice], group_id="S0DBA")


def invited(h: Harness, channel: str) -> list[str]:
    """The users of each conversations.invite into `channel` after the declarer's own."""
    calls = [c for c in h.emu.calls_to("conversations.invite") if c.params["channel"] == channel]
    return [c.params["users"] for c in calls[1:]]


async def timeline(h: Harness, channel: str) -> list[tuple[str, str, str | None]]:
    async with h.bot.shared.db.session() as s:
        incident = await IncidentRepo(s, TEAM_ID).by_channel(channel)
        assert incident is not None
        entries = await TimelineRepo(s).for_incident(incident.id)
    return [(e.kind, e.text, e.author_id) for e in entries if e.kind == "expert"]


def said(h: Harness, channel: str) -> list[str]:
    return [
        m.get("text", "")
        for m in h.emu.messages(channel)
        if "called on" in m.get("text", "") or "brought in" in m.get("text", "")
    ]


def answered(h: Harness) -> str:
    return str(h.emu.responses[-1]["text"]) + str(h.emu.responses[-1]["blocks"])


async def test_an_area_invites_its_group_once_though_the_request_is_retried(harness: Harness) -> None:
    h = harness
    dbas(h)
    channel = await h.declare("--service search sev2 Queries time out")
    h.emu.inject("chat.postMessage", status=503, times=1)  # the channel message, after the invite
    await h.command(h.bob, channel, "expert database")
    assert said(h, channel) == [], "the 503 puts the rest off"
    await h.advance(seconds=5)  # past the backoff: the request is carried out from where it stopped
    assert invited(h, channel) == ["U0DBA1,U0DBA2"], "once, and only the members not in the channel"
    assert set(DBAS) <= set(h.emu.channel(channel).members)
    entry = "Brought in @dba-team (Database): <@U0DBA1>, <@U0DBA2>"
    assert await timeline(h, channel) == [("expert", entry, h.bob)]
    [message] = said(h, channel)
    assert "<@U0BOB> brought in @dba-team (Database)" in message and "<@U0DBA2>" in message


async def test_an_invite_whose_answer_was_lost_names_the_same_people(harness: Harness) -> None:
    h = harness
    dbas(h)
    channel = await h.declare("--service search sev2 Queries time out")
    h.emu.inject("conversations.invite", status=503, after_effect=True)
    await h.command(h.alice, channel, "expert Database")
    await h.advance(seconds=5)
    assert set(DBAS) <= set(h.emu.channel(channel).members)
    [(_, text, _)] = await timeline(h, channel)
    assert text.endswith("<@U0DBA1>, <@U0DBA2>"), "the retry does not read the members again"
    assert len(said(h, channel)) == 1


async def test_everyone_already_here_is_said_and_nobody_is_invited(harness: Harness) -> None:
    h = harness
    dbas(h)
    channel = await h.declare("--service search sev2 Queries time out")
    await h.command(h.alice, channel, "expert database")
    await h.command(h.alice, channel, "expert database")
    assert invited(h, channel) == ["U0DBA1,U0DBA2"]
    assert [t for _, t, _ in await timeline(h, channel)][1] == (
        "Called on @dba-team (Database): everyone in it was already here"
    )


async def test_without_an_area_the_areas_and_their_groups_are_listed(harness: Harness) -> None:
    h = harness
    channel = await h.declare("--service search sev2 Queries time out")
    await h.command(h.alice, channel, "expert")
    reply = answered(h)
    assert "Database" in reply and "@dba-team" in reply and "Networking" in reply and "@net-team" in reply
    assert h.emu.responses[-1]["response_type"] == "ephemeral"
    assert invited(h, channel) == [] and await timeline(h, channel) == []


async def test_an_unknown_area_is_refused_with_the_closest_and_the_list(harness: Harness) -> None:
    h = harness
    dbas(h)
    channel = await h.declare("--service search sev2 Queries time out")
    await h.command(h.alice, channel, "expert databse")
    reply = answered(h)
    assert "Did you mean `database`?" in reply and "`database`, `networking`" in reply
    await h.command(h.alice, channel, "expert storage")
    assert "Did you mean" not in answered(h) and "`networking`" in answered(h)
    assert invited(h, channel) == [] and await timeline(h, channel) == []


async def test_an_incident_of_no_service_says_how_to_declare_one(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    await h.command(h.alice, channel, "expert database")
    reply = answered(h)
    assert "not declared for a service" in reply and "--service" in reply
    await h.command(h.alice, channel, "expert")
    assert "not declared for a service" in answered(h)
    await h.command(h.alice, h.general, "expert database")
    assert "only works in an incident channel" in answered(h)
    assert invited(h, channel) == []


async def test_a_handle_that_is_no_user_group_is_said(harness: Harness) -> None:
    h = harness
    channel = await h.declare("--service search sev2 Queries time out")
    await h.command(h.alice, channel, "expert networking")
    reply = answered(h)
    assert "@net-team" in reply and "not a user group" in reply
    assert invited(h, channel) == [] and await timeline(h, channel) == []


async def test_the_runbooks_words_never_ping(harness: Harness) -> None:
    h = harness
    h.emu.add_user("cachey", user_id="U0CACHEY")
    h.emu.add_usergroup("cache-team", ["U0CACHEY"], group_id="S0CACHE")
    channel = await h.declare("--service cache sev2 Evictions")
    await h.command(h.alice, channel, "expert")
    assert "<!channel>" not in answered(h) and "memory" in answered(h)
    await h.command(h.alice, channel, "expert memory")
    assert invited(h, channel) == ["U0CACHEY"]
    [message] = said(h, channel)
    assert "<!channel>" not in message and "@channel" in message
    [(_, text, _)] = await timeline(h, channel)
    assert "<!channel>" not in text and "<@U0CACHEY>" in text


async def test_the_expert_permission_can_be_kept_to_responders(harness: Harness) -> None:
    h = harness
    dbas(h)
    h.policy = h.policy_for(
        services=[{"name": "search", "runbook": str(SEARCH)}], permissions={"expert": "responders"}
    )
    await h.restart()
    channel = await h.declare("--service search sev2 Queries time out")
    await h.command(h.bob, channel, "expert database")
    assert "bring experts into" in answered(h)
    assert invited(h, channel) == []
    await h.command(h.alice, channel, "expert database")  # the commander
    assert invited(h, channel) == ["U0DBA1,U0DBA2"]
