"""Workflow steps that page, assign, call a webhook and remind, end to end: each goes through the bot's
own path (the page job and its acknowledgement, Roles, the outbox, a scheduled job)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import Incident, ScheduledJob
from tests.harness import Harness, click_as, entry_texts
from tests.receivers import Receiver

SECRET = "wf-hook-secret"
ESCALATE = {
    "name": "sev1-escalate",
    "on": "declared",
    "if": {"severity": ["sev1"]},
    "do": [
        {"page": "L2"},
        {"assign": {"role": "scribe", "schedule": "primary"}},
        {"webhook": "ops-hook"},
        {"remind": {"after": "30m", "text": "Is the status page current? <!channel> *now*"}},
    ],
}

# `dba` is on no escalation level: the step pages its on-call on its own.
DATABASE = {
    "name": "db-page",
    "on": "declared",
    "if": {"severity": ["sev2"]},
    "do": [{"page": {"schedule": "dba"}}],
}


@pytest.fixture
def policy_data(hooks: Receiver) -> dict[str, Any]:
    return {
        "schedules": [
            {
                "name": "primary",
                "timezone": "Europe/Berlin",
                "users": ["U0ANA", "U0BEN"],
                "shift": "1d",
                "handoff": "2026-11-21 09:00",  # Ana until 22 Nov 09:00 Berlin, then Ben
            },
            {
                "name": "dba",
                "timezone": "UTC",
                "users": ["U0DBA"],
                "shift": "7d",
                "handoff": "2026-11-16 09:00",
            },
        ],
        "escalation": {
            "levels": [
                {"name": "L1", "title": "Primary on-call", "users": ["U0ONCALL"], "after": "0s"},
                {"name": "L2", "title": "Team lead", "users": ["U0LEAD"], "after": "30m"},
            ]
        },
        "webhooks": [
            {"url": hooks.url + "/wf", "secret": SECRET, "name": "ops-hook", "events": ["resolved"]},
        ],
        "workflows": [ESCALATE, DATABASE],
    }


def _people(h: Harness) -> None:
    for name in ("ana", "ben", "oncall", "lead", "dba"):
        h.emu.add_user(name, user_id=f"U0{name.upper()}")


def _pages(h: Harness, user: str) -> list[dict[str, Any]]:
    return [m for m in h.emu.dms(user) if "You are paged" in str(m.get("blocks"))]


def _reminders(h: Harness, channel: str) -> list[dict[str, Any]]:
    return [m for m in h.emu.messages(channel) if "Is the status page current?" in (m.get("text") or "")]


async def test_page_brings_the_level_forward_and_is_acknowledged_as_usual(harness: Harness) -> None:
    h = harness
    _people(h)
    channel = await h.declare("sev1 Payments are failing")
    await h.tick()
    assert len(_pages(h, "U0LEAD")) == 1, "L2 paged now, not in 30 minutes"
    paged = await entry_texts(h, "paged")
    assert "Paged L2 Team lead: <@U0LEAD>" in paged
    [run] = await entry_texts(h, "workflow")
    assert run.startswith("Workflow *sev1-escalate*: paged L2 (Team lead)")

    await click_as(h, "U0LEAD", "U0LEAD", "page_acknowledge")
    assert await entry_texts(h, "acknowledged") == ["<@U0LEAD> acknowledged the L2 page"]
    assert "U0LEAD" in h.emu.channel(channel).members
    [*_, dm] = h.emu.dms("U0LEAD")
    assert "page_acknowledge" not in str(dm["blocks"]), "the page DM shows the acknowledgement"

    await h.advance(minutes=31)
    assert len(_pages(h, "U0LEAD")) == 1, "its planned page was the one brought forward: never twice"


async def test_assign_gives_the_role_to_whoever_is_on_call(harness: Harness) -> None:
    h = harness
    _people(h)
    channel = await h.declare("sev1 Payments are failing")  # Sunday 22 Nov, 04:00 in Berlin: Ana
    await h.tick()
    async with h.bot.shared.db.session() as s:
        incident = (await s.execute(select(Incident))).scalar_one()
    assert incident.scribe_id == "U0ANA"
    assert "U0ANA" in h.emu.channel(channel).members
    assert any("<@U0ANA> is now scribe" in e for e in await entry_texts(h, "role"))
    assert any("You are now scribe of INC-1" in (m.get("text") or "") for m in h.emu.dms("U0ANA"))
    [run] = await entry_texts(h, "workflow")
    assert "made <@U0ANA> scribe (on call on primary)" in run


async def test_webhook_is_delivered_once_signed(harness: Harness, hooks: Receiver) -> None:
    h = harness
    _people(h)
    await h.declare("sev1 Payments are failing")
    await h.tick()
    for _ in range(3):
        await h.bot.shared.outbox.deliver_due()
    [got] = [r for r in hooks.delivered() if r.path == "/wf"]
    assert got.json["event"] == "workflow" and got.json["data"] == {"workflow": "sev1-escalate"}
    assert got.json["incident"]["id"] == "INC-1"
    expected = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Incident-Bot-Signature"] == expected
    await h.declare("sev2 Search is slow")
    await h.bot.shared.outbox.deliver_due()
    assert len([r for r in hooks.delivered() if r.path == "/wf"]) == 1, "only what a workflow sends"


async def test_remind_fires_after_a_restart_and_is_cancelled_by_resolution(harness: Harness) -> None:
    h = harness
    _people(h)
    kept = await h.declare("sev1 Payments are failing")
    resolved = await h.declare("sev1 Search is down")
    await h.tick()
    await h.restart()
    await h.advance(minutes=29, seconds=59)
    assert not _reminders(h, kept)
    await h.command(h.alice, resolved, "resolve Rolled back")
    async with h.bot.shared.db.session() as s:
        jobs = (await s.execute(select(ScheduledJob).where(ScheduledJob.kind == "workflow_remind"))).scalars()
        states = sorted((j.incident_id, j.state, j.note) for j in jobs)
    assert states == [(1, "pending", None), (2, "cancelled", "resolved")], "the resolution cancels it"
    await h.advance(seconds=1)
    [said] = _reminders(h, kept)
    assert "<!channel>" not in str(said) and "@channel" in said["text"], "people's words inert"
    assert "sev1-escalate" in str(said["blocks"])
    assert not _reminders(h, resolved), "resolved first: the reminder is cancelled"
    await h.advance(hours=2)
    assert len(_reminders(h, kept)) == 1, "once"


async def test_page_a_schedule_off_the_levels_with_the_usual_acknowledgement(harness: Harness) -> None:
    h = harness
    _people(h)
    channel = await h.declare("sev2 Replication lag on the primary")
    await h.tick()
    [page] = _pages(h, "U0DBA")
    assert "You are paged (dba on-call) for SEV2" in str(page["blocks"])
    assert "Paged dba on-call: <@U0DBA>" in await entry_texts(h, "paged")
    [run] = await entry_texts(h, "workflow")
    assert run == "Workflow *db-page*: paged the dba on-call"
    async with h.bot.shared.db.session() as s:
        jobs = (await s.execute(select(ScheduledJob).where(ScheduledJob.kind == "page"))).scalars().all()
    assert {(j.level, j.schedule, j.state) for j in jobs} == {
        (0, None, "done"),
        (1, None, "pending"),
        (None, "dba", "done"),
    }, "L1 paged, L2 still to come, the schedule paged on its own"

    await click_as(h, "U0DBA", "U0DBA", "page_acknowledge")
    assert await entry_texts(h, "acknowledged") == ["<@U0DBA> acknowledged the dba page"]
    assert "U0DBA" in h.emu.channel(channel).members
    [*_, dm] = h.emu.dms("U0DBA")
    assert "page_acknowledge" not in str(dm["blocks"]) and "Acknowledged by" in str(dm["blocks"])

    await h.command(h.alice, channel, "escalate")
    assert len(_pages(h, "U0LEAD")) == 1, (
        "escalate now still goes L1 → L2: the schedule's page is off the ladder"
    )
    await h.advance(hours=3)
    assert len(_pages(h, "U0DBA")) == 1, "paged once"


UNTITLED = {
    "escalation": {
        "levels": [
            {"name": "L1", "title": "Primary on-call", "users": ["U0ONCALL"], "after": "0s"},
            {"name": "L2", "users": ["U0LEAD"], "after": "30m"},
        ]
    },
    "workflows": [{"name": "lead", "on": "declared", "do": [{"page": "L2"}]}],
}


@pytest.mark.parametrize("policy_data", [UNTITLED])
async def test_page_of_a_level_without_a_title_names_the_level_alone(harness: Harness) -> None:
    h = harness
    _people(h)
    await h.declare("sev1 Payments are failing")
    await h.tick()
    assert len(_pages(h, "U0LEAD")) == 1
    assert await entry_texts(h, "workflow") == ["Workflow *lead*: paged L2"]
