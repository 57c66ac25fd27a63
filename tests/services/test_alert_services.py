"""Alertmanager alerts become a service's incidents: found by their labels, paged along the service's
escalation, the alert's `runbook_url` linked in the initial post."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from slack_emulator.models import TEAM_ID
from storage.models import Incident
from storage.repositories import IncidentRepo
from tests.harness import LEVELS, Harness, am_alert, am_notification, paged, team

TOKEN = "am-secret-token"
RUNBOOKS = Path(__file__).parents[1] / "domain" / "runbooks"
RUNBOOK = "https://wiki.example.com/runbooks/checkout#high-error-rate"


@pytest.fixture
def policy_data() -> dict[str, Any]:
    schedule = {"shift": "7d", "handoff": "2026-01-05T09:00"}
    return {
        **LEVELS,
        "schedules": [
            {"name": "checkout-oncall", "users": ["U0CHECKOUT"], **schedule},
            {"name": "payments-oncall", "users": ["U0PAY"], **schedule},
        ],
        "services": [
            {
                "name": "checkout",
                "runbook": str(RUNBOOKS / "checkout_incidents.md"),
                "schedule": "checkout-oncall",
                "alerts": {"service": "checkout"},
            },
            {
                "name": "payments",
                "runbook": str(RUNBOOKS / "checkout_incidents.md"),
                "schedule": "payments-oncall",
                "alerts": {"service": "checkout", "component": "payments"},
            },
            {"name": "search", "runbook": str(RUNBOOKS / "search_service.md"), "alerts": {"job": "search"}},
        ],
    }


async def _ready(h: Harness) -> None:
    team(h)
    h.emu.add_user("checkout", user_id="U0CHECKOUT")
    h.emu.add_user("pay", user_id="U0PAY")
    h.token = TOKEN
    await h.restart()


def _alert(instance: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    alert = am_alert(instance, status)
    alert["labels"].update(labels)
    return alert


def _notification(
    *alerts: dict[str, Any], labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    body = am_notification(*alerts)
    body["commonLabels"].update(labels or {})
    body["commonAnnotations"].update(annotations or {})
    return body


async def _deliver(h: Harness, body: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as session, session.post(
        h.url + "/webhooks/alertmanager", data=json.dumps(body).encode(), headers=headers
    ) as resp:  # fmt: skip
        assert resp.status == 200, await resp.text()
    await h.idle()


def _channels(h: Harness) -> list[str]:
    return [c.response["channel"]["id"] for c in h.emu.calls_to("conversations.create") if c.response["ok"]]


async def _incident(h: Harness, channel: str) -> Incident:
    async with h.bot.shared.db.session() as s:
        incident = await IncidentRepo(s, TEAM_ID).by_channel(channel)
    assert incident is not None
    return incident


def _initial(h: Harness, channel: str) -> str:
    """The initial post's blocks and text, as JSON."""
    [post] = [m for m in h.emu.messages(channel) if " declared: " in m.get("text", "")]
    return json.dumps(post)


def _announced(h: Harness) -> str:
    return json.dumps(h.emu.messages("C0INCIDENTS"))


async def test_labels_matching_a_service_make_its_incident_and_page_its_schedule(harness: Harness) -> None:
    h = harness
    await _ready(h)
    await _deliver(h, _notification(_alert("api-1", service="checkout"), labels={"service": "checkout"}))
    [channel] = _channels(h)
    incident = await _incident(h, channel)
    assert incident.service == "checkout"
    assert incident.title == "HighErrorRate: 5xx rate above 5% on checkout-api"
    await h.tick()
    assert paged(h) == ["U0CHECKOUT"], "L1 is the service's schedule"
    initial = _initial(h, channel)
    assert "*Service:* `checkout`" in initial
    assert "Runbook" not in initial, "no runbook_url annotation, no link"
    assert "Service `checkout`" in _announced(h), "a public incident's announcement names its service"


async def test_labels_matching_no_service_page_the_policys_l1(harness: Harness) -> None:
    h = harness
    await _ready(h)
    await _deliver(h, _notification(_alert("api-1", service="billing"), labels={"service": "billing"}))
    [channel] = _channels(h)
    assert (await _incident(h, channel)).service is None
    await h.tick()
    assert paged(h) == ["U0ONCALL"]
    assert "Service" not in _initial(h, channel)
    assert "Service" not in _announced(h)


@pytest.mark.parametrize(
    ("alerts", "labels", "service", "who"),
    [
        pytest.param(
            [_alert("api-1", service="checkout", component="payments")],
            {"service": "checkout", "component": "payments"},
            "payments",
            "U0PAY",
            id="most-specific-wins",
        ),
        pytest.param(
            [_alert("api-1", "resolved", job="search"), _alert("api-2", service="checkout")],
            {},
            "checkout",
            "U0CHECKOUT",
            id="first-firing-alert-when-common-labels-match-none",
        ),
        pytest.param(
            [_alert("api-1", service="checkout", component="payments")],
            {"service": "checkout"},
            "checkout",
            "U0CHECKOUT",
            id="common-labels-first",
        ),
    ],
)
async def test_which_service_the_labels_find(
    harness: Harness, alerts: list[dict[str, Any]], labels: dict[str, str], service: str, who: str
) -> None:
    h = harness
    await _ready(h)
    await _deliver(h, _notification(*alerts, labels=labels))
    [channel] = _channels(h)
    assert (await _incident(h, channel)).service == service
    await h.tick()
    assert paged(h) == [who]


