"""The incident timeline: scribe messages, pinned messages, notes; the transcript of every message.

Events reach these methods from the inbox (a redelivery of an event_id was already dropped there).
Each change below runs in one transaction together with the claim of its event id, so carrying an
event out again after a crash is a no-op for the database; the ✅ that confirms a pin follows what
the timeline holds, so it is made sure of (or taken back) on such a retry too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from config.policy import Policy
from domain.errors import IncidentError
from messages.postmortem import Postmortem
from messages.timeline import fits, note_added
from runtime.clock import Clock
from runtime.journal import Outcome, Steps, carry_on
from runtime.metrics import Metrics
from runtime.slack_ops import SlackOps
from storage.db import Database
from storage.followups import FollowupRepo
from storage.models import Incident, TimelineEntry
from storage.people import PeopleRepo
from storage.repositories import (
    EventRepo,
    IncidentRepo,
    TimelineRepo,
)
from storage.transcript import (
    IncidentRef,
    MessageRows,
    TranscriptRepo,
    incident_ref,
    message_source,
    ts_time,
)

log = logging.getLogger(__name__)

CONFIRM_EMOJI = "white_check_mark"
EVENT_MEMORY = timedelta(days=1)
_PRUNE_EVERY = timedelta(hours=1)
SHOWN_PAGE = 50  # timeline entries read at a time for `/incident timeline`
# Entries that come from a Slack message carry this source key, so a message is on the timeline once.
FROM_MESSAGE = ("pinned", "scribe")


@dataclass(frozen=True)
class Pin:
    """A timeline emoji on a message, with what the entry needs."""

    event_id: str | None
    incident_id: int
    ts: str
    user_id: str
    emoji: str
    author: str | None
    text: str
    link: str | None


@dataclass(frozen=True)
class PostedMessage:
    """A human message in some channel, as the core needs it."""

    channel_id: str
    ts: str
    user_id: str
    text: str
    thread_ts: str | None = None


class Timeline:
    """Turns channel activity into timeline entries and answers what the timeline holds."""

    def __init__(
        self, db: Database, slack: SlackOps, policy: Policy, clock: Clock, metrics: Metrics, team_id: str
    ) -> None:
        self.db, self.slack, self.policy, self.clock, self.team_id = db, slack, policy, clock, team_id
        self.metrics = metrics
        self._pruned_at: datetime | None = None

    async def _incident(self, channel_id: str) -> Incident | None:
        async with self.db.session() as s:
            return await IncidentRepo(s, self.team_id).by_channel(channel_id)

    async def _incident_ref(self, s, channel_id: str) -> IncidentRef | None:  # type: ignore[no-untyped-def]
        """(id, scribe) of the channel's incident, read in session `s`; None for other channels.

        Not cached: a declaration creates its channel before the incident's row, and may be retried
        in between, so a channel that is no incident's now can be one a moment later.
        """
        return await incident_ref(s, channel_id)

    async def _claim(self, s, event_id: str | None) -> bool:  # type: ignore[no-untyped-def]
        """Claim the event in session `s`; False when it was already processed."""
        if event_id is None:
            return True
        now = self.clock.now()
        if await EventRepo(s).claim(event_id, now):
            return True
        log.info("event %s already processed; ignoring the retry", event_id)
        self.metrics.events_deduplicated.inc()
        return False

    async def prune_events(self) -> int:
        """Forget event ids older than a day (runs at most hourly per process)."""
        now = self.clock.now()
        if self._pruned_at is not None and now - self._pruned_at < _PRUNE_EVERY:
            return 0
        self._pruned_at = now
        async with self.db.session() as s:
            return await EventRepo(s).prune(now - EVENT_MEMORY)

    async def messages_posted(
        self,
        batch: list[tuple[str | None, PostedMessage]],
        also: Callable[[Connection], object] | None = None,
    ) -> int:
        """Keep many messages in one transaction (the inbox's fast path); returns how many were new.

        A message is stored once whatever happens: the transcript is unique per (incident, ts) and a
        scribe entry per (incident, message), both written with INSERT … ON CONFLICT DO NOTHING, so
        a batch carried out again changes nothing; `also` (the inbox marking the rows done) runs in
        the same transaction.
        """

        def store(conn: Connection) -> int:
            stored = self._store_messages(conn, batch)
            if also is not None:
                also(conn)
            return stored

        return await self.db.run(store)

    def _store_messages(self, s: Connection, batch: list[tuple[str | None, PostedMessage]]) -> int:
        """Store the batch's messages of incident channels in `s`; returns how many."""
        rows = MessageRows(s)
        refs: dict[str, IncidentRef | None] = {}
        wanted: list[tuple[PostedMessage, IncidentRef]] = []
        seen_ids: set[str] = set()
        for event_id, msg in batch:
            if msg.channel_id not in refs:
                refs[msg.channel_id] = rows.incident_ref(msg.channel_id)
            ref = refs[msg.channel_id]
            if ref is None or (event_id is not None and event_id in seen_ids):
                continue
            if event_id is not None:
                seen_ids.add(event_id)
            wanted.append((msg, ref))
        if wanted:
            rows.keep([(r, m.ts, m.thread_ts, m.user_id, m.text) for m, r in wanted])
            scribe = [
                (r, m.ts, m.user_id, m.text) for m, r in wanted if r.scribe_id and m.user_id == r.scribe_id
            ]
            if scribe:
                rows.scribe_entries(scribe)
        return len(wanted)

    async def message_edited(self, event_id: str | None, channel_id: str, ts: str, text: str) -> None:
        """An edit changes the kept text and the timeline entry made from the message."""
        async with self.db.session() as s:
            incident = await self._incident_ref(s, channel_id)
            if incident is None or not await self._claim(s, event_id):
                return
            kept = await TranscriptRepo(s).get(incident.id, ts)
            if kept is not None:
                kept.text, kept.edited_at = text, self.clock.now()
            entry = await TimelineRepo(s).by_source(incident.id, message_source(ts))
            if entry is not None:
                entry.text = text

    async def message_deleted(self, event_id: str | None, channel_id: str, ts: str) -> None:
        """A deleted message leaves the transcript and the timeline."""
        async with self.db.session() as s:
            incident = await self._incident_ref(s, channel_id)
            if incident is None or not await self._claim(s, event_id):
                return
            repo = TranscriptRepo(s)
            await repo.remove(incident.id, ts)
            await repo.remove_reactions(incident.id, ts)
            await TimelineRepo(s).remove_source(incident.id, message_source(ts), FROM_MESSAGE)

    async def reaction_added(
        self, event_id: str | None, channel_id: str, ts: str, user_id: str, emoji: str
    ) -> bool:
        """A timeline emoji puts the message on the timeline (at its own time) and gets a ✅.

        False when ignored (other emoji or channel, a message Slack cannot find). Carried out again
        (a retry after a crash or a failed ✅), the entry is not added twice and the ✅ is made sure of.
        """
        if emoji not in self.policy.timeline.emoji:
            return False
        async with self.db.transaction() as s:
            incident = await self._incident_ref(s, channel_id)
            if incident is None:
                return False
            kept = await TranscriptRepo(s).kept(incident.id, ts)
            # The usual case, one transaction: the message is in the transcript, the link is local.
            link = self.slack.local_permalink(channel_id, ts, kept.thread_ts) if kept else None
            if kept is not None and link is not None:
                pin = Pin(event_id, incident.id, ts, user_id, emoji, kept.user_id, kept.text, link)
                await self._pin(s, pin)
        if kept is None or link is None:
            if kept is None:
                fetched = await self.slack.fetch_message(channel_id, ts)
                if fetched is None:
                    log.warning("reaction on a message Slack cannot find: %s/%s", channel_id, ts)
                    return False
                author, text, thread_ts = fetched.user_id, fetched.text, fetched.thread_ts
            else:
                author, text, thread_ts = kept.user_id, kept.text, kept.thread_ts
            link = await self.slack.permalink(channel_id, ts, thread_ts)
            async with self.db.transaction() as s:
                await self._pin(s, Pin(event_id, incident.id, ts, user_id, emoji, author, text, link))
        if not await self._on_timeline(incident.id, ts):
            return False  # taken off again by a later request already carried out
        with carry_on(log, "could not confirm the timeline entry"):
            await self.slack.react(channel_id, ts, CONFIRM_EMOJI)
        return True

    async def _on_timeline(self, incident_id: int, ts: str) -> bool:
        async with self.db.session() as s:
            return await TimelineRepo(s).by_source(incident_id, message_source(ts)) is not None

    async def _pin(self, s, pin: Pin) -> bool:  # type: ignore[no-untyped-def]
        """Claim the event, remember who pinned, add the entry unless the message has one."""
        if not await self._claim(s, pin.event_id):
            return False
        await TranscriptRepo(s).add_reaction(pin.incident_id, pin.ts, pin.user_id, pin.emoji)
        await TimelineRepo(s).record_once(
            pin.incident_id,
            "pinned",
            pin.text,
            ts_time(pin.ts),
            author_id=pin.author,
            message_ts=pin.ts,
            permalink=pin.link,
            source_key=message_source(pin.ts),
        )
        return True

    async def reaction_removed(
        self, event_id: str | None, channel_id: str, ts: str, user_id: str, emoji: str
    ) -> bool:
        """Taking away the last timeline emoji takes the message off the timeline; True if it is off."""
        if emoji not in self.policy.timeline.emoji:
            return False
        async with self.db.session() as s:
            incident = await self._incident_ref(s, channel_id)
            if incident is None:
                return False
            if await self._claim(s, event_id):
                left = await TranscriptRepo(s).remove_reaction(incident.id, ts, user_id, emoji)
                if left == 0:
                    await TimelineRepo(s).remove_source(incident.id, message_source(ts), ("pinned",))
            # Carried out again after a crash, the state decides: no entry left, no ✅.
            if await TimelineRepo(s).by_source(incident.id, message_source(ts)) is not None:
                return False
        with carry_on(log, "could not take back the confirmation"):
            await self.slack.unreact(channel_id, ts, CONFIRM_EMOJI)
        return True

    async def note(self, steps: Steps, channel_id: str, author: str, text: str) -> None:
        """`/incident note`: an entry by the caller, now, confirmed in the channel."""
        incident = await self.incident_or_refuse(channel_id, "note")

        async def record(s: AsyncSession) -> int:
            entry = await TimelineRepo(s).record(incident.id, "note", text, steps.at, author_id=author)
            return entry.id

        entry_id = await steps.db("record", record)
        async with self.db.session() as s:
            entry = await s.get(TimelineEntry, entry_id)
        assert entry is not None
        await Outcome(incident, steps).step(
            "post", lambda: self.slack.post(channel_id, note_added(incident, entry))
        )

    async def entries(self, channel_id: str) -> tuple[Incident, list[TimelineEntry]]:
        """The incident of a channel and its whole timeline in time order."""
        incident = await self.incident_or_refuse(channel_id, "timeline")
        async with self.db.session() as s:
            return incident, await TimelineRepo(s).for_incident(incident.id)

    async def shown(self, channel_id: str) -> tuple[Incident, list[TimelineEntry], int]:
        """The incident of a channel, the first entries of its timeline the timeline message shows
        (read a page at a time until it is full, however long the timeline), and how many it has."""
        incident = await self.incident_or_refuse(channel_id, "timeline")
        entries: list[TimelineEntry] = []
        async with self.db.session() as s:
            repo = TimelineRepo(s)
            total = await repo.count(incident.id)
            while len(entries) < total and fits(entries) == len(entries):
                entries += await repo.part_of(incident.id, SHOWN_PAGE, len(entries))
        return incident, entries, total

    async def incident_or_refuse(self, channel_id: str, action: str) -> Incident:
        """The channel's incident (open or not), or a refusal naming the command."""
        incident = await self._incident(channel_id)
        if incident is None:
            raise IncidentError(f"`/incident {action}` only works in an incident channel.")
        return incident


async def load_postmortem(db: Database, team_id: str, ref: str) -> Postmortem | None:
    """The postmortem data of a workspace's incident by channel id, `INC-n` or `n` (None when unknown)."""
    async with db.session() as s:
        incident = await IncidentRepo(s, team_id).by_ref(ref.strip())
        if incident is None:
            return None
        entries = await TimelineRepo(s).for_incident(incident.id)
        names = await PeopleRepo(s, team_id).names()
        followups = await FollowupRepo(s, team_id).of_incident(incident.id)
    return Postmortem(incident, entries, names, followups=followups)
