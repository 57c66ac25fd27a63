"""An ordered queue between the Events API listeners and the timeline.

Listeners ack at once and enqueue. A drain task, started when the queue goes from empty to busy,
waits LINGER for more to arrive, then stores runs of posted messages in one transaction each and
applies edits, deletions and reactions in arrival order (so an edit never overtakes its message).
Events acked but still queued are lost if the process dies (a window of about LINGER); Slack does
not resend an acked event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bot.tasks import BackgroundTasks
from bot.timeline import PostedMessage, Timeline

log = logging.getLogger(__name__)

LINGER = 0.02
MAX_BATCH = 500


@dataclass(frozen=True)
class _Posted:
    event_id: str | None
    message: PostedMessage


class EventQueue:
    """Per-process queue of timeline work, drained by one task at a time."""

    def __init__(self, timeline: Timeline, tasks: BackgroundTasks, linger: float = LINGER) -> None:
        self.timeline, self.tasks, self.linger = timeline, tasks, linger
        self._items: list[_Posted | Callable[[], Awaitable[Any]]] = []
        self._draining = False

    def posted(self, event_id: str | None, message: PostedMessage) -> None:
        """A human message; batched with its neighbours."""
        self._push(_Posted(event_id, message))

    def then(self, work: Callable[[], Awaitable[Any]]) -> None:
        """Any other timeline change, applied after everything queued before it."""
        self._push(work)

    def soon(self, make: Callable[[], Coroutine[Any, Any, Any]], name: str) -> None:
        """Start `make()` as its own task once everything queued before it is stored (for work that
        waits on Slack, like a reaction's confirmation, so it never holds up the queue)."""

        async def start() -> None:
            self.tasks.spawn(make(), name=name)

        self._push(start)

    def _push(self, item: _Posted | Callable[[], Awaitable[Any]]) -> None:
        self._items.append(item)
        if not self._draining:
            self._draining = True
            self.tasks.spawn(self._drain(), name="timeline-queue")

    async def _drain(self) -> None:
        try:
            await asyncio.sleep(self.linger)
            while self._items:
                item = self._items[0]
                if isinstance(item, _Posted):
                    run = []
                    while self._items and isinstance(self._items[0], _Posted) and len(run) < MAX_BATCH:
                        run.append(self._items.pop(0))
                    await self._store([(p.event_id, p.message) for p in run])  # type: ignore[union-attr]
                else:
                    self._items.pop(0)
                    try:
                        await item()
                    except Exception:
                        log.exception("timeline change failed")
        finally:
            self._draining = False
            if self._items:  # arrived while finishing
                self._draining = True
                self.tasks.spawn(self._drain(), name="timeline-queue")

    async def _store(self, run: list[tuple[str | None, PostedMessage]]) -> None:
        try:
            await self.timeline.messages_posted(run)
        except Exception:
            # One bad message must not cost the others: retry them one transaction each.
            log.exception("storing %d messages in one transaction failed; storing one by one", len(run))
            for event_id, message in run:
                try:
                    await self.timeline.messages_posted([(event_id, message)])
                except Exception:
                    log.exception("message %s in %s was not stored", message.ts, message.channel_id)
