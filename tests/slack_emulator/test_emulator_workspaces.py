"""Several workspaces in one emulator: their own ids and bot users, tokens answered by the right team,
revoked tokens, and private channels that only members see."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import SlackEmulator
from slack_emulator.state import Workspace

BOT = "U0BOT"


async def error_of(call: Any) -> str:
    """Await a client call that must fail and return Slack's error code."""
    with pytest.raises(SlackApiError) as info:
        await call
    return str(info.value.response["error"])


@pytest.fixture
def acme(emulator: SlackEmulator) -> Workspace:
    """A second workspace, with the app installed."""
    ws = emulator.add_workspace("T0ACME", "Acme Corp")
    emulator.issue_token("T0ACME")
    return ws


def client_for(emu: SlackEmulator, team_id: str) -> AsyncWebClient:
    """A Web API client holding the workspace's newest bot token."""
    return AsyncWebClient(base_url=emu.base_url, token=emu.tokens_of(team_id)[-1])


# workspaces


async def test_each_workspace_has_its_own_team_and_bot(emulator: SlackEmulator, acme: Workspace) -> None:
    grid = emulator.add_workspace("T0GRID", "Grid", domain="grid-eu", enterprise_id="E0ORG")
    assert emulator.workspace("T0ACME") is acme and emulator.workspace("T0EMU") is emulator.state
    assert list(emulator.workspaces) == ["T0EMU", "T0ACME", "T0GRID"]
    assert (acme.team_id, acme.team_name, acme.domain, acme.enterprise_id) == (
        "T0ACME",
        "Acme Corp",
        "acme-corp",
        None,
    )
    assert (grid.domain, grid.url, grid.enterprise) == (
        "grid-eu",
        "https://grid-eu.slack.test/",
        {"id": "E0ORG", "name": "E0ORG"},
    )
    bots = {(ws.bot_user_id, ws.bot_id) for ws in emulator.workspaces.values()}
    assert len(bots) == 3 and (BOT, "B0BOT") in bots
    assert acme.users[acme.bot_user_id].is_bot and BOT not in acme.users
    assert acme.installed and not grid.installed
    with pytest.raises(ValueError, match="already exists"):
        emulator.add_workspace("T0ACME", "Again")
    with pytest.raises(ValueError, match="team id"):
        emulator.add_workspace("acme", "Lower case")
    with pytest.raises(KeyError, match="T0NONE"):
        emulator.workspace("T0NONE")


async def test_ids_are_unique_across_workspaces(emulator: SlackEmulator, acme: Workspace) -> None:
    made = [
        emulator.add_user("alice"),
        acme.add_user("alice"),
        emulator.add_channel("ops"),
        acme.add_channel("ops"),
        emulator.add_usergroup("oncall", []),
        acme.add_usergroup("oncall", []),
        emulator.state.open_dm(emulator.add_user("bob")).id,
        acme.open_dm(acme.add_user("bob")).id,
    ]
    assert len(set(made)) == len(made)
    emulator.add_user("carol", user_id="U0CAROL")
    emulator.add_channel("eng", channel_id="C0ENG")
    with pytest.raises(ValueError, match="U0CAROL"):
        acme.add_user("carol", user_id="U0CAROL")
    with pytest.raises(ValueError, match="C0ENG"):
        acme.add_channel("eng", channel_id="C0ENG")
    with pytest.raises(ValueError, match="already exists"):
        emulator.add_user("carol", user_id="U0CAROL")
    assert emulator.workspace_of(made[1]) is acme and emulator.workspace_of("C0ENG") is emulator.state


async def test_helpers_find_records_of_any_workspace(emulator: SlackEmulator, acme: Workspace) -> None:
    alice = acme.add_user("alice")
    ops = acme.add_channel("ops", members=[acme.bot_user_id, alice])
    client = client_for(emulator, "T0ACME")
    await client.chat_postMessage(channel=ops, text="hello acme")
    await client.chat_postMessage(channel=alice, text="psst")
    [message] = emulator.messages(ops)
    assert (message["team"], message["bot_id"], message["bot_profile"]["team_id"]) == (
        "T0ACME",
        acme.bot_id,
        "T0ACME",
    )
    assert [m["text"] for m in emulator.dms(alice)] == ["psst"]
    assert "hello acme" in emulator.transcript("T0ACME") and "hello acme" not in emulator.transcript()
    with pytest.raises(KeyError):
        emulator.messages("ops")  # names are looked up in the default workspace only


# tokens


