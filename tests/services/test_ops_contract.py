"""The inbox contract: every request a listener can store is an op the worker can run; anything else
is refused before it is stored, and a row that cannot be run is given up on loudly, not lost."""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.workspace import Team
from runtime.ops import Command, Intake, Request, UnknownOp
from storage.inbox import NewItem
from storage.models import InboxItem
from tests.harness import Harness

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"


def _request_types() -> set[type[Request]]:
    """Every concrete request type the handlers define (what a listener can store)."""
    for path in HANDLERS.rglob("*.py"):
        parts = path.relative_to(HANDLERS.parent).with_suffix("").parts
        importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    found: set[type[Request]] = set()
    todo = [Request]
    while todo:
        kind = todo.pop()
        for sub in kind.__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("handlers") and "OP" in vars(sub):
                found.add(sub)
    return found


async def test_every_request_the_handlers_define_is_an_op_the_worker_runs(harness: Harness) -> None:
    ops = harness.bot.shared.ops
    kinds = _request_types()
    assert len(kinds) >= 25, sorted(k.__name__ for k in kinds)
    names = [k.OP for k in kinds]
    assert len(names) == len(set(names)), "two request types share an op name"
    assert set(names) <= ops.names(), set(names) - ops.names()
    for kind in kinds:
        assert ops._kinds[kind.OP] is kind
        assert kind.OP in ops.one or kind.OP in ops.batch


class Stray(Command):
    OP = "stray"


async def test_a_request_nobody_registered_is_refused_before_it_is_stored(harness: Harness) -> None:
    shared = harness.bot.shared
    intake = Intake(shared.inbox, shared.ops, Team(harness.emu.state.team_id))
    with pytest.raises(UnknownOp, match="stray"):
        await intake.keep(Stray(user="U0ALICE", channel="C0GENERAL", trigger_id="t-1"))
    async with shared.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(InboxItem))).scalar_one() == 0


@pytest.mark.parametrize(
    ("op", "payload"),
    [("frobnicate", '{"user": "U0ALICE"}'), ("declare", '{"user": "U0ALICE", "severity": "sev9"}')],
    ids=["unknown op", "payload that does not decode"],
)
async def test_a_row_the_worker_cannot_run_is_given_up_and_said(
    harness: Harness, op: str, payload: str
) -> None:
    """Rows from another version (or a bug): retried a few times, then marked failed and said (to whoever
    the payload names, else in the announce channel); never silently dropped or retried forever."""
    shared = harness.bot.shared
    item = NewItem(
        idem_key="local:odd", order_key="new:odd", op=op, payload=payload, team_id=harness.emu.state.team_id
    )
    await shared.inbox.accept(item)
    for _ in range(8):
        await harness.idle()
        harness.clock.advance(timedelta(minutes=30))
    async with shared.db.session() as s:
        state, error = (await s.execute(select(InboxItem.state, InboxItem.last_error))).one()
    assert state == "failed"
    said = [str(c.params.get("text")) for c in harness.emu.calls_to("chat.postMessage")]
    assert any("incident-bot could not" in text for text in said), error
