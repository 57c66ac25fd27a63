"""Custom fields in the forms: an input per field in the declare form, required to declare (refused in
place, and from the command), required to resolve (the resolve form), shown in `/incident status`."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from slack_emulator.models import TEAM_ID
from storage.fields import FieldRepo
from storage.models import Incident
from storage.repositories import IncidentRepo, TimelineRepo
from tests.harness import Harness

FIELDS: list[dict[str, Any]] = [
    {"name": "region", "label": "Region", "type": "select", "options": ["EU", "US"], "required": "declare"},
    {
        "name": "products",
        "type": "multi_select",
        "options": ["Checkout", "Search"],
        "show": ["initial", "announcement"],
    },
    {"name": "customer", "type": "text", "show": ["status"]},
    {"name": "customers", "type": "number", "show": []},
    {"name": "contact", "type": "user"},
    {"name": "ticket", "label": "Ticket", "type": "link", "required": "resolve"},
]


@pytest.fixture
def policy_data() -> dict:
    return {"fields": FIELDS}


async def _incidents(h: Harness) -> list[Incident]:
    async with h.bot.shared.db.session() as s:
        return list((await s.execute(select(Incident).order_by(Incident.id))).scalars())


async def _values(h: Harness, channel: str) -> dict[str, Any]:
    async with h.bot.shared.db.session() as s:
        incident = await IncidentRepo(s, TEAM_ID).by_channel(channel)
        assert incident is not None
        return await FieldRepo(s).of(incident.id)


async def _timeline(h: Harness, channel: str) -> list[tuple[str, str]]:
    async with h.bot.shared.db.session() as s:
        incident = await IncidentRepo(s, TEAM_ID).by_channel(channel)
        assert incident is not None
        return [(e.kind, e.text) for e in await TimelineRepo(s).for_incident(incident.id)]


async def _open_declare_form(h: Harness, text: str = "declare") -> tuple[str, list[dict[str, Any]]]:
    await h.command(h.alice, h.general, text)
    opened = h.emu.calls_to("views.open")[-1]
    return opened.response["view"]["id"], opened.params["view"]["blocks"]


def _filled(**fields: Any) -> dict[str, Any]:
    form = {"title": {"title_input": "Checkout <!channel> is down"}, "severity": {"severity_select": "sev2"}}
    return {**form, **{f"field_{name}": {"field_value": value} for name, value in fields.items()}}


async def test_the_declare_form_has_an_input_of_its_type_per_field(harness: Harness) -> None:
    _, blocks = await _open_declare_form(harness)
    inputs = {b["block_id"]: b for b in blocks if b["block_id"].startswith("field_")}
    assert {k: (b["element"]["type"], b["optional"]) for k, b in inputs.items()} == {
        "field_region": ("static_select", False),
        "field_products": ("multi_static_select", True),
        "field_customer": ("plain_text_input", True),
        "field_customers": ("number_input", True),
        "field_contact": ("users_select", True),
        "field_ticket": ("url_text_input", True),
    }
    assert [o["value"] for o in inputs["field_region"]["element"]["options"]] == ["EU", "US"]
    assert inputs["field_ticket"]["label"]["text"] == "Ticket"


async def test_values_from_the_form_are_the_incidents_from_its_declaration(harness: Harness) -> None:
    h = harness
    view_id, _ = await _open_declare_form(h)
    values = _filled(
        region="US",
        products=["Search", "Checkout"],
        customer="<!channel> Acme",
        customers="1200",
        contact="U0BOB",
        ticket="https://tickets.example.com/T-9",
    )
    answer = await h.driver.submit_view(h.alice, view_id, values)
    assert answer.get("response_action") is None
    await h.idle()
    [incident] = await _incidents(h)
    channel = incident.channel_id or ""
    assert await _values(h, channel) == {
        "region": "US",
        "products": ["Search", "Checkout"],
        "customer": "<!channel> Acme",
        "customers": 1200.0,
        "contact": "U0BOB",
        "ticket": "https://tickets.example.com/T-9",
    }
    timeline = await _timeline(h, channel)
    assert timeline[0][0] == "declared"
    assert ("field", "Region set to US") in timeline and ("field", "Contact set to <@U0BOB>") in timeline
    initial = str(h.emu.pins(channel)[0]["blocks"])
    assert "*Region:* US" in initial and "*Products:* Search, Checkout" in initial
    assert "Customers" not in initial, "a field not shown in the initial post"
    announced = str(h.emu.messages(h.announce))
    assert "Search, Checkout" in announced and "Region" not in announced
    assert "<!channel>" not in str(h.emu.messages(channel))


async def test_a_field_required_to_declare_is_refused_in_place_and_from_the_command(harness: Harness) -> None:
    h = harness
    view_id, _ = await _open_declare_form(h)
    answer = await h.driver.submit_view(h.alice, view_id, _filled(customers="1e999"), enforce_required=False)
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {
        "field_region": "Region is required.",
        "field_customers": "Give a finite number.",
    }
    await h.command(h.alice, h.general, "declare sev2 Checkout is down")
    said = h.emu.ephemerals(h.alice)[-1]["text"]
    assert "Declaring needs Region (`region`)" in said and "`/incident declare` with no arguments" in said
    await h.idle()
    assert await _incidents(h) == [] and h.emu.calls_to("conversations.create") == []


async def _declared(h: Harness) -> str:
    view_id, _ = await _open_declare_form(h)
    await h.driver.submit_view(
        h.alice, view_id, _filled(region="EU", customer="Acme <!here>", products=["Search"])
    )
    await h.idle()
    [incident] = await _incidents(h)
    return incident.channel_id or ""


async def test_resolve_asks_for_the_fields_it_needs_in_a_form_that_resolves(harness: Harness) -> None:
    h = harness
    channel = await _declared(h)
    await h.command(h.alice, channel, "resolve Rolled back the deploy")
    said = h.emu.ephemerals(h.alice)[-1]["text"]
    assert "INC-1 needs *Ticket* (`ticket`) before it is resolved" in said
    form = h.emu.calls_to("views.open")[-1].params["view"]
    assert form["callback_id"] == "resolve_with_fields"
    assert [b.get("block_id") for b in form["blocks"] if b["type"] == "input"] == ["summary", "field_ticket"]
    summary = next(b for b in form["blocks"] if b.get("block_id") == "summary")
    assert summary["element"]["initial_value"] == "Rolled back the deploy"
    assert (await _incidents(h))[0].resolved_at is None

    view_id = h.emu.calls_to("views.open")[-1].response["view"]["id"]
    empty = await h.driver.submit_view(h.alice, view_id, {"summary": ""}, enforce_required=False)
    assert set(empty["errors"]) == {"summary", "field_ticket"}
    values = {"summary": "Rolled back the deploy", "field_ticket": "https://tickets.example.com/T-2"}
    assert (await h.driver.submit_view(h.alice, view_id, values)).get("response_action") is None
    await h.idle()
    [incident] = await _incidents(h)
    assert incident.resolved_at is not None and incident.summary == "Rolled back the deploy"
    assert (await _values(h, channel))["ticket"] == "https://tickets.example.com/T-2"
    kinds = [(kind, text) for kind, text in await _timeline(h, channel) if kind in ("field", "resolved")]
    assert kinds[-2:] == [
        ("field", "Ticket set to https://tickets.example.com/T-2"),
        ("resolved", "Resolved: Rolled back the deploy"),
    ]


async def test_once_the_field_is_set_resolve_resolves(harness: Harness) -> None:
    h = harness
    channel = await _declared(h)
    opened = len(h.emu.calls_to("views.open"))
    await h.command(h.alice, channel, "set ticket https://tickets.example.com/T-3")
    await h.command(h.alice, channel, "resolve Fixed")
    assert len(h.emu.calls_to("views.open")) == opened
    assert (await _incidents(h))[0].resolved_at is not None


async def test_status_shows_the_fields_shown_there(harness: Harness) -> None:
    h = harness
    channel = await _declared(h)
    await h.command(h.alice, channel, "status")
    status = str(h.emu.responses[-1]["blocks"])
    assert "*Region*: EU" in status and "*Customer*: Acme @here" in status
    assert "Products" not in status, "shown in the initial post and the announcement only"


async def test_a_private_incidents_fields_stay_out_of_the_announce_channel(harness: Harness) -> None:
    h = harness
    view_id, _ = await _open_declare_form(h, "declare --private")
    private = {"private": {"private_input": ["private"]}}
    await h.driver.submit_view(h.alice, view_id, {**_filled(region="EU", products=["Search"]), **private})
    await h.idle()
    [incident] = await _incidents(h)
    assert incident.private
    assert "*Products:* Search" in str(h.emu.pins(incident.channel_id or "")[0]["blocks"])
    announced = str(h.emu.messages(h.announce))
    assert "private" in announced and "Search" not in announced and "Products" not in announced
