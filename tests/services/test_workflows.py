"""Workflows end to end: an incident event sets off the workflows whose conditions hold, each step
once, in order, in the incident channel; a step failing for good is said and the rest still run."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.runtime import Bot
from slack_emulator.models import TEAM_ID
from storage.models import InboxItem
from tests.harness import Harness, entry_texts

BRIDGE = "Exec bridge for {{ incident.number }}: https://meet.example.com/sev1"
SEV1_BRIDGE = {
    "name": "sev1-bridge",
    "on": "declared",
    "if": {"severity": ["sev1"], "not": {"private": True}},
    "do": [
        {"invite": ["@exec-team", "U0BOB"]},
        {"post": BRIDGE},
        {"topic": "SEV1 {{ incident.number }}: bridge at https://meet.example.com/sev1"},
    ],
}


@pytest.fixture
def policy_data() -> dict:
    return {"workflows": [SEV1_BRIDGE]}


def _exec_team(h: Harness) -> None:
    h.emu.add_user("ana", user_id="U0ANA")
    h.emu.add_user("eve", user_id="U0EVE")
    h.emu.add_usergroup("exec-team", ["U0ANA", "U0EVE"], group_id="S0EXEC")


def _said(h: Harness, channel: str, text: str) -> list[dict[str, Any]]:
    return [m for m in h.emu.messages(channel) if text in (m.get("text") or "")]


async def test_a_declared_sev1_runs_its_workflow_once_in_order(harness: Harness) -> None:
    h = harness
    _exec_team(h)
    channel = await h.declare("sev1 Payments are failing")
    await h.tick()

    invited = [c.params["users"] for c in h.emu.calls_to("conversations.invite")]
    assert invited[-1] == "U0ANA,U0EVE,U0BOB", "the group's members and the person, in one call"
    assert {"U0ANA", "U0EVE", "U0BOB"} <= set(h.emu.channel(channel).members)
    [bridge] = _said(h, channel, "Exec bridge for INC-1")
    assert "https://meet.example.com/sev1" in bridge["text"]
    assert "sev1-bridge" in str(bridge["blocks"]), "signed with the workflow's name"
    topics = [c.params["topic"] for c in h.emu.calls_to("conversations.setTopic")]
    assert topics[-1] == "SEV1 INC-1: bridge at https://meet.example.com/sev1"

    def at(method: str, text: str = "") -> int:
        return next(i for i, c in enumerate(h.emu.calls) if c.method == method and text in str(c.params))

    assert (
        at("conversations.invite", "U0BOB")
        < at("chat.postMessage", "Exec bridge")
        < at("conversations.setTopic", "bridge at")
    ), "the steps run in the order `do` lists them"
    [entry] = await entry_texts(h, "workflow")
    assert entry.startswith("Workflow *sev1-bridge*: invited @exec-team, <@U0BOB>, posted “Exec bridge")
    assert "set the topic to “SEV1 INC-1" in entry

    await h.advance(minutes=5)
    await h.command(h.alice, channel, "update identified A bad deploy")
    assert len(_said(h, channel, "Exec bridge")) == 1, "once: nothing else sets it off again"
    assert len(await entry_texts(h, "workflow")) == 1


async def test_a_sev2_or_a_private_sev1_runs_nothing(harness: Harness) -> None:
    h = harness
    _exec_team(h)
    first = await h.declare("sev2 Search is slow")
    second = await h.declare("--private sev1 Keys leaked")
    for channel in (first, second):
        assert not _said(h, channel, "Exec bridge")
    assert await entry_texts(h, "workflow") == []
    async with h.bot.shared.db.session() as s:
        ops = (await s.execute(select(InboxItem.op).where(InboxItem.team_id == TEAM_ID))).scalars()
        assert "workflow" not in set(ops)


CHANGES = [
    {
        "name": "raised-to-sev1",
        "on": "severity_changed",
        "if": {"from": ["sev2", "sev3"], "to": "p0"},
        "do": [{"post": "Raised to {{ workflow.to }} from {{ workflow.from }}: page the exec on call"}],
    },
    {
        "name": "monitoring",
        "on": "status_changed",
        "if": {"to": "monitoring", "not": {"from": "investigating"}},
        "do": [{"post": "Monitoring now ({{ workflow.from }} → {{ workflow.to }}): watch the error rate"}],
    },
    {
        "name": "big-ones",
        "on": "declared",
        "if": {"severity": ["sev1", "sev2"], "not": {"private": True, "service": "cache"}},
        "do": [{"post": "A big one: {{ incident.severity }}"}],
    },
]


CACHE = {"name": "cache", "runbook": str(Path(__file__).parent / "runbooks" / "cache.md")}


@pytest.mark.parametrize("policy_data", [{"workflows": CHANGES, "services": [CACHE]}])
async def test_changes_from_and_to_and_none_of(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev3 Slow checkout")
    assert not _said(h, channel, "A big one"), "sev3 is not any of sev1, sev2"
    await h.command(h.alice, channel, "severity sev2")
    await h.command(h.alice, channel, "severity sev1")
    await h.command(h.alice, channel, "severity sev2")
    await h.command(h.alice, channel, "severity sev1")
    raised = _said(h, channel, "Raised to")
    assert [m["text"] for m in raised] == ["Raised to SEV1 from SEV2: page the exec on call"] * 2, (
        "sev3 → sev2 is not to sev1 and sev1 → sev2 not from sev2 or sev3; sev2 → sev1 twice is"
    )

    await h.command(h.alice, channel, "update monitoring Straight to watching")
    assert not _said(h, channel, "Monitoring now"), "from investigating is excluded by `not`"
    await h.command(h.alice, channel, "update identified A bad deploy")
    await h.command(h.alice, channel, "update identified Still the deploy")
    await h.command(h.alice, channel, "update monitoring Rolled back")
    await h.command(h.alice, channel, "update monitoring Still watching")
    assert [m["text"] for m in _said(h, channel, "Monitoring now")] == [
        "Monitoring now (identified → monitoring): watch the error rate"
    ], "an update that leaves the status where it was is no change"

    big = await h.declare("sev2 Payments down")
    assert len(_said(h, big, "A big one: SEV2")) == 1
    private = await h.declare("--private sev1 Quiet one")
    cache = await h.declare("--service cache sev1 Evictions")
    assert not _said(h, private, "A big one") and not _said(h, cache, "A big one"), "none of: either"


MITIGATING = {
    "name": "mitigating",
    "on": "status_changed",
    "if": {"to": "mitigating"},
    "do": [
        {"post": "First: freeze deploys"},
        {"invite": "U0BOB"},
        {"post": "Then: tell support"},
    ],
}


@pytest.mark.parametrize("policy_data", [{"workflows": [MITIGATING]}])
async def test_a_step_failing_for_good_is_said_and_the_rest_run(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    h.emu.inject("conversations.invite", error="user_is_restricted")
    await h.command(h.alice, channel, "update mitigating Rolling back")

    texts = [m.get("text") or "" for m in h.emu.messages(channel)]
    first = next(i for i, t in enumerate(texts) if "First: freeze deploys" in t)
    [failed] = [t for t in texts if "failed" in t and "mitigating" in t]
    assert failed.startswith(":warning: Workflow *mitigating*: step 2 of 3 (`invite`) failed: ")
    assert "user_is_restricted" in failed
    assert texts.index(failed) > first and "Then: tell support" in texts[-1], "the third step still ran"
    assert "U0BOB" not in h.emu.channel(channel).members
    [entry] = await entry_texts(h, "workflow")
    why = failed.removeprefix(":warning: Workflow *mitigating*: step 2 of 3 (`invite`) failed: ")
    assert entry == (
        "Workflow *mitigating*: posted “First: freeze deploys”, posted “Then: tell support”; "
        f"step 2 (`invite`) failed: {why.removesuffix('. The other steps carry on.')}"
    ), "the reason said in the channel, on the timeline too"

    await h.advance(minutes=10)
    assert len([t for t in (m.get("text") or "" for m in h.emu.messages(channel)) if "failed" in t]) == 1


@pytest.mark.parametrize("policy_data", [{"workflows": [MITIGATING]}])
async def test_a_transient_failure_retries_from_that_step(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    h.emu.inject("conversations.invite", status=503)
    await h.command(h.alice, channel, "update mitigating Rolling back")
    assert _said(h, channel, "First: freeze deploys") and not _said(h, channel, "Then: tell support")

    await h.advance(seconds=5)  # past the retry's backoff
    assert len(_said(h, channel, "First: freeze deploys")) == 1, "the step done is not done again"
    assert "U0BOB" in h.emu.channel(channel).members
    assert len(_said(h, channel, "Then: tell support")) == 1
    assert not [m for m in h.emu.messages(channel) if "failed" in (m.get("text") or "")]


@pytest.mark.parametrize("policy_data", [{"workflows": [{**SEV1_BRIDGE, "do": [{"post": BRIDGE}]}]}])
async def test_a_retried_declaration_sets_its_workflow_off_once(harness: Harness) -> None:
    h = harness
    h.emu.inject("conversations.setTopic", status=503)  # the declaration's topic, after it is recorded
    channel = await h.declare("sev1 Payments are failing")
    await h.advance(seconds=5)
    await h.advance(seconds=30)
    topics = h.emu.calls_to("conversations.setTopic")
    assert len(topics) == 2 and topics[-1].response["ok"], "the declaration was retried"
    assert len(_said(h, channel, "Exec bridge for INC-1")) == 1
    async with h.bot.shared.db.session() as s:
        ops = list((await s.execute(select(InboxItem.op).where(InboxItem.op == "workflow"))).scalars())
    assert ops == ["workflow"]


@pytest.mark.parametrize("policy_data", [{"workflows": [{**SEV1_BRIDGE, "do": [{"post": BRIDGE}]}]}])
async def test_a_declarations_workflow_waits_for_the_declaration_on_any_replica(harness: Harness) -> None:
    h = harness
    other = Bot(h.settings(), h.policy, clock=h.clock, scheduler=False)
    await other.start(run_migrations=False)
    try:
        held = h.emu.hold("conversations.setTopic")  # the declaration's topic, after it is recorded
        await h.driver.command(h.alice, h.general, "declare sev1 Payments are failing")
        declaring = asyncio.create_task(h.idle())
        await asyncio.wait_for(held.arrived.wait(), 10)
        await other.settle()  # another replica claims what it may meanwhile
        [create] = h.emu.calls_to("conversations.create")
        channel = create.response["channel"]["id"]
        assert not _said(h, channel, "Exec bridge"), "not while the declaration is still being carried out"
        held.release()
        await asyncio.wait_for(declaring, 10)
        await other.settle()
        texts = [m.get("text") or "" for m in h.emu.messages(channel)]
        [bridge] = [i for i, t in enumerate(texts) if "Exec bridge for INC-1" in t]
        assert bridge == len(texts) - 1, "after the declaration's own messages"
    finally:
        await other.stop()


HOSTILE = {
    "name": "say-it",
    "on": "declared",
    "do": [
        {"post": "Bridge for {{ incident.title }} <!here>\n---\n{{ incident.impact }}"},
        {"topic": "{{ incident.title }} & more"},
    ],
}


@pytest.mark.parametrize("policy_data", [{"workflows": [HOSTILE]}])
async def test_what_people_wrote_is_inert_in_a_workflows_words(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Pay <!channel> <@U0BOB> <https://evil.example.com|click> *now*")
    [said] = _said(h, channel, "Bridge for")
    text = str(said["blocks"])
    for live in ("<!channel>", "<!here>", "<@U0BOB>", "<https://evil.example.com"):
        assert live not in text and live not in said["text"], live
    assert "@here" in text, "the policy's own broadcast is made inert too"
    topic = h.emu.calls_to("conversations.setTopic")[-1].params["topic"]
    assert "<" not in topic and "& more" in topic and len(topic) <= 250
    [entry] = await entry_texts(h, "workflow")
    assert "<!" not in entry and "<@" not in entry
    assert "posted “Bridge for Pay @channel" in entry, "the words as posted, inert"
    assert "{{" not in entry, "not the template's source"


NOBODY = {"name": "leads", "on": "declared", "do": [{"invite": ["@nobody", "@exec-team", "U0BOB"]}]}


@pytest.mark.parametrize("policy_data", [{"workflows": [NOBODY]}])
async def test_a_handle_no_group_has_fails_the_invite_once_the_others_are_in(harness: Harness) -> None:
    h = harness
    _exec_team(h)
    channel = await h.declare("sev2 Checkout is down")
    assert {"U0ANA", "U0EVE", "U0BOB"} <= set(h.emu.channel(channel).members)
    [failed] = _said(h, channel, "Workflow *leads*: step 1 of 1")
    assert failed["text"] == (
        ":warning: Workflow *leads*: step 1 of 1 (`invite`) failed: invited @exec-team, <@U0BOB>, but there "
        "is no user group @nobody. The other steps carry on."
    )
    [entry] = await entry_texts(h, "workflow")
    why = failed["text"].removeprefix(":warning: Workflow *leads*: step 1 of 1 (`invite`) failed: ")
    assert (
        entry
        == f"Workflow *leads*: step 1 (`invite`) failed: {why.removesuffix('. The other steps carry on.')}"
    )
