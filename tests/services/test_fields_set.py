"""`/incident set <field> <value>`: each field type with good and bad values, unknown names, clearing,
the list, the timeline, the channel's note, `field_changed` to webhooks, retries, hostile values."""

from __future__ import annotations

from typing import Any

import pytest

from slack_emulator import payloads
from slack_emulator.models import TEAM_ID
from storage.fields import FieldRepo
from storage.repositories import IncidentRepo, TimelineRepo
from tests.harness import Harness
from tests.receivers import Receiver

SECRET = "hook-secret-123"
FIELDS: list[dict[str, Any]] = [
    {"name": "region", "label": "Region", "type": "select", "options": ["EU", "US", "APAC"]},
    {
        "name": "products",
        "label": "Affected products",
        "type": "multi_select",
        "options": ["Checkout", "Search"],
    },
    {"name": "customer", "type": "text"},
    {"name": "customers", "label": "Customers affected", "type": "number"},
    {"name": "contact", "label": "Customer contact", "type": "user"},
    {"name": "ticket", "label": "Ticket", "type": "link", "required": "resolve"},
]


@pytest.fixture
def policy_data(hooks: Receiver) -> dict:
    return {"fields": FIELDS, "webhooks": [{"url": hooks.url + "/all", "secret": SECRET}]}


async def _values(h: Harness, channel: str) -> dict[str, Any]:
    async with h.bot.shared.db.session() as s:
        incident = await IncidentRepo(s, TEAM_ID).by_channel(channel)
        assert incident is not None
        return await FieldRepo(s).of(incident.id)


async def _timeline(h: Harness, channel: str) -> list[tuple[str, str, str | None]]:
    async with h.bot.shared.db.session() as s:
        incident = await IncidentRepo(s, TEAM_ID).by_channel(channel)
        assert incident is not None
        entries = await TimelineRepo(s).for_incident(incident.id)
    return [(e.kind, e.text, e.author_id) for e in entries if e.kind == "field"]


def _notes(h: Harness, channel: str) -> list[str]:
    return [m["text"] for m in h.emu.messages(channel) if m.get("bot_id") and ":label:" in m.get("text", "")]


def _refusal(h: Harness) -> str:
    return str(h.emu.ephemerals(h.alice)[-1]["text"])


async def test_each_type_takes_its_values_noted_in_the_channel_and_on_the_timeline(harness: Harness) -> None:
    h = harness
    channel = await h.declare()
    await h.command(h.alice, channel, "set region eu")
    await h.command(h.alice, channel, "set products checkout, Search")
    await h.command(h.alice, channel, "set customer Acme Corp")
    await h.command(h.alice, channel, "set customers 1,200")
    await h.command(h.alice, channel, "set contact <@U0BOB|bob>")
    await h.command(h.alice, channel, "set ticket <https://tickets.example.com/T-1>")
    await h.command(h.alice, channel, "set Region US")  # by its label, any case
    assert await _values(h, channel) == {
        "region": "US",
        "products": ["Checkout", "Search"],
        "customer": "Acme Corp",
        "customers": 1200.0,
        "contact": "U0BOB",
        "ticket": "https://tickets.example.com/T-1",
    }
    assert await _timeline(h, channel) == [
        ("field", "Region set to EU", "U0ALICE"),
        ("field", "Affected products set to Checkout, Search", "U0ALICE"),
        ("field", "Customer set to Acme Corp", "U0ALICE"),
        ("field", "Customers affected set to 1200", "U0ALICE"),
        ("field", "Customer contact set to <@U0BOB>", "U0ALICE"),
        ("field", "Ticket set to https://tickets.example.com/T-1", "U0ALICE"),
        ("field", "Region set to US (was EU)", "U0ALICE"),
    ]
    notes = _notes(h, channel)
    assert len(notes) == 7
    assert notes[0] == ":label: <@U0ALICE> *Region* set to EU"
    assert notes[4] == ":label: <@U0ALICE> *Customer contact* set to <@U0BOB>"
    assert "<https://tickets.example.com/T-1|https://tickets.example.com/T-1>" in notes[5]
    assert notes[6] == ":label: <@U0ALICE> *Region* set to US (was EU)"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ("region Mars", "`Mars` is not an option. Options: `EU`, `US`, `APAC`."),
        ("region APC", "`APC` is not an option. Did you mean `APAC`?"),
        ("products Checkout, Billing", "`Billing` is not an option."),
        ("customers many", "`many` is not a number."),
        ("contact bob", "Name a person: `@someone`."),
        ("ticket javascript:alert(1)", "Give an http(s) link."),
        ("region", "Give a value for Region: `EU`, `US`, `APAC`. `none` clears it."),
        ("ticket none", "Ticket is required to resolve: it can be changed, not cleared."),
    ],
)
async def test_a_value_the_field_does_not_take_is_refused_and_nothing_changes(
    harness: Harness, args: str, said: str
) -> None:
    h = harness
    channel = await h.declare()
    await h.command(h.alice, channel, f"set {args}")
    assert said in _refusal(h), _refusal(h)
    assert await _values(h, channel) == {}
    assert await _timeline(h, channel) == [] and _notes(h, channel) == []