async def test_each_token_is_answered_by_its_own_workspace(emulator: SlackEmulator, acme: Workspace) -> None:
    grid = emulator.add_workspace("T0GRID", "Grid", enterprise_id="E0ORG", enterprise_name="Org")
    grid_token = emulator.issue_token("T0GRID")
    home = AsyncWebClient(base_url=emulator.base_url, token=emulator.bot_token)
    mine = (await client_for(emulator, "T0ACME").auth_test()).data
    assert mine == {
        "ok": True,
        "url": "https://acme-corp.slack.test/",
        "team": "Acme Corp",
        "user": "incident-bot",
        "team_id": "T0ACME",
        "user_id": acme.bot_user_id,
        "bot_id": acme.bot_id,
        "is_enterprise_install": False,
    }
    assert (await home.auth_test())["team_id"] == "T0EMU"
    gridded = await AsyncWebClient(base_url=emulator.base_url, token=grid_token).auth_test()
    assert (gridded["team_id"], gridded["enterprise_id"], gridded["user_id"]) == (
        "T0GRID",
        "E0ORG",
        grid.bot_user_id,
    )
    assert grid_token.startswith("xoxb-T0GRID-")


async def test_a_token_reaches_only_its_workspace(emulator: SlackEmulator, acme: Workspace) -> None:
    ops_home = emulator.add_channel("ops", members=[BOT])
    ops_acme = acme.add_channel("ops", members=[acme.bot_user_id])
    home = AsyncWebClient(base_url=emulator.base_url, token=emulator.bot_token)
    client = client_for(emulator, "T0ACME")
    await home.chat_postMessage(channel=ops_home, text="home")
    await client.chat_postMessage(channel=ops_acme, text="acme")
    assert await error_of(client.chat_postMessage(channel=ops_home, text="x")) == "channel_not_found"
    assert await error_of(home.conversations_info(channel=ops_acme)) == "channel_not_found"
    names = [c["id"] for c in (await client.conversations_list())["channels"]]
    assert names == [ops_acme]
    assert [m["text"] for m in emulator.messages(ops_acme)] == ["acme"]
    assert {c.team for c in emulator.calls} == {"T0EMU", "T0ACME"}
    assert all(c.params.get("channel") != ops_home for c in emulator.calls_for("T0ACME") if c.response["ok"])
    assert [c.method for c in emulator.calls_for("T0EMU")] == ["chat.postMessage", "conversations.info"]


async def test_unknown_and_revoked_tokens(emulator: SlackEmulator, acme: Workspace) -> None:
    first = emulator.tokens_of("T0ACME")[0]
    second = emulator.issue_token("T0ACME")
    assert emulator.tokens_of("T0ACME") == [first, second]  # a new token leaves the old ones working
    unknown = AsyncWebClient(base_url=emulator.base_url, token="xoxb-T0ACME-nope")
    assert await error_of(unknown.auth_test()) == "invalid_auth"
    emulator.uninstall("T0ACME")
    assert not acme.installed and emulator.tokens_of("T0ACME") == []
    for token in (first, second):
        revoked = AsyncWebClient(base_url=emulator.base_url, token=token)
        assert await error_of(revoked.auth_test()) == "token_revoked"
    assert (await AsyncWebClient(base_url=emulator.base_url, token=emulator.bot_token).auth_test())["ok"]
    assert emulator.calls_to("auth.test")[0].team is None  # refused calls belong to no workspace
    third = emulator.issue_token("T0ACME")
    assert acme.installed and emulator.tokens_of("T0ACME") == [third]


# private channels


async def test_private_channels_are_for_members_only(emulator: SlackEmulator) -> None:
    client = AsyncWebClient(base_url=emulator.base_url, token=emulator.bot_token)
    alice = emulator.add_user("alice")
    created = (await client.conversations_create(name="inc-7-private", is_private=True))["channel"]
    assert (created["is_private"], created["is_group"], created["is_channel"], created["is_member"]) == (
        True,
        True,
        False,
        True,
    )
    mine = created["id"]
    hidden = emulator.add_channel("hr-only", members=[alice], is_private=True)
    public = emulator.add_channel("general", members=[BOT])
    assert (await client.conversations_invite(channel=mine, users=alice))["ok"]
    assert (await client.conversations_members(channel=mine))["members"] == [BOT, alice]
    posted = await client.chat_postMessage(channel=mine, text="status")
    assert (await client.pins_add(channel=mine, timestamp=posted["ts"]))["ok"]
    topic = (await client.conversations_setTopic(channel=mine, topic="sev1"))["channel"]["topic"]
    assert topic["value"] == "sev1"
    for call in (
        client.conversations_info(channel=hidden),
        client.conversations_members(channel=hidden),
        client.conversations_invite(channel=hidden, users=alice),
        client.chat_postMessage(channel=hidden, text="hi"),
        client.chat_postMessage(channel="#hr-only", text="hi"),
        client.pins_add(channel=hidden, timestamp=posted["ts"]),
        client.conversations_setTopic(channel=hidden, topic="x"),
        client.conversations_join(channel=hidden),
    ):
        assert await error_of(call) == "channel_not_found"
    assert await error_of(client.conversations_join(channel=mine)) == "method_not_supported_for_channel_type"
    private = await client.conversations_list(types="private_channel")
    assert [c["id"] for c in private["channels"]] == [mine]
    both = await client.conversations_list(types="public_channel,private_channel")
    assert [c["id"] for c in both["channels"]] == [mine, public]
    assert [c["id"] for c in (await client.conversations_list())["channels"]] == [public]
    assert emulator.messages(hidden) == []
