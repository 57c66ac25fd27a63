"""The severity, escalate and page-button requests: built as their listeners build them, stored and
decoded unchanged, under the same keys as before, and rows stored before the upgrade still decode."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import MagicMock

from domain.errors import IncidentError
from domain.severity import Severity
from handlers import pages
from handlers.subcommands import Subcommands
from handlers.wiring import Wiring
from runtime.ops import Ops
from tests.handlers.kept import ASKED, TEAM, Kept, ack, invocation, round_trip


def _ops() -> Ops:
    ops = Ops()
    pages.register(MagicMock(), Wiring(ops, Subcommands(), MagicMock()))
    return ops


async def test_severity_and_escalate_round_trip_under_the_channel_and_trigger() -> None:
    ops, kept = _ops(), Kept()
    await pages.severity(invocation("severity", "sev2", kept))
    await pages.escalate(invocation("escalate", "", kept))
    severity, escalate = kept.requests
    assert isinstance(severity, pages.ChangeSeverity) and severity.severity is Severity.SEV2
    assert round_trip(ops, severity) == ("ch:C0INC", "cmd:T-1")
    assert round_trip(ops, escalate) == ("ch:C0INC", "cmd:T-1")
    old = {**ASKED, "command": "severity sev2", "severity": "SEV2"}
    assert ops.decode("severity", json.dumps(old)) == severity.model_copy(update={"trigger_id": None})
    assert json.loads(ops.item(severity, TEAM).payload)["severity"] == "SEV2"  # Severity.value, as before
    old = {**ASKED, "command": "escalate"}
    assert ops.decode("escalate", json.dumps(old)) == escalate.model_copy(update={"trigger_id": None})


class Deliveries:
    """Page deliveries: 7 belongs to an incident in C0INC; any other is unknown."""

    async def incident_of_delivery(self, delivery: int) -> Any:
        if delivery != 7:
            raise IncidentError("That page no longer exists.")
        return MagicMock(channel_id="C0INC")


def _click(number: str) -> dict[str, Any]:
    return {
        "user": {"id": "U0BOB"},
        "trigger_id": "T-2",
        "response_url": "https://hooks/c",
        "actions": [{"value": number}],
    }


async def test_page_buttons_round_trip_in_order_with_the_page_incident_channel() -> None:
    ops, kept = _ops(), Kept()
    await pages.acknowledge_clicked(ack, _click("7"), kept, Deliveries())  # type: ignore[arg-type]
    await pages.escalate_clicked(ack, _click("7"), kept, Deliveries())  # type: ignore[arg-type]
    await pages.acknowledge_clicked(ack, _click("8"), kept, Deliveries())  # type: ignore[arg-type]
    await pages.escalate_clicked(ack, _click("8"), kept, Deliveries())  # type: ignore[arg-type]
    await pages.acknowledge_clicked(ack, _click("x"), kept, Deliveries())  # type: ignore[arg-type]
    acknowledged, escalated, acknowledged_lost, escalated_lost = kept.requests
    assert round_trip(ops, acknowledged) == ("ch:C0INC", "act:T-2")
    assert round_trip(ops, escalated) == ("ch:C0INC", "act:T-2")
    assert round_trip(ops, acknowledged_lost) == ("acknowledge:8", "act:T-2")
    assert round_trip(ops, escalated_lost) == ("escalate_page:8", "act:T-2")
    old = {"user": "U0BOB", "response_url": "https://hooks/c", "channel": "C0INC", "number": 7}
    assert ops.decode("acknowledge", json.dumps(old)) == acknowledged.model_copy(update={"trigger_id": None})
    assert ops.decode("escalate_page", json.dumps(old)) == escalated.model_copy(update={"trigger_id": None})
