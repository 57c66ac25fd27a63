"""The update, resolve and status page ops: each request, built as its listener builds it, is kept and
read back unchanged, under the keys and in the JSON the string-keyed ops stored, so rows kept before
the upgrade still run."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import AsyncMock, MagicMock

from domain.workspace import Team
from handlers import statuspage, updates
from handlers.subcommands import Invocation, Subcommands
from handlers.wiring import Wiring
from messages.update_typo import AS_STATUS_ACTION, AS_WRITTEN_ACTION
from runtime.ops import Ops, Request
from tests.handlers.kept import Kept

TEAM = Team("T0ONE")
CHANNEL = "C0INC"
HOOK = "https://hooks/r"
ASKED = {"user": "U0ALICE", "user_name": "alice", "channel": CHANNEL, "response_url": HOOK}


def _ops() -> Ops:
    wiring = Wiring(Ops(), Subcommands(), MagicMock())
    updates.register(MagicMock(), wiring)
    statuspage.register(MagicMock(), wiring)
    return wiring.ops


def _invocation(sub: str, args: str, kept: Kept, ack: AsyncMock | None = None) -> Invocation:
    return Invocation(
        sub, args, "U0ALICE", CHANNEL, "trig-1", HOOK, "alice", ack or AsyncMock(), AsyncMock(), kept, None
    )  # type: ignore[arg-type]


async def _command(handler: Any, sub: str, args: str) -> Request:
    """The request `/incident <sub> <args>` keeps, as /incident hands it to `handler`."""
    kept = Kept()
    await handler(_invocation(sub, args, kept))
    [request] = kept.requests
    return request


async def _resolve(inv: Invocation) -> None:
    """`resolve` when no field is required to resolve."""
    no_fields = MagicMock(missing_to_resolve=AsyncMock(return_value=(None, [])))
    await updates.resolve(inv, MagicMock(), no_fields)


async def _pressed(action_id: str, args: str) -> Request:
    """The request a press of the question's button keeps, the question asked for `update <args>`."""
    ack = AsyncMock()
    await updates.update(_invocation("update", args, Kept(), ack))
    [actions] = [b for b in ack.call_args.kwargs["blocks"] if b["type"] == "actions"]
    [value] = {button["value"] for button in actions["elements"]}
    body = {
        "user": {"id": "U0ALICE"},
        "trigger_id": "trig-2",
        "response_url": HOOK,
        "actions": [{"action_id": action_id, "value": value}],
    }
    kept = Kept()
    await updates.pressed(AsyncMock(), body, kept, MagicMock(), MagicMock())  # type: ignore[arg-type]
    [request] = kept.requests
    return request


async def _clicked(channel: str | None) -> Request:
    body = {
        "user": {"id": "U0ALICE"},
        "trigger_id": "trig-3",
        "response_url": HOOK,
        "actions": [{"value": "7"}],
    }
    lifecycle = MagicMock(channel_of=AsyncMock(return_value=channel))
    kept = Kept()
    await statuspage.resolve_clicked(AsyncMock(), body, kept, lifecycle)  # type: ignore[arg-type]
    [request] = kept.requests
    return request


async def _cases() -> list[tuple[Request, dict[str, Any], str, str]]:
    """(request as built, the payload the old code stored for the same input, its idempotency key,
    its order key)."""
    channel = f"ch:{CHANNEL}"
    answered = {"user": "U0ALICE", "response_url": HOOK, "channel": CHANNEL}
    click = {"user": "U0ALICE", "response_url": HOOK, "number": 7}
    return [
        (
            await _command(updates.update, "update", "monitoring Fix deployed"),
            {
                **ASKED,
                "command": "update monitoring Fix deployed",
                "status": "monitoring",
                "text": "Fix deployed",
            },
            "cmd:trig-1",
            channel,
        ),
        (
            await _command(updates.update, "update", "Still looking"),
            {**ASKED, "command": "update Still looking", "status": None, "text": "Still looking"},
            "cmd:trig-1",
            channel,
        ),
        (
            await _command(_resolve, "resolve", "Rolled back"),
            {**ASKED, "command": "resolve Rolled back", "summary": "Rolled back"},
            "cmd:trig-1",
            channel,
        ),
        (
            await _pressed(AS_STATUS_ACTION, "monitorng Fix deployed"),
            {
                **answered,
                "command": "update monitorng Fix deployed",
                "status": "monitoring",
                "text": "Fix deployed",
            },
            "typo:trig-1",
            channel,
        ),
        (
            await _pressed(AS_WRITTEN_ACTION, "monitorng Fix deployed"),
            {
                **answered,
                "command": "update monitorng Fix deployed",
                "status": None,
                "text": "monitorng Fix deployed",
            },
            "typo:trig-1",
            channel,
        ),
        (
            await _command(statuspage.publish, "statuspage", "Identified We found it"),
            {
                **ASKED,
                "command": "statuspage Identified We found it",
                "status": "identified",
                "text": "We found it",
            },
            "cmd:trig-1",
            channel,
        ),
        (await _clicked(CHANNEL), {**click, "channel": CHANNEL}, "act:trig-3", channel),
        (await _clicked(None), {**click, "channel": None}, "act:trig-3", "statuspage_resolve:7"),
    ]


async def test_every_request_round_trips_and_old_rows_still_decode() -> None:
    ops = _ops()
    cases = await _cases()
    assert {r.OP for r, _, _, _ in cases} == ops.names(), "a case for every op"
    for request, old, idem, order in cases:
        item = ops.item(request, TEAM)
        assert ops.decode(item.op, item.payload) == request
        assert (item.idem_key, item.order_key) == (idem, order), request.OP
        stored = json.loads(item.payload)
        assert stored == {**stored, **old}, f"{request.OP}: the old payload's keys and values"
        # The old rows kept neither the trigger nor the question's id (the idempotency key had them).
        was = ops.decode(request.OP, json.dumps(old))
        gone = {name: None for name in ("trigger_id", "question") if name in stored and name not in old}
        assert was == request.model_copy(update=gone), request.OP


async def test_both_buttons_of_one_question_are_one_request() -> None:
    ops = _ops()
    first = ops.item(await _pressed(AS_STATUS_ACTION, "monitorng Fix deployed"), TEAM)
    second = ops.item(await _pressed(AS_WRITTEN_ACTION, "monitorng Fix deployed"), TEAM)
    assert first.idem_key == second.idem_key == "typo:trig-1"
