"""`/incident runbook`: every failure mode of the incident's service, the chosen one's card posted; and
cards of runbooks with missing sections or hostile text, within Slack's limits and pinging nobody."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from messages.blocks import MAX_BLOCKS, MAX_SECTION
from slack_emulator.render import buttons, checkboxes
from tests.harness import Harness
from tests.services.test_runbook_card import SCHEDULE, card_text, cards, runbook_entries, services, step_ids

RUNBOOKS = Path(__file__).parent / "runbooks"
LIVE = ("<!channel>", "<!here>", "<!everyone>", "<@U0ALICE>", "<http://evil|x>", "<!subteam", "javascript:")


@pytest.fixture
def policy_data() -> dict:
    return {
        "schedules": [SCHEDULE],
        "services": [
            *services(),
            {"name": "ledger", "runbook": str(RUNBOOKS / "ledger_sparse.md")},
            {"name": "hostile", "runbook": str(RUNBOOKS / "hostile.md")},
        ],
    }


def listed(h: Harness, user: str) -> dict[str, Any]:
    [*_, shown] = [e for e in h.emu.ephemerals(user) if e["text"].startswith("Failure modes of")]
    return shown


async def test_runbook_lists_every_mode_and_posts_the_chosen_ones_card(harness: Harness) -> None:
    h = harness
    channel = await h.declare("--service checkout sev2 checkout 502s")
    await h.command(h.bob, channel, "runbook")
    shown = listed(h, h.bob)
    assert [b.text for b in buttons(shown["blocks"])] == ["Post", "Post"]
    text = json.dumps(shown["blocks"], ensure_ascii=False)
    assert "*Checkout Down / 502 Errors*" in text and "*Card Declines Spike*" in text
    assert "<!channel>" not in text, "a symptom's mention is not live in the list"
    [_, declines] = buttons(shown["blocks"])
    await h.driver.click(h.bob, channel, shown["ts"], "runbook_post", declines.value)
    await h.idle()
    [_, chosen] = cards(h, channel)
    shown = card_text(chosen)
    assert "Card Declines Spike" in shown and "*1. Look at the gateway status page*" in shown
    assert "matched" not in shown
    assert chosen["ts"] not in [p["ts"] for p in h.emu.pins(channel)], "only the declaration's card is pinned"
    [step] = step_ids(chosen)
    await h.driver.check(h.alice, channel, chosen["ts"], step)
    await h.idle()
    assert await runbook_entries(h, channel) == [("Checked: Look at the gateway status page", h.alice)]
    [_, chosen] = cards(h, channel)
    assert "Card Declines Spike" in card_text(chosen) and "checked by <@U0ALICE>" in card_text(chosen)
    assert [b.ticked != () for b in checkboxes(chosen["blocks"])] == [True]


async def test_runbook_outside_a_services_incident_says_why(harness: Harness) -> None:
    h = harness
    await h.command(h.alice, h.general, "runbook")
    assert "works in the channel of a service's incident" in h.emu.ephemerals(h.alice)[-1]["text"]
    channel = await h.declare("sev2 Checkout is down")
    await h.command(h.alice, channel, "runbook")
    assert "INC-1 names no service" in h.emu.ephemerals(h.alice)[-1]["text"]
    assert cards(h, channel) == []


async def test_a_runbook_with_missing_sections_still_gives_a_card(harness: Harness) -> None:
    h = harness
    channel = await h.declare("--service ledger sev3 ledger out of balance")
    [card] = cards(h, channel)
    text = card_text(card)
    assert "*Owner:* not named in the runbook" in text and "none in the runbook" in text
    assert "*Ledger Out Of Balance*" in text and "No diagnosis steps in the runbook for this one." in text
    assert step_ids(card) == []
    await h.command(h.alice, channel, "runbook")
    assert "0 diagnosis steps" in json.dumps(listed(h, h.alice)["blocks"])


async def test_hostile_runbook_text_pings_nobody_and_fits_slacks_limits(harness: Harness) -> None:
    h = harness
    h.emu.add_usergroup("evil", ["U0ALICE"], group_id="S0EVIL")
    channel = await h.declare("--service hostile sev1 outage", user=h.bob)
    [card] = cards(h, channel)
    blocks = card["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= MAX_SECTION for b in blocks if "text" in b)
    text = card_text(card) + card["text"]
    for live in LIVE:
        assert live not in text, live
    assert "@channel" in text and "@U0ALICE" in text, "shown as words"
    first = blocks[3]["text"]["text"]
    assert first.count("```") == 2, "the long code stays one code block, cut"
    assert first.endswith("_… (cut; see the runbook)_")
    assert "35 more steps in the runbook" in text
    assert len(step_ids(card)) == 45 and len(blocks) == MAX_BLOCKS
    assert "<https://grafana.example.test/d/evil|" in text
    await h.driver.check(h.alice, channel, card["ts"], step_ids(card)[1])
    await h.idle()
    [(said, _)] = await runbook_entries(h, channel)
    assert said == "Checked: Look <@U0ALICE> at <http://evil|x> *bold*", "kept as written, escaped when shown"
    [card] = cards(h, channel)
    assert "Look <@U0ALICE>" not in card_text(card) and "checked by <@U0ALICE>" in card_text(card)
    await h.command(h.bob, channel, "timeline")
    shown = json.dumps(h.emu.ephemerals(h.bob)[-1])
    assert "Checked: Look @U0ALICE at x (http://evil)" in shown and "<http://evil|x>" not in shown
