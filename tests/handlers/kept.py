"""What the request round-trip tests share: an intake that only remembers, an invocation of
`/incident`, and a request stored and decoded through an Ops registry."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

from domain.workspace import Team
from handlers.subcommands import Invocation
from runtime.ops import Ops, Request

TEAM = Team("T0TEAM")
ASKED = {"user": "U0ALICE", "user_name": "alice", "channel": "C0INC", "response_url": "https://hooks/r"}


class Kept:
    """An intake that only remembers what it was given."""

    def __init__(self) -> None:
        self.requests: list[Request] = []

    async def keep(self, request: Request) -> bool:
        self.requests.append(request)
        return True


async def ack(*args: Any, **kwargs: Any) -> None:
    return None


def invocation(sub: str, args: str, kept: Kept) -> Invocation:
    """`/incident <sub> <args>` by ASKED's user in ASKED's channel, trigger T-1."""
    fields = (ASKED["user"], ASKED["channel"], "T-1", ASKED["response_url"], ASKED["user_name"])
    return Invocation(sub, args, *fields, ack, MagicMock(), kept, MagicMock())  # type: ignore[arg-type]


def round_trip(ops: Ops, request: Request) -> tuple[str, str | None]:
    """Stored and decoded, the request is itself; returns its row's order and idempotency keys."""
    item = ops.item(request, TEAM)
    assert ops.decode(item.op, item.payload) == request
    return item.order_key, item.idem_key
