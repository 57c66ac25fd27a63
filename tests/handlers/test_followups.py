"""The follow-up requests: built as their subcommands, buttons and form build them, stored and decoded
unchanged, under the same keys as before, and rows stored before the upgrade still decode."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from unittest.mock import AsyncMock, MagicMock

from handlers import followups
from handlers.subcommands import Subcommands
from handlers.wiring import Wiring
from runtime.clock import FakeClock
from runtime.ops import Ops
from tests.handlers.kept import ASKED, TEAM, Kept, ack, invocation, round_trip

CLOCK = FakeClock()  # 2026-11-22


def _ops() -> Ops:
    ops = Ops()
    followups.register(MagicMock(), Wiring(ops, Subcommands(), MagicMock()))
    return ops


async def test_followup_and_reopen_round_trip_and_decode_the_old_rows() -> None:
    ops, kept = _ops(), Kept()
    await followups.add_followup(invocation("followup", "<@U0BOB> +3d Add an alert", kept), CLOCK)
    await followups.reopen(invocation("reopen", "It is back", kept))
    added, reopened = kept.requests
    assert isinstance(added, followups.AddFollowup) and added.due == date(2026, 11, 25)
    assert round_trip(ops, added) == ("ch:C0INC", "cmd:T-1")
    assert round_trip(ops, reopened) == ("ch:C0INC", "cmd:T-1")
    assert json.loads(ops.item(added, TEAM).payload)["due"] == "2026-11-25"  # isoformat, as before
    old = {**ASKED, "command": "followup <@U0BOB> +3d Add an alert", "owner": "U0BOB", "due": "2026-11-25"}
    old["text"] = "Add an alert"
    assert ops.decode("followup", json.dumps(old)) == added.model_copy(update={"trigger_id": None})
    old = {**ASKED, "command": "reopen It is back", "reason": "It is back"}
    assert ops.decode("reopen", json.dumps(old)) == reopened.model_copy(update={"trigger_id": None})


def _done(channel: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"user": {"id": "U0BOB"}, "trigger_id": "T-2", "response_url": "https://hooks/c"}
    return {**body, "actions": [{"value": "5"}], **({"channel": {"id": channel}} if channel else {})}


async def test_done_round_trips_in_order_with_where_it_was_pressed() -> None:
    ops, kept = _ops(), Kept()
    await followups.done_clicked(ack, _done("D0BOB"), kept)  # type: ignore[arg-type]
    await followups.done_clicked(ack, _done(None), kept)  # type: ignore[arg-type]
    pressed, nowhere = kept.requests
    assert round_trip(ops, pressed) == ("ch:D0BOB", "act:T-2")
    # Before, "ch:None": an order key of a channel that does not exist.
    assert round_trip(ops, nowhere) == ("followup:5", "act:T-2")
    old = {"user": "U0BOB", "response_url": "https://hooks/c", "channel": "D0BOB", "followup": 5}
    assert ops.decode("followup_done", json.dumps(old)) == pressed.model_copy(update={"trigger_id": None})


def _submitted(view_hash: str | None) -> dict[str, Any]:
    picked = {followups.templates.DUE_PICKER: {"selected_date": "2026-12-24"}}
    return {
        "id": "V0FORM",
        "hash": view_hash,
        "private_metadata": "5",
        "state": {"values": {followups.templates.DUE_BLOCK: picked}},
    }


async def test_due_date_form_round_trips_in_order_with_the_followup_incident_channel() -> None:
    ops, kept = _ops(), Kept()
    body = {"user": {"id": "U0BOB"}, "trigger_id": "T-3"}
    incident_of = MagicMock(channel_of=AsyncMock(side_effect=["C0INC", None]))
    await followups.due_submitted(ack, body, _submitted("h-1"), kept, incident_of, CLOCK)  # type: ignore[arg-type]
    await followups.due_submitted(ack, body, _submitted("h-2"), kept, incident_of, CLOCK)  # type: ignore[arg-type]
    changed, orphan = kept.requests
    assert isinstance(changed, followups.FollowupDue) and changed.due == date(2026, 12, 24)
    assert round_trip(ops, changed) == ("ch:C0INC", "view:V0FORM:h-1")
    assert round_trip(ops, orphan) == ("followup:5", "view:V0FORM:h-2")  # before, "ch:None"
    old = {"user": "U0BOB", "followup": 5, "due": "2026-12-24"}
    expected = changed.model_copy(update={"channel": None, "view_id": None, "view_hash": None})
    assert ops.decode("followup_due", json.dumps(old)) == expected
