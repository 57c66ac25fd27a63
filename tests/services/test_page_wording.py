"""A team's own words for the page DM, the update reminder and the runbook card: each template overridden
in `[templates] dir` is what Slack receives (the bot's blocks still around it), a severity's variant
wins, hostile values stay inert, and a template failing at run time gives way to the shipped wording."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from storage.models import Incident
from tests.field_values import FIELDS, set_fields
from tests.harness import LEVELS, Harness, team

RUNBOOKS = Path(__file__).parents[1] / "domain" / "runbooks"
SCHEDULE = {"name": "payments-oncall", "users": ["U0PAY"], "shift": "7d", "handoff": "2026-01-05T09:00"}
CHECKOUT = {
    "name": "checkout",
    "runbook": str(RUNBOOKS / "checkout_incidents.md"),
    "schedule": "payments-oncall",
}

PAGE = (
    "{{ person }}: {{ level.name }} ({{ level.title }}) is wanted on {{ incident.number }}"
    " in {{ incident.channel }}: {{ incident.title }}\n"
    "Region {{ incident.fields.region }}, customer {{ incident.fields.customer }}"
)


@pytest.fixture
def policy_data(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """LEVELS, the test fields and a checkout service, with the test's own template files (its param)."""
    folder = tmp_path / "templates"
    folder.mkdir()
    for name, text in getattr(request, "param", {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    return {
        **LEVELS,
        "fields": FIELDS,
        "schedules": [SCHEDULE],
        "services": [CHECKOUT],
        "templates": {"dir": str(folder)},
    }


def page_dms(h: Harness, user: str) -> list[dict[str, Any]]:
    """Page DMs sent to `user` (as they read now), oldest first."""
    return [m for m in h.emu.dms(user) if "page_" in json.dumps(m.get("blocks")) or "Acknowledged" in str(m)]


def texts(message: dict[str, Any]) -> list[str]:
    """The mrkdwn of a message's section blocks, in order."""
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and "text" in b]


@pytest.mark.parametrize("policy_data", [{"page.j2": PAGE}], indirect=True)
async def test_a_teams_page_template_is_what_the_page_dm_says_and_keeps_saying(harness: Harness) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev2 Checkout is down")
    await set_fields(h, 1, region="EU", customer="Acme & Co")
    await h.tick()
    [dm] = page_dms(h, "U0ONCALL")
    said = (
        f"<@U0ONCALL>: L1 (On-call engineer) is wanted on INC-1 in <#{channel}>: Checkout is down\n"
        "Region EU, customer Acme &amp; Co"
    )
    assert texts(dm)[0] == said
    assert "You are paged" not in json.dumps(dm["blocks"]), "the shipped wording is replaced"
    blocks = json.dumps(dm["blocks"])
    assert "page_acknowledge" in blocks and "*Open for*" in blocks, "the bot's blocks are still around it"
    *_, last = h.emu.dms("U0ONCALL")
    await h.driver.click("U0ONCALL", h.emu.state.open_dm("U0ONCALL").id, last["ts"], "page_acknowledge")
    await h.idle()
    [dm] = h.emu.dms("U0ONCALL")
    assert texts(dm)[0] == said, "the edit after the acknowledgement keeps the team's words"
    assert "Acknowledged by <@U0ONCALL>" in json.dumps(dm["blocks"])
    assert "page_acknowledge" not in json.dumps(dm["blocks"])


@pytest.mark.parametrize(
    "policy_data",
    [{"page.j2": "Plain page for {{ incident.number }}", "page.sev1.j2": "WAKE UP: {{ incident.number }}"}],
    indirect=True,
)
async def test_a_severitys_page_variant_wins_over_the_plain_one(harness: Harness) -> None:
    h = harness
    team(h)
    await h.declare("sev1 Payments are down")
    await h.tick()
    await h.declare("sev2 Search is slow")
    await h.tick()
    first, second = h.emu.dms("U0ONCALL")
    assert texts(first)[0] == "WAKE UP: INC-1"
    assert texts(second)[0] == "Plain page for INC-2"


@pytest.mark.parametrize("policy_data", [{"page.j2": PAGE + "\n<!here> {{ level.title }}"}], indirect=True)
async def test_hostile_titles_and_field_values_stay_inert_in_a_teams_page(harness: Harness) -> None:
    h = harness
    team(h)
    await h.declare("sev2 Checkout is down")
    async with h.bot.shared.db.session() as s:  # as a title could read from any older path or import
        await s.execute(
            update(Incident).where(Incident.number == 1).values(title="<!channel> db <@U0CTO> down")
        )
    await set_fields(h, 1, region="US", customer="<https://evil.example|x> <!everyone>")
    await h.tick()
    [dm] = page_dms(h, "U0ONCALL")
    head = texts(dm)[0]
    assert "@channel db @U0CTO down" in head
    assert "customer x (https://evil.example) @everyone" in head
    assert head.endswith("@here On-call engineer"), "the template's own broadcast is neutralised too"
    text = json.dumps(dm, ensure_ascii=False)
    for live in ("<!channel", "<!everyone", "<!here", "<https://evil", "<@U0CTO>"):
        assert live not in text, live


# Fine for the sample person start-up checks with, failing for U0ONCALL: an unset field's attribute, and
# arithmetic on one (not Jinja's own error).
FAILS = {
    "undefined": "{% if person == '<@U0ONCALL>' %}{{ incident.fields.region.upper() }}{% endif %}",
    "arithmetic": "{% if person == '<@U0ONCALL>' %}{{ 60 // (incident.fields.seats or 0) }}{% endif %}",
}


@pytest.mark.parametrize(
    "policy_data",
    [{"page.j2": fails + "Paged {{ incident.number }}"} for fails in FAILS.values()],
    ids=list(FAILS),
    indirect=True,
)
async def test_a_page_still_goes_out_in_the_shipped_words_when_the_teams_template_fails(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    team(h)
    with caplog.at_level(logging.WARNING, logger="services.wording"):
        channel = await h.declare("sev2 Checkout is down")  # no field is set: L1's page fails
        await h.tick()
    [dm] = page_dms(h, "U0ONCALL")
    said = f"*You are paged (L1 On-call engineer) for SEV2 INC-1:* Checkout is down\nJoin <#{channel}>"
    assert texts(dm)[0].endswith(said)
    assert "page_acknowledge" in json.dumps(dm["blocks"])
    [logged] = [r.getMessage() for r in caplog.records if r.name == "services.wording"]
    assert "/templates/page.j2:1" in logged and "using the default page.j2" in logged
    await h.advance(minutes=30)
    [lead] = page_dms(h, "U0LEAD")
    assert texts(lead)[0] == "Paged INC-1", "the team's words wherever they work"


REMINDER = (
    "{{ person }}, {{ incident.number }} ({{ incident.fields.region }})"
    " wants an update every {{ reminder.every }}:"
    " {% if reminder.last_update %}last at {{ reminder.last_update.time }}{% else %}none yet{% endif %},"
    " next by {{ reminder.next_due.time }}{% if level %} ({{ level.name }}){% endif %}"
)


@pytest.mark.parametrize("policy_data", [{"reminder.j2": REMINDER}], indirect=True)
async def test_a_teams_reminder_template_is_what_the_channel_hears(harness: Harness) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev2 Checkout is down")
    await set_fields(h, 1, region="APAC")
    await h.advance(minutes=30)
    [reminder] = [m for m in h.emu.messages(channel) if m.get("text", "").startswith("Status update due")]
    assert texts(reminder) == [
        f"<@{h.alice}>, INC-1 (APAC) wants an update every 30m: none yet, next by 04:00 UTC"
    ]
    await h.command(h.alice, channel, "update Rolled back the deploy")
    await h.advance(minutes=30)
    *_, again = [m for m in h.emu.messages(channel) if m.get("text", "").startswith("Status update due")]
    assert texts(again) == [
        f"<@{h.alice}>, INC-1 (APAC) wants an update every 30m: last at 03:30 UTC, next by 04:30 UTC"
    ]


CARD = (
    "{{ service.title }} belongs to {{ service.owner }}; on call:"
    "{% for p in service.on_call or [] %} {{ p }}{% endfor +%}\n"
    "---\n"
    "{% for m in service.matched %}Looks like {{ m.name }} ({{ m.why }}){% endfor %}"
    " for {{ incident.title }}"
)


@pytest.mark.parametrize("policy_data", [{"runbook_card.j2": CARD}], indirect=True)
async def test_a_teams_runbook_card_template_heads_the_card_before_its_checklist(harness: Harness) -> None:
    h = harness
    h.emu.add_user("pay", user_id="U0PAY")
    channel = await h.declare("--service checkout sev2 checkout 502s")
    [card] = [m for m in h.emu.messages(channel) if m.get("text", "").startswith("Runbook of")]
    blocks = card["blocks"]
    assert blocks[0]["type"] == "header"
    assert texts(card)[:2] == [
        "Checkout Incident Runbook belongs to @payments-team; on call: <@U0PAY>",
        "Looks like Checkout Down / 502 Errors (matched “502s”, “checkout”) for checkout 502s",
    ]
    steps = [b for b in blocks if (b.get("accessory") or {}).get("type") == "checkboxes"]
    assert blocks.index(steps[0]) > 2 and steps[0]["text"]["text"].startswith("*1. Check the pods*")
    assert "*Owner:*" not in json.dumps(blocks), "the shipped head is replaced"
