"""Carries out the inbox: claims runs of rows per order key, in order, resumably, with retries.

The guarantees and the cases where an effect can still happen twice are stated in runtime/inbox.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection

from config.policy import Policy
from domain.durations import format_duration
from domain.workspace import Team
from messages.blocks import Message
from messages.pages import gave_up
from runtime import keys
from runtime.clock import Clock
from runtime.journal import Fenced, Journal
from runtime.metrics import Metrics
from runtime.ops import Job, Ops, RunBatch, carrying_out
from runtime.retry import is_transient, retry_delay
from storage.db import Database
from storage.inbox import DONE, FAILED, Claimed, InboxRepo, InboxRows

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=15)
HEARTBEAT = 5.0
# Rows are found at once when a wake-up comes (this process's own inbox, or storage/wakeup.py for
# serve processes: NOTIFY on PostgreSQL, a 10 ms look on SQLite); without one, this quickly.
POLL = 0.5
LINGER = 0.02  # after a wake, a moment for the rows still arriving to join the same run
KEYS = 16  # order keys (incidents) carried out at once
RUN = 200  # rows of one key claimed together (consecutive messages are stored in one transaction)
BUG_ATTEMPTS = 5  # an error that is not transient (a bug) is retried this often, then given up
DONE_MEMORY = timedelta(days=1)
FAILED_MEMORY = timedelta(days=7)
_PRUNE_EVERY = timedelta(hours=1)


# Says what was given up, in the row's workspace: in its channel (when it has one), else to its asker.
Tell = Callable[[Team, "GivenUp", Message], Awaitable[None]]


@dataclass(frozen=True)
class GivenUp:
    """Where to say that a row was given up, and what it was."""

    channel: str | None
    user: str | None
    what: str


def given_up(item: Claimed, job: Job[Any] | None) -> GivenUp:
    """What a failed row was and whom it concerns (one that did not decode: whoever its payload names)."""
    if job is not None:
        r = job.request
        return GivenUp(r.channel_id(), r.asker(), r.what())
    try:
        raw = json.loads(item.payload)
    except ValueError:
        raw = {}
    user = raw.get("user") if isinstance(raw, dict) and isinstance(raw.get("user"), str) else None
    return GivenUp(keys.channel_of(item.order_key), user, f"handle a Slack {item.op.replace('_', ' ')}")


def _renew(conn: Connection, items: list[Claimed], lease: datetime) -> int:
    return InboxRows(conn).extend(items, lease)


def _unmarked(_conn: Connection) -> None:
    """One row carried out on its own is finished by the worker afterwards."""


class InboxWorker:
    """Claims inbox rows (fenced, SKIP LOCKED) and hands them to the registered handlers."""

    def __init__(self, db: Database, clock: Clock, policy: Policy, metrics: Metrics, ops: Ops) -> None:
        self.db, self.clock, self.policy, self.metrics, self.ops = db, clock, policy, metrics, ops
        # Says what was given up, in the workspace the row belongs to (set with the ops).
        self.tell: Tell | None = None
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._claimed: dict[int, Claimed] = {}
        self._busy: set[str] = set()  # order keys with a run in this process
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False
        self._pruned_at: datetime | None = None

    def wake(self, keys: set[str] | None = None) -> None:
        """New rows are stored (of `keys`): claim now, unless this process is already carrying out
        every one of those keys (the run claims what arrived behind it when it is done)."""
        if keys is not None and keys <= self._busy:
            return
        self._wake.set()

    # running

    def start(self) -> None:
        """Claim and carry out rows in the background until stop()."""
        self._stopping = False
        self._loop = asyncio.create_task(self._run_forever(), name="inbox-worker")

    async def stop(self, grace: float) -> None:
        """Take nothing new; give the steps in flight `grace` seconds, then hand back what is left."""
        self._stopping = True
        self._wake.set()
        if self._loop is not None:
            # Not cancelled: a claim cut off half-way would leave rows working that nobody holds.
            await self._loop
            self._loop = None
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=grace)
            for task in late:
                task.cancel()
            if late:
                log.warning(
                    "shutdown: %d inbox runs did not finish in %.0fs; left for the next start",
                    len(late),
                    grace,
                )
                await asyncio.wait(late)
        left = list(self._claimed.values())
        if left:
            with contextlib.suppress(Exception):
                await self.db.run(lambda conn: InboxRows(conn).release(left))
            self._claimed.clear()

    async def settle(self) -> None:
        """Carry out everything that is due now (tests and the shell move the clock instead of waiting)."""
        while True:
            claimed = await self._claim()
            if self._running:
                await asyncio.wait(set(self._running))
                continue
            if not claimed:
                return

    async def _run_forever(self) -> None:
        while not self._stopping:
            try:
                claimed = await self._claim()
                await self._maybe_prune()
            except Exception:
                log.exception("claiming inbox rows failed; trying again shortly")
                claimed = 0
            if claimed and len(self._running) < KEYS:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL):
                    await self._wake.wait()
                await asyncio.sleep(LINGER)

    async def _claim(self) -> int:
        free = KEYS - len(self._running)
        if free <= 0 or self._stopping:
            return 0
        now = self.clock.now()
        runs = await self.db.run(lambda conn: InboxRows(conn).claim(now, now + LEASE, keys=free, run=RUN))
        for run in runs:
            for item in run:
                self._claimed[item.id] = item
            key = run[0].order_key
            self._busy.add(key)
            task = asyncio.create_task(self._carry_out(run), name=f"inbox-{key}")
            self._running.add(task)
            task.add_done_callback(lambda t, key=key: self._finished(t, key))  # type: ignore[misc]
        return len(runs)

    def _finished(self, task: asyncio.Task[None], key: str) -> None:
        self._running.discard(task)
        self._busy.discard(key)
        self._wake.set()  # the key may have more rows now
        if not task.cancelled() and task.exception() is not None:
            log.error("inbox run failed", exc_info=task.exception())

    # one run: the rows of one key, in order

    async def _carry_out(self, run: list[Claimed]) -> None:
        carrying_out.set(run[0].order_key)  # this run's own task: its context is its own
        lost = asyncio.Event()  # set by the heartbeat when another worker took rows of this run over
        heartbeat = asyncio.create_task(self._heartbeat(run, lost))
        try:
            i = 0
            while i < len(run):
                if self._stopping or lost.is_set():
                    break
                batch = self.ops.batch.get(run[i].op)
                if batch is not None:
                    j = i
                    while j < len(run) and run[j].op == run[i].op:
                        j += 1
                    if await self._together(batch, run[i:j]):
                        i = j
                        continue
                if not await self._one(run[i]):
                    break  # retried later: the rows behind it wait, in order
                i += 1
        except Fenced as exc:
            log.warning("stopping a run: %s", exc)
            lost.set()
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            left = [item for item in run if item.id in self._claimed]
            if left and not self._stopping:
                await self.db.run(lambda conn: InboxRows(conn).release(left))  # fenced: only ours
                for item in left:
                    self._claimed.pop(item.id, None)

    async def _heartbeat(self, run: list[Claimed], lost: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            mine = [item for item in run if item.id in self._claimed]
            try:
                renewed = await self.db.run(partial(_renew, items=mine, lease=self.clock.now() + LEASE))
            except Exception as exc:
                log.warning("could not renew the lease of %d inbox rows: %s", len(mine), exc)
                continue
            if renewed < len(mine):
                lost.set()  # the run stops before its next row; the new holder carries them out

    def _job(self, item: Claimed) -> Job[Any]:
        """The row as its op sees it: UnknownOp, or a ValidationError, when it does not decode (a bug
        or a row from another version: retried, then given up and said)."""
        return Job(
            id=item.id,
            order_key=item.order_key,
            request=self.ops.decode(item.op, item.payload),
            steps=Journal(self.db, self.clock, item, LEASE),
            team=Team(item.team_id, item.enterprise_id),
        )

    async def _together(self, handler: RunBatch, items: list[Claimed]) -> bool:
        """Consecutive rows of a batch op in one go; False to fall back to one by one."""
        marked = False

        now = self.clock.now()

        def done_with(conn: Connection) -> None:
            nonlocal marked
            if InboxRows(conn).finish(items, DONE, now) != len(items):
                raise Fenced(f"inbox rows {items[0].id}…{items[-1].id} were claimed by another worker")
            marked = True

        try:
            await handler([self._job(item) for item in items], done_with)
        except Fenced:
            raise
        except Exception as exc:
            log.warning("%d %s rows together failed (%s); one by one", len(items), items[0].op, exc)
            return False
        if marked:
            self._forget(items, DONE)
        else:
            await self._finish(items, DONE)
        return True

    async def _one(self, item: Claimed) -> bool:
        """Carry out one row; False when it must be retried later (so the rows behind it wait)."""
        started = self.clock.now()
        job: Job[Any] | None = None
        try:
            # UnknownOp or a ValidationError when it does not decode (a bug): retried, then given up.
            job = self._job(item)
            one = self.ops.one.get(item.op)  # a decoded op is registered one way or the other
            await (one(job) if one else self.ops.batch[item.op]([job], _unmarked))
        except Fenced:
            raise
        except Exception as exc:
            return await self._failed(item, job, exc, item.first_attempt_at or started)
        await self._finish([item], DONE)
        return True

    async def _failed(
        self, item: Claimed, job: Job[Any] | None, exc: Exception, first_attempt: datetime
    ) -> bool:
        """Retry later, or give up: `inbound_give_up` after the row's own first attempt (a row behind
        a failing head has not been tried while it waited, however long that was)."""
        now = self.clock.now()
        error = f"{type(exc).__name__}: {exc}"[:500]
        transient = is_transient(exc)
        age = now - first_attempt
        if (transient and age < self.policy.delivery.inbound_give_up) or (
            not transient and item.attempts + 1 < BUG_ATTEMPTS
        ):
            at = now + retry_delay(self.policy.delivery, item.attempts + 1, exc)
            log.warning(
                "inbox %s %s failed (attempt %d), retrying at %s: %s",
                item.op,
                item.id,
                item.attempts + 1,
                at.isoformat(),
                error,
                exc_info=None if transient else exc,
            )
            if not await self.db.run(
                lambda conn: InboxRows(conn).retry_later(item, at, error, first_attempt)
            ):
                raise Fenced(f"inbox item {item.id} was claimed by another worker")
            self._claimed.pop(item.id, None)
            self.metrics.inbox_retries.labels(item.op).inc()
            return False
        log.error(
            "inbox %s %s given up after %s: %s",
            item.op,
            item.id,
            format_duration(age),
            error,
            exc_info=None if transient else exc,
        )
        await self._finish([item], FAILED, error)
        self.metrics.inbox_failed.labels(item.op).inc()
        await self._say_given_up(item, given_up(item, job), error, age)
        return True

    async def _say_given_up(self, item: Claimed, gone: GivenUp, error: str, age: timedelta) -> None:
        """Say what was not done: in the incident's channel, else to the person who asked (by DM:
        a response_url has expired by then)."""
        message = gave_up(gone.what, error, format_duration(max(age, timedelta(seconds=1))), by=gone.user)
        try:
            if self.tell is not None:
                await self.tell(Team(item.team_id, item.enterprise_id), gone, message)
        except Exception as exc:
            log.error("could not say that inbox %s was given up: %s", item.id, exc)

    async def _finish(self, items: list[Claimed], state: str, error: str | None = None) -> None:
        """Finish rows this worker still holds; Fenced when another worker took any of them over."""
        now = self.clock.now()
        finished = await self.db.run(lambda conn: InboxRows(conn).finish(items, state, now, error))
        if finished < len(items):
            raise Fenced(f"inbox rows {items[0].id}…{items[-1].id} were claimed by another worker")
        self._forget(items, state)

    def _forget(self, items: list[Claimed], state: str) -> None:
        now = self.clock.now()
        for item in items:
            self._claimed.pop(item.id, None)
            if state == DONE:
                self.metrics.inbox_done_seconds.observe(max((now - item.created_at).total_seconds(), 0))

    async def _maybe_prune(self) -> None:
        now = self.clock.now()
        if self._pruned_at is not None and now - self._pruned_at < _PRUNE_EVERY:
            return
        self._pruned_at = now
        async with self.db.transaction() as s:
            await InboxRepo(s).prune(now - DONE_MEMORY, now - FAILED_MEMORY)
