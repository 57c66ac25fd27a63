"""Every trigger sets its workflows off, once, in the incident channel: declared, role_assigned,
member_joined, field_changed, followup_overdue, resolved, postmortem_overdue, reopened (and the
changes severity_changed and status_changed, tests/services/test_workflows.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import OutboxMessage
from tests.field_values import FIELDS
from tests.harness import Harness

CAROL = "U0CAROL"
SAID = "{{ workflow.on }} fired for {{ incident.number }}"
ON = ["declared", "role_assigned", "member_joined", "field_changed", "followup_overdue"]
ON += ["resolved", "postmortem_overdue", "reopened"]


@pytest.fixture
def policy_data() -> dict:
    flows = [{"name": on.replace("_", "-"), "on": on, "do": [{"post": SAID}]} for on in ON]
    flows[1]["if"] = {"role": "scribe"}
    flows[3]["if"] = {"field": "region", "to": ["EU", "US"]}
    return {"workflows": flows, "fields": FIELDS, "postmortem": {"due": {"sev2": "2d"}}}


def _fired(h: Harness, channel: str) -> list[str]:
    texts = [m.get("text") or "" for m in h.emu.messages(channel)]
    return [t.split(" fired")[0] for t in texts if " fired for INC-1" in t]


async def test_each_trigger_sets_its_workflow_off_once(harness: Harness) -> None:
    h = harness
    h.emu.add_user("carol", user_id=CAROL)
    channel = await h.declare("sev2 Checkout is down")
    await h.command(h.alice, channel, f"comms <@{h.bob}|bob>")
    await h.command(h.alice, channel, f"scribe <@{h.bob}|bob>")
    await h.driver.join(CAROL, channel)
    await h.idle()
    await h.command(h.alice, channel, "set region apac")
    await h.command(h.alice, channel, "set region eu")
    await h.command(h.alice, channel, f"followup <@{h.bob}|bob> +1d Add a circuit breaker")
    assert _fired(h, channel) == ["declared", "role_assigned", "member_joined", "field_changed"], (
        "comms is no scribe; APAC is neither EU nor US"
    )

    await h.advance(days=1, hours=6)  # the follow-up's due date, 09:00 UTC
    await h.command(h.alice, channel, "resolve Rolled back")
    await h.advance(days=2, minutes=1)  # the postmortem is due
    await h.command(h.alice, channel, "reopen Errors are back")
    assert _fired(h, channel)[4:] == ["followup_overdue", "resolved", "postmortem_overdue", "reopened"]

    await h.advance(minutes=30)
    assert len(_fired(h, channel)) == 8, "each once"


@pytest.mark.parametrize(
    "policy_data",
    [
        {
            "webhooks": [
                {"url": "https://hooks.example.com/default", "secret": "hook-secret-1"},
                {
                    "url": "https://hooks.example.com/asked",
                    "secret": "hook-secret-2",
                    "events": ["role_assigned"],
                },
            ]
        }
    ],
)
async def test_the_new_events_reach_only_webhooks_that_ask_for_them(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    await h.command(h.alice, channel, f"scribe <@{h.bob}|bob>")
    await h.driver.join(h.bob, channel)
    await h.idle()
    async with h.bot.shared.db.session() as s:
        rows = (await s.execute(select(OutboxMessage.target, OutboxMessage.kind))).all()
    sent = {(target.rsplit("/", 1)[1], kind) for target, kind in rows}
    assert sent == {("default", "declared"), ("asked", "role_assigned")}


STATUS_FLOWS = [
    {
        "name": "any-move",
        "on": "status_changed",
        "do": [{"post": "moved {{ workflow.from }} to {{ workflow.to }}"}],
    },
    {
        "name": "closed",
        "on": "status_changed",
        "if": {"to": "resolved"},
        "do": [{"post": "closed from {{ workflow.from }}"}],
    },
    {
        "name": "back",
        "on": "status_changed",
        "if": {"from": "resolved"},
        "do": [{"post": "back to {{ workflow.to }}"}],
    },
]


@pytest.mark.parametrize("policy_data", [{"workflows": STATUS_FLOWS}])
async def test_resolving_and_reopening_are_status_changes_too(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    await h.command(h.alice, channel, "update monitoring Fix deployed")
    await h.command(h.alice, channel, "resolve Rolled back")
    await h.command(h.alice, channel, "reopen Errors are back")
    said = [
        t
        for m in h.emu.messages(channel)
        if (t := m.get("text") or "").startswith(("moved", "closed", "back"))
    ]
    assert said == [
        "moved investigating to monitoring",
        "moved monitoring to resolved",
        "closed from monitoring",
        "moved resolved to monitoring",
        "back to monitoring",
    ]


WELCOME = {"name": "welcome", "on": "member_joined", "do": [{"post": "Welcome to {{ incident.number }}"}]}


@pytest.mark.parametrize("policy_data", [{"workflows": [WELCOME]}])
async def test_the_declarer_brought_in_by_the_declaration_is_not_someone_joining(harness: Harness) -> None:
    h = harness
    h.emu.add_user("carol", user_id=CAROL)
    channel = await h.declare("sev2 Checkout is down")
    await h.driver.join(h.alice, channel, inviter="U0BOT")  # Slack's event for the declaration's invite
    await h.idle()
    assert not [m for m in h.emu.messages(channel) if "Welcome" in (m.get("text") or "")]
    await h.driver.join(CAROL, channel)
    await h.idle()
    assert len([m for m in h.emu.messages(channel) if "Welcome to INC-1" in (m.get("text") or "")]) == 1
