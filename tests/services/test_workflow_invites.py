"""The workflow `invite` step end to end: everyone Slack lets in gets in; a user group Slack does not
know, or a person it refuses, is named in the step's failure; a group is named by its handle."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.harness import Harness, entry_texts


def _exec_team(h: Harness) -> None:
    h.emu.add_user("ana", user_id="U0ANA")
    h.emu.add_user("eve", user_id="U0EVE")
    h.emu.add_user("exec1", user_id="U0EXEC1")
    h.emu.add_usergroup("exec-team", ["U0ANA", "U0EVE"], group_id="S0EXEC")


def _failed(h: Harness, channel: str, workflow: str) -> list[str]:
    texts = [m.get("text") or "" for m in h.emu.messages(channel)]
    return [t for t in texts if t.startswith(f":warning: Workflow *{workflow}*")]


def _workflow(name: str, who: list[str], on: str = "declared") -> dict[str, Any]:
    when = {"if": {"to": "mitigating"}} if on == "status_changed" else {}
    return {"name": name, "on": on, **when, "do": [{"invite": who}]}


@pytest.mark.parametrize(
    "policy_data",
    [{"workflows": [_workflow("execs", ["S0EXEC"]), _workflow("leads", ["S0NOPE", "U0BOB", "S0EXEC"])]}],
)
async def test_a_group_id_is_named_by_its_handle_and_an_unknown_one_stops_nobody(harness: Harness) -> None:
    h = harness
    _exec_team(h)
    channel = await h.declare("sev2 Checkout is down")
    assert {"U0ANA", "U0EVE", "U0BOB"} <= set(h.emu.channel(channel).members)
    assert _failed(h, channel, "leads") == [
        ":warning: Workflow *leads*: step 1 of 1 (`invite`) failed: invited <@U0BOB>, @exec-team, but there "
        "is no user group S0NOPE. The other steps carry on."
    ]
    assert not _failed(h, channel, "execs")
    assert "Workflow *execs*: invited @exec-team" in await entry_texts(h, "workflow"), (
        "its handle, as people say it"
    )


@pytest.mark.parametrize("policy_data", [{"workflows": [_workflow("exec", ["U0NOSUCH", "U0EXEC1"])]}])
async def test_a_person_slack_refuses_does_not_keep_the_others_out(harness: Harness) -> None:
    h = harness
    _exec_team(h)
    channel = await h.declare("sev2 Checkout is down")
    assert "U0EXEC1" in h.emu.channel(channel).members
    assert _failed(h, channel, "exec") == [
        ":warning: Workflow *exec*: step 1 of 1 (`invite`) failed: invited <@U0EXEC1>, but could not invite "
        "<@U0NOSUCH> (user_not_found). The other steps carry on."
    ]


MITIGATING = _workflow("exec", ["@exec-team", "U0NOSUCH"], on="status_changed")


@pytest.mark.parametrize("policy_data", [{"workflows": [MITIGATING]}])
async def test_a_transient_failure_inviting_one_by_one_retries_the_same_people(harness: Harness) -> None:
    h = harness
    _exec_team(h)
    channel = await h.declare("sev2 Checkout is down")
    held = [h.emu.hold("conversations.invite")]  # the batch, refused for U0NOSUCH's sake
    await h.driver.command(h.alice, channel, "update mitigating Rolling back")
    working = asyncio.create_task(h.idle())
    for _ in range(2):  # then ana alone, then eve alone
        await asyncio.wait_for(held[-1].arrived.wait(), 10)
        held.append(h.emu.hold("conversations.invite"))
        held[-2].release()
    await asyncio.wait_for(held[-1].arrived.wait(), 10)
    h.emu.inject("conversations.invite", status=503)
    held[-1].release()
    await asyncio.wait_for(working, 10)
    assert "U0ANA" in h.emu.channel(channel).members and "U0EVE" not in h.emu.channel(channel).members
    assert not _failed(h, channel, "exec"), "a transient failure is retried, not said"

    h.emu.add_user("zed", user_id="U0ZED")
    h.emu.state.usergroups["S0EXEC"].users.append("U0ZED")  # who the step invites was settled already
    await h.advance(seconds=5)  # past the retry's backoff
    members = set(h.emu.channel(channel).members)
    assert {"U0ANA", "U0EVE"} <= members and "U0ZED" not in members
    assert _failed(h, channel, "exec") == [
        ":warning: Workflow *exec*: step 1 of 1 (`invite`) failed: invited @exec-team, but could not invite "
        "<@U0NOSUCH> (user_not_found). The other steps carry on."
    ]
    await h.advance(minutes=10)
    assert len(_failed(h, channel, "exec")) == 1
