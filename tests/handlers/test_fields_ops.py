"""The custom field ops: `/incident set` and the resolve form keep requests that read back unchanged,
in order with the channel, once per command or submitted form."""

from __future__ import annotations

from typing import Any
from unittest.mock import AsyncMock, MagicMock

import pytest

from config.policy_file import policy_from_dict
from handlers import fields
from handlers.parse import UsageError
from handlers.subcommands import Subcommands
from handlers.wiring import Wiring
from runtime.ops import Ops
from tests.handlers.kept import Kept, invocation, round_trip

POLICY = policy_from_dict(
    {"fields": [{"name": "region", "type": "select", "options": ["EU", "US"], "required": "resolve"}]}
)


def _ops() -> Ops:
    wiring = Wiring(Ops(), Subcommands(), MagicMock())
    fields.register(MagicMock(), wiring)
    return wiring.ops


async def test_set_keeps_the_checked_value_once_per_command_in_order_with_the_channel() -> None:
    kept = Kept()
    await fields.set_field(invocation("set", "Region eu", kept), POLICY, MagicMock())
    [request] = kept.requests
    assert isinstance(request, fields.SetField) and (request.name, request.value) == ("region", "EU")
    assert round_trip(_ops(), request) == ("ch:C0INC", "cmd:T-1")
    with pytest.raises(UsageError, match="required to resolve"):
        await fields.set_field(invocation("set", "region none", Kept()), POLICY, MagicMock())


async def test_the_resolve_form_keeps_one_request_per_view_in_order_with_its_channel() -> None:
    state: dict[str, Any] = {
        "summary": {"summary_input": {"type": "plain_text_input", "value": "Rolled back"}},
        "field_region": {"field_value": {"type": "static_select", "selected_option": {"value": "US"}}},
    }
    view = {"id": "V1", "private_metadata": "C0INC", "state": {"values": state}}
    kept = Kept()
    ack = AsyncMock()
    await fields.resolve_submitted(ack, {"user": {"id": "U0ALICE"}}, view, kept, POLICY)  # type: ignore[arg-type]
    ack.assert_awaited_once_with()
    [request] = kept.requests
    assert isinstance(request, fields.ResolveWithFields)
    assert (request.summary, request.values) == ("Rolled back", {"region": "US"})
    assert round_trip(_ops(), request) == ("ch:C0INC", "view:V1")
