"""The override requests of `/incident oncall`: built as the subcommand builds them, stored and decoded
unchanged, under the same keys as before, and rows stored before the upgrade still decode."""

from __future__ import annotations

import json
from unittest.mock import MagicMock

from handlers import oncall
from handlers.subcommands import Subcommands
from handlers.wiring import Wiring
from runtime.ops import Ops
from tests.handlers.kept import ASKED, Kept, invocation, round_trip


async def test_override_and_cancel_round_trip_and_decode_the_old_rows() -> None:
    ops, kept = Ops(), Kept()
    oncall.register(MagicMock(), Wiring(ops, Subcommands(), MagicMock()))
    services = {"oncall": MagicMock(), "policy": MagicMock(), "clock": MagicMock()}
    args = "override primary <@U0BOB> 2026-12-01 09:00 +2h"
    await oncall.oncall_command(invocation("oncall", args, kept), **services)
    await oncall.oncall_command(invocation("oncall", "override cancel #3", kept), **services)
    override, cancel = kept.requests
    assert isinstance(override, oncall.Override) and isinstance(cancel, oncall.CancelOverride)
    assert (override.start, override.end, cancel.override) == (["2026-12-01", "09:00"], ["+2h"], 3)
    assert round_trip(ops, override) == ("ch:C0INC", "cmd:T-1")
    assert round_trip(ops, cancel) == ("ch:C0INC", "cmd:T-1")
    old = {
        **ASKED,
        "command": f"oncall {args}",
        "schedule": "primary",
        "assignee": "U0BOB",
        "start": ["2026-12-01", "09:00"],
        "end": ["+2h"],
    }
    assert ops.decode("oncall_override", json.dumps(old)) == override.model_copy(update={"trigger_id": None})
    old = {**ASKED, "command": "oncall override cancel #3", "override": 3}
    assert ops.decode("oncall_cancel", json.dumps(old)) == cancel.model_copy(update={"trigger_id": None})
