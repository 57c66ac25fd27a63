"""The inbox's contract: every kind of stored request is a typed op, and one registry says how each
is carried out.

An op is a `Request` subclass: its fields are the payload (stored as JSON), its `OP` the name in the
inbox row, and it derives its own order and idempotency keys from runtime/keys.py. Features add
their ops to `Ops` in their `register`; the worker decodes every row through it, and `Intake`
refuses to store a request whose op the worker could not run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection

from domain.workspace import Team
from runtime import keys
from runtime.inbox import Inbox
from runtime.journal import Steps
from storage.inbox import NewItem


class Request(BaseModel):
    """A stored request: one subclass per inbox op."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    OP: ClassVar[str]

    def order_key(self) -> str:
        """What it is carried out in order with."""
        raise NotImplementedError

    def idem_key(self) -> str | None:
        """Which deliveries are this same request; None: nothing to match them by."""
        return None

    def asker(self) -> str | None:
        """The person to answer (and to tell when it is given up), if a person asked."""
        return None

    def channel_id(self) -> str | None:
        """The incident channel it concerns, when known."""
        return keys.channel_of(self.order_key())

    def what(self) -> str:
        """What was not done, for the message when it is given up."""
        return f"handle a Slack {self.OP.replace('_', ' ')}"


class Asked(Request):
    """A request a person made: who, where, and where to answer them."""

    user: str
    user_name: str | None = None
    channel: str | None = None
    response_url: str | None = None

    def asker(self) -> str | None:
        return self.user


class Command(Asked):
    """An `/incident …` subcommand, carried out in order with its channel's incident."""

    trigger_id: str | None = None
    command: str = ""

    def order_key(self) -> str:
        return keys.channel(self.channel or "")

    def idem_key(self) -> str | None:
        return keys.command(self.trigger_id)

    def what(self) -> str:
        return f"carry out `/incident {self.command}`"


class Click(Asked):
    """A button press carrying a number (a page, an incident, a follow-up), in order with its
    incident's channel when that is known."""

    trigger_id: str | None = None
    number: int

    def order_key(self) -> str:
        return keys.channel(self.channel) if self.channel else keys.unplaced(self.OP, self.number)

    def idem_key(self) -> str | None:
        return keys.click(self.trigger_id)


class Event(Request):
    """An Events API event in a channel, in order with everything else of that channel."""

    event_id: str | None = None
    channel: str

    def order_key(self) -> str:
        return keys.channel(self.channel)

    def idem_key(self) -> str | None:
        return keys.event(self.event_id)


R = TypeVar("R", bound=Request)
# The order key of the requests the worker is carrying out in this task (None outside the worker):
# what a change made by one of them can queue more work behind.
carrying_out: ContextVar[str | None] = ContextVar("carrying_out", default=None)


@dataclass
class Job(Generic[R]):
    """One inbox row as its op sees it: the typed request and the row's journal."""

    id: int
    order_key: str
    request: R
    steps: Steps
    team: Team

    @property
    def op(self) -> str:
        return self.request.OP


Run = Callable[[Job[Any]], Awaitable[None]]
# Marks the jobs done inside the caller's transaction, so their effect and their end commit together.
MarkDone = Callable[[Connection], None]
RunBatch = Callable[[list[Job[Any]], MarkDone], Awaitable[None]]


class UnknownOp(LookupError):
    """A request of an op nobody registered: it could never be carried out."""


class Ops:
    """Every op the worker can carry out: its request type and what runs it."""

    def __init__(self) -> None:
        self._kinds: dict[str, type[Request]] = {}
        self.one: dict[str, Run] = {}
        self.batch: dict[str, RunBatch] = {}

    def add(self, kind: type[R], run: Callable[[Job[R]], Awaitable[None]]) -> None:
        """Carry out requests of `kind` one at a time."""
        self._claim(kind)
        self.one[kind.OP] = run  # type: ignore[assignment]

    def add_batch(self, kind: type[R], run: Callable[[list[Job[R]], MarkDone], Awaitable[None]]) -> None:
        """Carry out consecutive requests of `kind` together (one transaction for all of them)."""
        self._claim(kind)
        self.batch[kind.OP] = run  # type: ignore[assignment]

    def _claim(self, kind: type[Request]) -> None:
        if kind.OP in self._kinds:
            raise ValueError(f"inbox op {kind.OP!r} registered twice")
        self._kinds[kind.OP] = kind

    def names(self) -> set[str]:
        return set(self._kinds)

    def decode(self, op: str, payload: str) -> Request:
        """The typed request of a stored row (UnknownOp, or pydantic's ValidationError: both bugs)."""
        kind = self._kinds.get(op)
        if kind is None:
            raise UnknownOp(f"no handler for inbox op {op!r}")
        return kind.model_validate_json(payload)

    def item(self, request: Request, team: Team) -> NewItem:
        """The row that keeps `request` for `team`; UnknownOp unless it was registered."""
        if self._kinds.get(request.OP) is not type(request):
            raise UnknownOp(f"inbox op {request.OP!r} ({type(request).__name__}) is not registered")
        return NewItem(
            idem_key=request.idem_key() or keys.local(),
            order_key=request.order_key(),
            op=request.OP,
            payload=json.dumps(_storable(request.model_dump(mode="json"))),
            team_id=team.team_id,
            enterprise_id=team.enterprise_id,
        )


class Intake:
    """Keeps one workspace's requests in the inbox, durably, before the answer."""

    def __init__(self, inbox: Inbox, ops: Ops, team: Team) -> None:
        self.inbox, self.ops, self.team = inbox, ops, team

    async def keep(self, request: Request) -> bool:
        """Store `request`; False when it was already kept (a redelivery)."""
        return await self.inbox.accept(self.ops.item(request, self.team))


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: Any) -> Any:
    """Without NUL characters and lone surrogates, which no database text column holds: a Slack
    request carrying them is still carried out, with them dropped (U+FFFD for a surrogate)."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value)
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value
