"""Steps that run once: a use case records each step's result, so a retry resumes after the last one.

A `Journal` belongs to one claimed inbox item and keeps the results in its `progress` column. A
database step commits its effect and its journal entry in one transaction (fence-checked, so a
worker that lost its claim commits nothing); a Slack step is recorded right after Slack answered.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.clock import Clock
from runtime.slack_ops import SlackOpError
from storage.db import Database
from storage.inbox import Claimed, InboxRows
from storage.models import Incident

log = logging.getLogger(__name__)
T = TypeVar("T")

_FAILED = "!failed"


class Fenced(Exception):
    """This worker's claim on the item was taken over (its lease ran out); stop without a trace."""


class Steps(Protocol):
    """Where a use case records what it has done, and when it was asked to (the request's
    acknowledgement: the time people see, however late a retry carries it out)."""

    @property
    def at(self) -> datetime: ...

    def recorded(self, name: str) -> tuple[bool, Any]: ...

    async def record(self, name: str, value: Any) -> None: ...

    async def db(self, name: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T: ...


class Journal:
    """The step results of one claimed inbox item, persisted with its fence."""

    def __init__(self, db: Database, clock: Clock, item: Claimed, lease: timedelta) -> None:
        self._db, self._clock, self._item, self._lease = db, clock, item, lease
        self.at = item.created_at
        self._done: dict[str, Any] = json.loads(item.progress) if item.progress else {}
        self._lock = asyncio.Lock()

    def recorded(self, name: str) -> tuple[bool, Any]:
        """(True, result) when the step already ran."""
        return (name in self._done), self._done.get(name)

    async def record(self, name: str, value: Any) -> None:
        """Keep one step's result (its own small transaction)."""
        async with self._lock:
            progress = {**self._done, name: value}
            await self._db.run(lambda conn: self._save(conn, progress))
            self._done = progress  # only what is committed counts as done

    async def db(self, name: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in a transaction that also records its result; skipped when already done."""
        done, value = self.recorded(name)
        if done:
            return value  # type: ignore[no-any-return]
        async with self._lock:
            async with self._db.session() as s:
                result = await work(s)
                progress = {**self._done, name: result}
                await s.run_sync(lambda session: self._save(session.connection(), progress))
            self._done = progress  # committed with the work
            return result

    def _save(self, conn: Connection, progress: dict[str, Any]) -> None:
        lease = self._clock.now() + self._lease
        if not InboxRows(conn).save_progress(self._item, json.dumps(progress), lease):
            raise Fenced(f"inbox item {self._item.id} was claimed by another worker")


async def once(steps: Steps, name: str, make: Callable[[], Awaitable[object]]) -> None:
    """Run `make()` unless this request already did; then record that it did."""
    if not steps.recorded(name)[0]:
        await make()
        await steps.record(name, True)


@dataclass
class Lapse:
    """What a `carry_on` block lost for good: None when it went through."""

    error: SlackOpError | None = None


@contextmanager
def carry_on(
    logger: logging.Logger, doing: str, *args: object, incident_id: int | None = None
) -> Iterator[Lapse]:
    """Around Slack calls whose permanent failure is survivable: a transient SlackOpError propagates
    (the caller is retried and does it again); any other is logged as a warning (`doing % args`, then
    the error), kept in the yielded Lapse, and the caller carries on after the block."""
    lapse = Lapse()
    try:
        yield lapse
    except SlackOpError as exc:
        if exc.transient:
            raise
        extra = {"incident_id": incident_id} if incident_id is not None else None
        logger.warning("%s: %s", doing % args if args else doing, exc, extra=extra)
        lapse.error = exc


@dataclass
class Outcome:
    """An incident after a use case, plus the Slack steps that failed for good on the way."""

    incident: Incident
    steps: Steps
    warnings: list[str] = field(default_factory=list)

    async def step(self, name: str, make: Callable[[], Awaitable[T]]) -> T | None:
        """Run one Slack step once. A transient failure propagates (the whole item is retried from
        here); a permanent one becomes a warning, is recorded as such, and the rest still happens."""
        done, value = self.steps.recorded(name)
        if done:
            if isinstance(value, dict) and _FAILED in value:
                self.warnings.append(value[_FAILED])
                return None
            return value  # type: ignore[no-any-return]
        with carry_on(log, "step %s", name, incident_id=self.incident.id) as lapse:
            result = await make()
        if lapse.error is not None:
            warning = f"{lapse.error.what} failed ({lapse.error.error})"
            self.warnings.append(warning)
            await self.steps.record(name, {_FAILED: warning})
            return None
        await self.steps.record(name, result)
        return result