async def test_an_unknown_field_gets_the_closest_and_the_list(harness: Harness) -> None:
    h = harness
    channel = await h.declare()
    await h.command(h.alice, channel, "set regoin EU")
    assert "There is no field `regoin`. Did you mean `region`? Fields: `region`, `products`" in _refusal(h)
    await h.command(h.alice, channel, "set colour red")
    assert "Did you mean" not in _refusal(h) and "`ticket`" in _refusal(h)
    assert await _values(h, channel) == {}


async def test_none_clears_and_setting_the_same_value_is_said(harness: Harness) -> None:
    h = harness
    channel = await h.declare()
    await h.command(h.alice, channel, "set region EU")
    await h.command(h.alice, channel, "set region eu")
    assert "Region is already EU." in str(h.emu.responses[-1])
    await h.command(h.alice, channel, "set region none")
    await h.command(h.alice, channel, "set customer -")
    assert "Customer is already none." in str(h.emu.responses[-1])
    assert await _values(h, channel) == {}
    assert [text for _, text, _ in await _timeline(h, channel)] == [
        "Region set to EU",
        "Region cleared (was EU)",
    ]
    assert _notes(h, channel)[-1] == ":label: <@U0ALICE> *Region* cleared (was EU)"


async def test_set_alone_lists_the_fields_with_their_values(harness: Harness) -> None:
    h = harness
    channel = await h.declare()
    await h.command(h.alice, channel, "set region APAC")
    await h.command(h.alice, channel, "set")
    listed = str(h.emu.responses[-1])
    assert "Fields of INC-1" in listed
    assert "*Region* (`region`: `EU`, `US`, `APAC`): APAC" in listed
    assert "*Ticket* (`ticket`: an http(s) link · required to resolve): _not set_" in listed
    await h.command(h.alice, h.general, "set region EU")
    assert "only works in an incident channel" in _refusal(h)


async def test_a_change_reaches_webhooks_as_field_changed(harness: Harness, hooks: Receiver) -> None:
    h = harness
    channel = await h.declare()
    await h.command(h.alice, channel, "set customers 12")
    await h.command(h.alice, channel, "set customers 40")
    await h.bot.shared.outbox.deliver_due()
    changed = [r.json for r in hooks.delivered() if r.json["event"] == "field_changed"]
    assert [c["data"] for c in changed] == [
        {"name": "customers", "label": "Customers affected", "from": None, "to": 12, "by": "U0ALICE"},
        {"name": "customers", "label": "Customers affected", "from": 12, "to": 40, "by": "U0ALICE"},
    ]
    assert changed[0]["incident"]["id"] == "INC-1"


async def test_a_private_incidents_change_reaches_webhooks_without_its_values(
    harness: Harness, hooks: Receiver
) -> None:
    h = harness
    channel = await h.declare("--private sev2 Embargoed breach")
    await h.command(h.alice, channel, "set customer Acme Corp")
    await h.bot.shared.outbox.deliver_due()
    [changed] = [r for r in hooks.delivered() if r.json["event"] == "field_changed"]
    assert changed.json["data"] == {} and "Acme" not in changed.body.decode()
    announced = str(h.emu.messages(h.announce))
    assert "Acme" not in announced


async def test_a_command_slack_sends_twice_and_a_slack_outage_change_it_once(harness: Harness) -> None:
    h = harness
    channel = await h.declare()
    ws = h.emu.state
    ch = ws.channel(channel)
    assert ch is not None
    form = payloads.command_form(
        ws,
        h.alice,
        ch,
        "/incident",
        "set region EU",
        ws.response_url(h.alice, ch.id),
        ws.issue_trigger(h.alice),
    )
    h.emu.inject("chat.postMessage", status=500, seconds=20)
    for _ in range(2):  # Slack's retry of a command it heard no answer to carries the same trigger_id
        assert (await h.driver._form(form)).ok
    await h.idle()
    assert _notes(h, channel) == [] and await _values(h, channel) == {"region": "EU"}
    for _ in range(12):
        await h.advance(seconds=5)
    assert _notes(h, channel) == [":label: <@U0ALICE> *Region* set to EU"]
    assert await _timeline(h, channel) == [("field", "Region set to EU", "U0ALICE")]


async def test_hostile_values_are_inert_in_the_note_the_list_and_the_timeline(harness: Harness) -> None:
    h = harness
    channel = await h.declare()
    await h.command(h.alice, channel, "set customer <!channel> see <https://evil.example|bank login>")
    await h.command(h.alice, channel, "set ticket <https://evil.example/x|https://bank.example>")
    await h.command(h.alice, channel, "set")
    await h.command(h.alice, channel, "timeline")
    shown = str(_notes(h, channel)) + str(h.emu.responses[-2:])
    assert "<!channel>" not in shown and "<https://evil.example|bank" not in shown
    assert "@channel see bank login (https://evil.example)" in shown
    assert ":label: <@U0ALICE>: Customer set to @channel" in str(h.emu.responses[-1]), "the timeline"
    # A link field links its URL as itself, never under a label someone chose.
    assert "<https://evil.example/x|https://evil.example/x>" in _notes(h, channel)[1]
    assert "bank.example" not in _notes(h, channel)[1]
