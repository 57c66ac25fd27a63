"""The inbox: every inbound request that changes state is stored before the bot answers it.

What holds:
- A request is answered 200 only after its row (idempotency key, order key, payload) is committed.
  Concurrent requests share one commit (group commit). If the commit fails, the listener raises and
  Slack gets a 500: Events API events are retried by Slack; a command's user sees Slack's error.
- A redelivery with the same idempotency key (Slack's event_id, a command's or action's trigger_id,
  Alertmanager's group key with the notification's content) is answered 200 and adds nothing; if the
  first was given up on, the redelivery takes it up again from where its journal stopped.
- Rows are carried out by `InboxWorker` (runtime/inbox_worker.py): oldest first, one at a time per order
  key (an incident's channel) across every replica, different keys in parallel. A row's effects
  happen after those of every row acknowledged before it for the same key.
- A use case records each step as it goes (runtime/journal.py): a database step commits together with
  its journal entry; a retry continues at the first step without one. Transient failures are retried
  with backoff and jitter (Retry-After honoured) for `delivery.inbound_give_up` from the row's own
  first attempt (not its arrival: a row waiting behind its key's failing head is not tried and its
  time does not run, however long the head is retried); then the row is marked failed, counted,
  listed by `incident-bot inbox status`, and said in the incident channel.

Where an effect can still happen twice, and why (at least once is chosen over at most once: an
incident tool must not drop a page or an update):
1. A Slack call that took effect but whose answer was lost (a time-out, a dropped connection, a
   5xx sent after the work was done), or a crash between Slack's answer and the journal entry:
   the retry makes the call again. Messages (chat.postMessage) and DMs can then appear twice;
   topics, pins, invitations, reactions and message updates converge to the same state. The one
   exception is the incident channel: its name is recorded before conversations.create, and a
   retry that meets `name_taken` for that name adopts the channel the bot itself created.
2. A worker that stalls longer than its lease (LEASE, renewed by a heartbeat while it works) loses
   the claim; its next journal write or finish fails on the fence and its run stops, but a Slack
   call it had already started can still land, and the new holder makes it again. Leases are
   stamped with each replica's clock: replicas must keep their clocks within a few seconds.
3. Status page publishing and postmortem uploads are one step each: a crash in the middle of one
   repeats it.
Database-only effects happen exactly once: posted messages are stored in the transaction that marks
their rows done (and are unique per message besides); edits, deletions and pins commit with the
claim of their event id (processed_events); everything else commits with its journal entry.
Alertmanager notifications are ordered per alert group (the group, not a channel, is what
Alertmanager orders); human requests are ordered per incident channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from runtime.clock import Clock
from runtime.metrics import Metrics
from storage.db import Database
from storage.inbox import NewItem
from storage.inbox_writer import InboxWriter

log = logging.getLogger(__name__)

MAX_GROUP = 500


class Inbox:
    """Stores accepted requests with group commit; `accept` returns once the row is durable.

    A write takes everything waiting when it starts. On PostgreSQL up to LANES writes are in flight
    at once (pipelined group commit); SQLite has one writer, so there it is one at a time.
    """

    LANES = 4

    def __init__(self, db: Database, clock: Clock, metrics: Metrics) -> None:
        self.db, self.clock, self.metrics = db, clock, metrics
        self._writer = InboxWriter(db)
        self._waiting: list[tuple[NewItem, asyncio.Future[bool]]] = []
        self._writing: set[asyncio.Task[None]] = set()
        self._lanes = 1 if db.is_sqlite else self.LANES
        # Set by the runtime: a worker in this process starts on new rows at once (one in another
        # process hears of them through storage/wakeup.py).
        self.on_stored: Callable[[set[str]], None] = lambda keys: None

    async def accept(self, item: NewItem) -> bool:
        """Store the request (or find it stored); True when it is new. Raises when it cannot be stored."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        self._next_write()
        return await future

    def _next_write(self) -> None:
        if self._waiting and len(self._writing) < self._lanes:
            group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
            task = asyncio.create_task(self._write(group), name="inbox-group-commit")
            self._writing.add(task)
            task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self._writing.discard(task)
        self._next_write()  # what arrived meanwhile goes in the next group

    async def _write(self, group: list[tuple[NewItem, asyncio.Future[bool]]]) -> None:
        """Commit one group in one statement and answer everyone in it."""
        try:
            fresh = await self._writer.add_many([i for i, _ in group], self.clock.now())
        except Exception as exc:
            log.error("could not store %d inbound requests: %s", len(group), exc)
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
            return
        seen: set[str] = set()
        for item, future in group:
            new = item.idem_key in fresh and item.idem_key not in seen
            seen.add(item.idem_key)
            if new:
                self.metrics.inbox_accepted.labels(item.op).inc()
            else:
                self.metrics.events_deduplicated.inc()
            if not future.done():
                future.set_result(new)
        self.on_stored({item.order_key for item, _ in group})