async def test_the_runbook_url_annotation_is_linked_in_the_initial_post(harness: Harness) -> None:
    h = harness
    await _ready(h)
    body = _notification(
        _alert("api-1", service="checkout"),
        labels={"service": "checkout"},
        annotations={"runbook_url": RUNBOOK},
    )
    await _deliver(h, body)
    [channel] = _channels(h)
    assert (await _incident(h, channel)).runbook_url == RUNBOOK
    assert f"<{RUNBOOK}|wiki.example.com/runbooks/checkout>" in _initial(h, channel)
    assert "runbooks/checkout" not in _announced(h)


async def test_the_first_firing_alerts_runbook_url_when_the_group_shares_none(harness: Harness) -> None:
    h = harness
    await _ready(h)
    resolved, firing = _alert("api-1", "resolved"), _alert("api-2")
    resolved["annotations"]["runbook_url"] = "https://wiki.example.com/other"
    firing["annotations"]["runbook_url"] = RUNBOOK
    await _deliver(h, _notification(resolved, firing))
    [channel] = _channels(h)
    assert (await _incident(h, channel)).runbook_url == RUNBOOK
    assert f"<{RUNBOOK}|" in _initial(h, channel)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "https://wiki.example.com/" + "a" * 3000,
        "ftp://wiki.example.com/runbook",
        "https://wiki.example.com/run book",
        "https://wiki.example.com/x|<!channel>",
        "/runbooks/checkout",
    ],
)
async def test_a_runbook_url_that_is_not_a_clean_http_link_is_not_linked(harness: Harness, url: str) -> None:
    h = harness
    await _ready(h)
    await _deliver(h, _notification(_alert("api-1"), annotations={"runbook_url": url}))
    [channel] = _channels(h)
    assert (await _incident(h, channel)).runbook_url is None
    shown = json.dumps(h.emu.messages(channel))
    assert "Runbook" not in _initial(h, channel)
    assert "javascript:" not in shown and "<!channel>" not in shown and "aaaaaaaaaa" not in shown


async def test_hostile_summary_text_is_escaped(harness: Harness) -> None:
    h = harness
    await _ready(h)
    summary = "<!channel> ask <@U0EVIL> & <https://evil.example/x|click here> <!subteam^S0ALL>"
    await _deliver(
        h,
        _notification(
            _alert("api-1", service="checkout"),
            labels={"service": "checkout"},
            annotations={"summary": summary, "runbook_url": "https://wiki.example.com/r&d/x?a=1&b=2"},
        ),
    )
    [channel] = _channels(h)
    assert (await _incident(h, channel)).title == f"HighErrorRate: {summary}"
    shown = json.dumps(h.emu.messages(channel)) + _announced(h)
    for live in ("<!channel>", "<@U0EVIL>", "<https://evil.example", "<!subteam"):
        assert live not in shown
    assert "@channel ask @U0EVIL &amp; click here (https://evil.example/x)" in _initial(h, channel)
    link = "<https://wiki.example.com/r&amp;d/x?a=1&amp;b=2|wiki.example.com/r&amp;d/x>"
    assert link in _initial(h, channel)


async def test_a_group_refiring_into_its_incident_keeps_the_service(harness: Harness) -> None:
    h = harness
    await _ready(h)
    checkout = _notification(_alert("api-1", service="checkout"), labels={"service": "checkout"})
    await _deliver(h, checkout)
    [channel] = _channels(h)
    # The same group later carries an alert of another service: still the same incident, same service.
    regroup = _notification(_alert("api-1", service="checkout"), _alert("api-2", job="search"))
    await _deliver(h, regroup)
    assert _channels(h) == [channel]
    assert (await _incident(h, channel)).service == "checkout"

    await h.command("U0CHECKOUT", channel, "resolve Scaled up")
    assert not (await _incident(h, channel)).is_open
    await h.advance(minutes=10)
    await _deliver(h, regroup)
    assert _channels(h) == [channel], "within the reopen window: said in the resolved channel"
    assert (await _incident(h, channel)).service == "checkout"

    await h.advance(hours=2)
    await _deliver(h, checkout)
    [_, again] = _channels(h)
    assert (await _incident(h, again)).service == "checkout", "declared anew: its service from its labels"


@pytest.mark.parametrize(("private", "named"), [(True, False), (False, True)])
async def test_a_private_incidents_announcement_names_no_service(
    harness: Harness, private: bool, named: bool
) -> None:
    h = harness
    await _ready(h)
    flag = "--private " if private else ""
    channel = await h.declare(f"{flag}--service payments sev2 Orders stuck")
    assert (await _incident(h, channel)).service == "payments"
    assert "*Service:* `payments`" in _initial(h, channel)
    assert ("payments" in _announced(h)) is named
