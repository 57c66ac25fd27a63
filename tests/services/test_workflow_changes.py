"""Workflow steps that change the incident, end to end: `set` (a field, the way `/incident set` sets
it) and `severity` (raise only, through the usual change; a lower or equal one is left and said)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Incident
from tests.harness import Harness, entry_texts

FIELDS = [
    {"name": "region", "label": "Region", "type": "select", "options": ["EU", "US"]},
    {"name": "customer", "type": "text"},
]
SET = {
    "name": "tag-it",
    "on": "declared",
    "do": [
        {"set": {"field": "region", "value": "eu"}},
        {"set": {"field": "customer", "value": "<!channel> Acme"}},
    ],
}


async def _severity(h: Harness) -> str:
    async with h.bot.shared.db.session() as s:
        return (await s.execute(select(Incident.severity))).scalar_one()


@pytest.mark.parametrize("policy_data", [{"fields": FIELDS, "workflows": [SET]}])
async def test_set_changes_a_field_as_a_person_would(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    assert await entry_texts(h, "field") == ["Region set to EU", "Customer set to <!channel> Acme"]
    notes = [m for m in h.emu.messages(channel) if "Region" in (m.get("text") or "")]
    assert notes, "the usual note in the channel"
    for message in h.emu.messages(channel):
        assert "<!channel>" not in str(message.get("blocks")) + (message.get("text") or "")
    [entry] = await entry_texts(h, "workflow")
    assert entry.startswith("Workflow *tag-it*: set Region to EU, set Customer to ")
    assert "<!channel>" not in entry


RAISE = {"name": "raise", "on": "declared", "if": {"service": "payments"}, "do": [{"severity": "sev1"}]}
LOWER = {
    "name": "lower",
    "on": "declared",
    "if": {"severity": ["sev1", "sev2"]},
    "do": [{"severity": "sev2"}],
}
PAYMENTS = {"name": "payments", "runbook": str(Path(__file__).parent / "runbooks" / "cache.md")}


@pytest.mark.parametrize("policy_data", [{"workflows": [RAISE, LOWER], "services": [PAYMENTS]}])
async def test_severity_is_raised_never_lowered(harness: Harness) -> None:
    h = harness
    channel = await h.declare("--service payments sev3 Card payments failing")
    assert await _severity(h) == "SEV1"
    assert await entry_texts(h, "severity") == ["Severity changed from SEV3 to SEV1"]
    topic = h.emu.calls_to("conversations.setTopic")[-1].params["topic"]
    assert "SEV1" in topic and h.emu.channel(channel) is not None
    assert await entry_texts(h, "workflow") == ["Workflow *raise*: raised the severity from SEV3 to SEV1"]


@pytest.mark.parametrize("policy_data", [{"workflows": [LOWER]}])
async def test_a_lower_or_equal_severity_is_left_and_said(harness: Harness) -> None:
    h = harness
    await h.declare("sev1 Everything is down")
    await h.declare("sev2 Search is slow")
    assert await entry_texts(h, "severity") == []
    async with h.bot.shared.db.session() as s:
        assert sorted((await s.execute(select(Incident.severity))).scalars()) == ["SEV1", "SEV2"]
    assert await entry_texts(h, "workflow") == [
        "Workflow *lower*: left the severity at SEV1: a workflow only raises it (not to SEV2)",
        "Workflow *lower*: left the severity at SEV2: a workflow only raises it (not to SEV2)",
    ]


PING = {
    "name": "ping",
    "on": "field_changed",
    "if": {"field": "region", "to": "EU"},
    "do": [{"set": {"field": "region", "value": "US"}}],
}
PONG = {
    "name": "pong",
    "on": "field_changed",
    "if": {"field": "region", "to": "US"},
    "do": [{"set": {"field": "region", "value": "EU"}}],
}


@pytest.mark.parametrize("policy_data", [{"fields": FIELDS, "workflows": [PING, PONG]}])
async def test_two_workflows_setting_a_field_back_and_forth_stop_after_one_round(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    await asyncio.wait_for(h.command(h.alice, channel, "set region EU"), 30)
    await h.advance(seconds=5)
    assert await entry_texts(h, "field") == [
        "Region set to EU",
        "Region set to US (was EU)",
        "Region set to EU (was US)",
    ]
    assert await entry_texts(h, "workflow") == [
        "Workflow *ping*: set Region to US",
        "Workflow *pong*: set Region to EU",
    ]
    assert await entry_texts(h, "workflow_loop") == [
        "Workflow *ping* not run again on field_changed: its own chain set it off (ping → pong)"
    ]
