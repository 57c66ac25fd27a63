"""The declare form's Service select: there only when the workspace has services, preselected by
`--service`, its choice carried into the incident, a service gone since the form opened refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import Incident
from tests.harness import Harness

RUNBOOKS = Path(__file__).parent / "runbooks"
SEARCH = Path(__file__).parents[1] / "domain" / "runbooks" / "search_service.md"
CACHE = {"name": "cache", "runbook": str(RUNBOOKS / "cache.md")}
SERVICES = [CACHE, {"name": "search", "runbook": str(SEARCH)}]


@pytest.fixture
def policy_data() -> dict:
    return {"services": SERVICES}


async def incidents(h: Harness) -> list[Incident]:
    async with h.bot.shared.db.session() as s:
        return list((await s.execute(select(Incident).order_by(Incident.id))).scalars())


async def open_form(h: Harness, text: str = "declare") -> tuple[str, dict[str, Any]]:
    """Open the form; its view id and the Service input (empty when there is none)."""
    await h.command(h.alice, h.general, text)
    opened = h.emu.calls_to("views.open")[-1]
    blocks = opened.params["view"]["blocks"]
    service = next((b for b in blocks if b.get("block_id") == "service"), {})
    return opened.response["view"]["id"], service


def filled(service: str | None) -> dict[str, Any]:
    form: dict[str, Any] = {
        "title": {"title_input": "Search is slow"},
        "severity": {"severity_select": "sev2"},
    }
    if service is not None:
        form["service"] = {"service_select": service}
    return form


async def test_the_form_offers_the_services_and_no_service(harness: Harness) -> None:
    h = harness
    _, block = await open_form(h)
    element = block["element"]
    assert block["optional"] is True and element["type"] == "static_select"
    assert [o["value"] for o in element["options"]] == ["-", "cache", "search"]
    assert element["initial_option"]["text"]["text"] == "No service"


async def test_declare_service_preselects_it_in_the_form(harness: Harness) -> None:
    h = harness
    _, block = await open_form(h, "declare --service search")
    assert block["element"]["initial_option"]["value"] == "search"
    _, block = await open_form(h, "declare --private --service=cache")
    assert block["element"]["initial_option"]["value"] == "cache"


async def test_the_chosen_service_is_the_incidents(harness: Harness) -> None:
    h = harness
    view_id, _ = await open_form(h)
    answer = await h.driver.submit_view(h.alice, view_id, filled("search"))
    assert answer.status == 200 and answer.get("response_action") is None
    await h.idle()
    view_id, _ = await open_form(h)
    await h.driver.submit_view(h.alice, view_id, filled("-"))
    await h.idle()
    assert [(i.title, i.service) for i in await incidents(h)] == [
        ("Search is slow", "search"),
        ("Search is slow", None),
    ]


async def test_without_services_the_form_has_no_service_select(harness: Harness) -> None:
    h = harness
    h.policy = h.policy_for()
    await h.restart()
    view_id, block = await open_form(h)
    assert block == {}
    await h.driver.submit_view(h.alice, view_id, filled(None))
    await h.idle()
    assert [i.service for i in await incidents(h)] == [None]


async def test_a_service_gone_since_the_form_opened_is_refused_in_place(harness: Harness) -> None:
    h = harness
    view_id, _ = await open_form(h)
    h.policy = h.policy_for(services=[CACHE])
    await h.restart()  # the policy changed while the form was open
    answer = await h.driver.submit_view(h.alice, view_id, filled("search"))
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"service"} and "search" in answer["errors"]["service"]
    await h.idle()
    assert await incidents(h) == []
    assert h.emu.calls_to("conversations.create") == []
