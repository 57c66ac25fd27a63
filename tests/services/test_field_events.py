"""Custom fields in webhooks' event payloads: every event carries the incident's fields (unset ones
null); a private incident's reach only receivers with `include_private`, like its title."""

from __future__ import annotations

import json

import pytest

from tests.field_values import FIELDS, set_fields
from tests.harness import Harness, team
from tests.receivers import Receiver


@pytest.fixture
def policy_data(hooks: Receiver) -> dict:
    return {
        "fields": FIELDS,
        "webhooks": [
            {"url": hooks.url + "/public", "secret": "hook-secret-1"},
            {"url": hooks.url + "/trusted", "secret": "hook-secret-2", "include_private": True},
        ],
        "escalation": {"levels": [{"name": "L1", "users": ["U0ONCALL"], "after": "0s"}]},
    }


def _events(hooks: Receiver, path: str) -> list[dict]:
    return [r.json for r in hooks.delivered() if r.path == path]


async def test_every_event_carries_the_incidents_fields(harness: Harness, hooks: Receiver) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev2 Checkout is down")
    await set_fields(h, 1, region="EU", products=["Cart", "Pay"], seats=120.0, liaison="U0BOB")
    await h.tick()
    await h.command(h.alice, channel, "update identified Bad deploy")
    await set_fields(h, 1, region="US", seats=2.5, ticket="https://tickets.example.com/T-9")
    await h.command(h.alice, channel, "resolve Rolled back")
    await h.bot.shared.outbox.deliver_due()

    events = {e["event"]: e["incident"]["fields"] for e in _events(hooks, "/public")}
    assert list(events) == ["declared", "paged", "updated", "resolved"]
    assert events["declared"] == dict.fromkeys(
        ["region", "products", "customer", "seats", "liaison", "ticket"]
    )
    assert events["updated"] == {
        "region": "EU",
        "products": ["Cart", "Pay"],
        "customer": None,
        "seats": 120,
        "liaison": "U0BOB",
        "ticket": None,
    }, "as they were when it happened; a whole number as an integer, every configured field"
    assert events["resolved"]["region"] == "US" and events["resolved"]["seats"] == 2.5
    assert events["resolved"]["ticket"] == "https://tickets.example.com/T-9"


async def test_a_private_incidents_fields_reach_only_trusted_receivers(
    harness: Harness, hooks: Receiver
) -> None:
    h = harness
    team(h)
    channel = await h.declare("--private sev1 Embargoed breach")
    await set_fields(h, 1, region="APAC", customer="Globex Corp", liaison="U0BOB")
    await h.command(h.alice, channel, "update identified Keys leaked")
    await h.bot.shared.outbox.deliver_due()

    public, trusted = _events(hooks, "/public"), _events(hooks, "/trusted")
    assert [e["event"] for e in public] == [e["event"] for e in trusted] == ["declared", "updated"]
    assert all("fields" not in e["incident"] and "title" not in e["incident"] for e in public)
    for word in ("APAC", "Globex", "U0BOB"):
        assert all(word not in json.dumps(e) for e in public), word
    assert trusted[-1]["incident"]["fields"]["customer"] == "Globex Corp"
    assert trusted[-1]["incident"]["fields"]["region"] == "APAC"


async def test_a_field_changed_event_carries_the_new_value(harness: Harness, hooks: Receiver) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev2 Checkout is down")
    await h.command(h.alice, channel, "set region eu")
    await h.command(h.alice, channel, "set seats 40")
    await h.bot.shared.outbox.deliver_due()

    changed = [e for e in _events(hooks, "/public") if e["event"] == "field_changed"]
    assert [e["incident"]["fields"]["region"] for e in changed] == ["EU", "EU"]
    assert [e["incident"]["fields"]["seats"] for e in changed] == [None, 40], "as it is once changed"
