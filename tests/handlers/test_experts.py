"""The expert request: built as `/incident expert <area>` builds it, stored and decoded unchanged, in
order with the channel's incident and kept once per command."""

from __future__ import annotations

from unittest.mock import MagicMock

from handlers import experts
from handlers.subcommands import Subcommands
from handlers.wiring import Wiring
from runtime.ops import Ops
from tests.handlers.kept import Kept, invocation, round_trip


async def test_an_area_is_a_stored_request_in_order_with_the_channel() -> None:
    ops, kept = Ops(), Kept()
    experts.register(MagicMock(), Wiring(ops, Subcommands(), MagicMock()))
    await experts.expert(invocation("expert", "  Data\tbase  ", kept), MagicMock())
    await experts.expert(invocation("expert", "x" * 500, kept), MagicMock())
    [asked, long] = kept.requests
    assert isinstance(asked, experts.BringExperts) and asked.area == "Data base"
    assert round_trip(ops, asked) == ("ch:C0INC", "cmd:T-1")
    assert isinstance(long, experts.BringExperts) and len(long.area) == experts.MAX_AREA
