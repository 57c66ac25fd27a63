"""The runbook card: posted and pinned when a service's incident is declared (runbooks in all four
shapes), its diagnosis steps a checklist whose ticks go on the timeline once and show for everyone."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from slack_emulator import payloads
from slack_emulator.models import TEAM_ID
from slack_emulator.render import checkboxes
from storage.repositories import IncidentRepo, TimelineRepo
from tests.harness import Harness, am_alert, am_notification

DOMAIN = Path(__file__).parents[1] / "domain" / "runbooks"
SCHEDULE = {"name": "payments-oncall", "users": ["U0PAY"], "shift": "7d", "handoff": "2026-01-05T09:00"}


def services() -> list[dict[str, Any]]:
    """One service per runbook shape."""
    return [
        {
            "name": "checkout",
            "runbook": str(DOMAIN / "checkout_incidents.md"),
            "schedule": "payments-oncall",
            "alerts": {"service": "checkout"},
        },
        {"name": "search", "runbook": str(DOMAIN / "search_service.md")},
        {"name": "platform", "runbook": str(DOMAIN / "platform_guide.md")},
        {"name": "cache", "runbook": str(DOMAIN / "run_cache_eviction.md")},
    ]


@pytest.fixture
def policy_data() -> dict:
    return {"schedules": [SCHEDULE], "services": services()}


def cards(h: Harness, channel: str) -> list[dict[str, Any]]:
    """The runbook cards in a channel, oldest first, as the channel shows them now."""
    return [m for m in h.emu.messages(channel) if m.get("text", "").startswith("Runbook of")]


def card_text(card: dict[str, Any]) -> str:
    return json.dumps(card["blocks"], ensure_ascii=False)


def step_ids(card: dict[str, Any]) -> list[str]:
    return [b.action_id for b in checkboxes(card["blocks"])]


async def runbook_entries(h: Harness, channel: str) -> list[tuple[str, str | None]]:
    async with h.bot.shared.db.session() as s:
        incident = await IncidentRepo(s, TEAM_ID).by_channel(channel)
        assert incident is not None
        entries = await TimelineRepo(s).for_incident(incident.id)
    return [(e.text, e.author_id) for e in entries if e.kind == "runbook"]


async def test_a_checkout_502_incident_gets_its_card_posted_and_pinned(harness: Harness) -> None:
    h = harness
    h.emu.add_user("pay", user_id="U0PAY")
    h.emu.add_usergroup("payments-team", ["U0PAY"], group_id="S0PAY")
    channel = await h.declare("--service checkout sev2 checkout 502s")
    posted = [m for m in h.emu.messages(channel) if m.get("blocks")]
    [card] = cards(h, channel)
    assert posted.index(card) > 0, "the card comes after the initial post"
    blocks = card["blocks"]
    assert blocks[0]["text"]["text"] == "Runbook: Checkout Incident Runbook (checkout)"
    text = card_text(card)
    assert "Checkout Down / 502 Errors" in text and "matched “502s”, “checkout”" in text
    assert "Card Declines Spike" not in text, "only the modes the title matches"
    assert "@payments-team (Slack user group)" in text and "subteam" not in text
    assert "*On call now:* <@U0PAY>" in text
    assert "<https://grafana.example.test/d/checkout|Checkout Dashboard>" in text
    steps = [b for b in blocks if (b.get("accessory") or {}).get("type") == "checkboxes"]
    assert [s["text"]["text"].split("\n")[0] for s in steps] == [
        "*1. Check the pods*",
        "*2. Check the last deploy*",
    ]
    assert (
        "```\nkubectl get pods -l app=checkout\n# a comment inside code, not a heading\n```"
        in steps[0]["text"]["text"]
    )
    assert all("initial_options" not in s["accessory"] for s in steps)
    assert card["ts"] in [p["ts"] for p in h.emu.pins(channel)]
    [pinned] = [c for c in h.emu.calls_to("pins.add") if c.params["timestamp"] == card["ts"]]
    assert pinned.params["channel"] == channel


@pytest.mark.parametrize(
    ("text", "mode", "step", "also"),
    [
        ("--service search sev3 slow queries", "Slow Queries", "Check the cluster health",
         "<https://grafana.example.test/d/search|Primary Dashboard>"),
        ("--service platform sev2 queue backlog growing", "Queue Backlog", "Check consumer lag", "RB-010 · "),
        ("--service cache sev2 cache eviction storm", "Cache Eviction Storm", "Check Memory",
         "redis-cli INFO memory"),
    ],
)  # fmt: skip
async def test_each_runbook_shape_gives_its_card(
    harness: Harness, text: str, mode: str, step: str, also: str
) -> None:
    h = harness
    channel = await h.declare(text)
    [card] = cards(h, channel)
    shown = card_text(card)
    assert f"*{mode}*" in shown and f"*1. {step}*" in shown and also in shown
    assert step_ids(card), "its diagnosis steps are a checklist"
    assert "no schedule for this service" in shown


async def test_no_card_without_a_service_and_a_plain_card_when_nothing_matches(harness: Harness) -> None:
    h = harness
    plain = await h.declare("sev2 Checkout is down")
    assert cards(h, plain) == []
    channel = await h.declare("--service checkout sev2 everything is weird")
    [card] = cards(h, channel)
    assert "No failure mode of the runbook matches “everything is weird”" in card_text(card)
    assert "`/incident runbook` lists all 2 to pick from" in card_text(card)
    assert step_ids(card) == []


async def test_a_tick_goes_on_the_timeline_once_and_shows_on_the_card(harness: Harness) -> None:
    h = harness
    channel = await h.declare("--service checkout sev2 checkout 502s")
    [card] = cards(h, channel)
    first = step_ids(card)[0]
    h.clock.advance(timedelta(minutes=4))
    await h.driver.check(h.bob, channel, card["ts"], first)
    await h.idle()
    assert await runbook_entries(h, channel) == [("Checked: Check the pods", h.bob)]
    [update] = h.emu.calls_to("chat.update")
    assert update.params["ts"] == card["ts"]
    [card] = cards(h, channel)
    [ticked] = [b for b in card["blocks"] if (b.get("accessory") or {}).get("action_id") == first]
    assert ticked["accessory"]["initial_options"] == ticked["accessory"]["options"]
    assert "checked by <@U0BOB> at 03:04 UTC" in ticked["text"]["text"]
    await h.driver.check(h.alice, channel, card["ts"], first)  # seen unticked on a stale screen
    await h.idle()
    assert len(await runbook_entries(h, channel)) == 1, "an already ticked step is not recorded again"
    await h.driver.check(h.alice, channel, card["ts"], first, ticked=False)
    await h.idle()
    assert await runbook_entries(h, channel) == [
        ("Checked: Check the pods", h.bob),
        ("Unchecked: Check the pods", h.alice),
    ]
    [card] = cards(h, channel)
    assert "checked by" not in card_text(card)
    assert all(not b.ticked for b in checkboxes(card["blocks"]))


async def test_a_retried_tick_is_recorded_once(harness: Harness) -> None:
    h = harness
    channel = await h.declare("--service checkout sev2 checkout 502s")
    [card] = cards(h, channel)
    ws = h.emu.state
    box = checkboxes(card["blocks"])[1]
    payload = payloads.checkbox_actions(
        ws, h.bob, ws.channels[channel], card, box, [box.options[0]],
        ws.response_url(h.bob, channel, card["ts"]), ws.issue_trigger(h.bob), ws.next_ts(), False,
    )  # fmt: skip
    body = urlencode({"payload": json.dumps(payload)}).encode()
    for _ in range(2):  # Slack sends it again when the first answer was slow
        result = await h.driver.post_raw(body, "application/x-www-form-urlencoded")
        assert result.ok
        await h.idle()
    assert await runbook_entries(h, channel) == [("Checked: Check the last deploy", h.bob)]
    assert len(h.emu.calls_to("chat.update")) == 1


async def test_checked_steps_reach_the_postmortem_draft(harness: Harness) -> None:
    h = harness
    channel = await h.declare("--service checkout sev2 checkout 502s")
    [card] = cards(h, channel)
    await h.driver.check(h.bob, channel, card["ts"], step_ids(card)[0])
    await h.idle()
    await h.command(h.alice, channel, "postmortem")
    [complete] = h.emu.calls_to("files.completeUploadExternal")
    draft = h.emu.file_content(complete.response["files"][0]["id"]).decode()
    [row] = [line for line in draft.splitlines() if "Checked: Check the pods" in line]
    assert row.endswith("Checked: Check the pods (bob) |")


async def test_a_private_incidents_card_stays_in_its_channel(harness: Harness) -> None:
    h = harness
    channel = await h.declare("--private --service checkout sev1 checkout 502s")
    assert h.emu.channel(channel).is_private
    [card] = cards(h, channel)
    assert "Checkout Down / 502 Errors" in card_text(card)
    announced = json.dumps([m for m in h.emu.messages("C0INCIDENTS")])
    assert "Runbook" not in announced and "502" not in announced and "kubectl" not in announced
    elsewhere = [c for c in h.emu.calls_to("chat.postMessage") if "Runbook of" in str(c.params.get("text"))]
    assert {c.params["channel"] for c in elsewhere} == {channel}


async def test_an_alerts_incident_gets_the_card_with_the_alerts_runbook_link(harness: Harness) -> None:
    h = harness
    h.token = "am-token"
    await h.restart()
    alert = am_alert("api-1")
    alert["labels"]["service"] = "checkout"
    alert["annotations"]["runbook_url"] = "https://wiki.example.test/runbooks/checkout"
    body = am_notification(alert)
    body["commonLabels"]["service"] = "checkout"
    headers = {"Authorization": "Bearer am-token"}
    async with aiohttp.ClientSession() as session, session.post(
        h.url + "/webhooks/alertmanager", data=json.dumps(body).encode(), headers=headers
    ) as resp:  # fmt: skip
        assert resp.status == 200
    await h.idle()
    [created] = h.emu.calls_to("conversations.create")
    channel = created.response["channel"]["id"]
    [card] = cards(h, channel)
    text = card_text(card)
    assert "<https://wiki.example.test/runbooks/checkout|Runbook>" in text
    assert "Checkout Down / 502 Errors" in text, "matched on the alert's summary"
    assert card["ts"] in [p["ts"] for p in h.emu.pins(channel)]
