"""An incident's documents (the postmortem draft in Markdown, the JSON export) written piece by piece:
the timeline read page by page by keyset and rendered a slice of entries between turns of the event
loop, so a document of any size holds one page in memory and keeps the loop for one slice at a time.
The web view's downloads, `/incident postmortem` and `incident-bot export` all write them this way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from config.custom_fields import CustomField
from domain.records import TimelineEntry
from messages.postmortem import Postmortem, json_close, markdown_frame, markdown_rows, spans_days
from services.relations import MaySee, related_of
from storage.db import Database
from storage.fields import FieldRepo
from storage.followups import FollowupRepo
from storage.models import Incident
from storage.people import PeopleRepo
from storage.repositories import EntryRow, IncidentRepo, TimelineRepo

EXPORT_PAGE = 100  # timeline entries read from the database at a time
SLICE = 50  # entries rendered between two turns of the event loop (a few milliseconds)

Turn = Callable[[], Awaitable[None]]


@dataclass
class Export:
    """A document's data: the postmortem without its timeline, and the timeline's size and span."""

    data: Postmortem
    entries: int
    first: datetime | None
    last: datetime | None


class Format(Protocol):
    """A document's text in three parts: before the timeline's entries, each slice of them, after."""

    def head(self) -> str: ...
    def rows(self, entries: list[TimelineEntry]) -> str: ...
    def tail(self) -> str: ...


class MarkdownFormat:
    """The postmortem draft, as `messages.postmortem.markdown` writes it."""

    def __init__(self, found: Export) -> None:
        self.data, self.days = found.data, spans_days(found.data.incident, found.first, found.last)
        self._head, self._tail = markdown_frame(found.data)

    def head(self) -> str:
        return self._head

    def rows(self, entries: list[TimelineEntry]) -> str:
        return markdown_rows(self.data, entries, self.days)

    def tail(self) -> str:
        return self._tail


class JsonFormat:
    """The incident and its timeline, as `json.dumps(to_json(), indent=2)` writes it."""

    def __init__(self, found: Export) -> None:
        self.data, self.wrote = found.data, False
        self._head, self._tail = found.data.json_frame()

    def head(self) -> str:
        return self._head

    def rows(self, entries: list[TimelineEntry]) -> str:
        text = self.data.json_rows(entries, self.wrote)
        self.wrote = self.wrote or bool(entries)
        return text

    def tail(self) -> str:
        return json_close(self.wrote) + self._tail


async def export_data(
    db: Database,
    team_id: str,
    incident: Incident,
    may_see: MaySee | None = None,
    fields: Sequence[CustomField] = (),
) -> Export:
    """What a document of `incident` is written from, its timeline left to `pieces`; a related private
    incident's title only when the reader `may_see` it; the values of the workspace's `fields`."""
    async with db.session() as s:
        count, first, last = await TimelineRepo(s).span(incident.id)
        followups = await FollowupRepo(s, team_id).of_incident(incident.id)
        names = await PeopleRepo(s, team_id).names()
        related, original = await related_of(s, team_id, incident, may_see)
        values = await FieldRepo(s).of(incident.id) if fields else {}
    data = Postmortem(
        incident,
        [],
        names,
        followups=followups,
        related=related,
        duplicate_of=original,
        fields=[(spec, values.get(spec.name)) for spec in fields],
    )
    return Export(data, count, first, last)


async def export_of(
    db: Database, team_id: str, ref: str, fields: Sequence[CustomField] = ()
) -> Export | None:
    """`export_data` of a workspace's incident by channel id, `INC-n` or `n` (None when unknown)."""
    async with db.session() as s:
        incident = await IncidentRepo(s, team_id).by_ref(ref.strip())
    return None if incident is None else await export_data(db, team_id, incident, fields=fields)


async def timeline_pages(
    db: Database, incident_id: int, size: int = EXPORT_PAGE
) -> AsyncIterator[list[EntryRow]]:
    """The timeline in time order, `size` entries at a time, each page read in its own short
    read-only transaction (writes never wait for it; memory holds one page)."""
    after: tuple[datetime, int] | None = None
    while True:
        async with db.reading() as s:
            page = await TimelineRepo(s).page_after(incident_id, after, size)
        if page:
            yield page
        if len(page) < size:
            return
        after = (page[-1].at, page[-1].id)


async def _one_turn() -> None:
    await asyncio.sleep(0)


async def pieces(db: Database, found: Export, form: Format, turn: Turn = _one_turn) -> AsyncIterator[str]:
    """The document's text in pieces: its head, each slice of SLICE entries (after `turn`, the event
    loop's turn for everyone else), its tail."""
    yield form.head()
    async for entries in timeline_pages(db, found.data.incident.id):
        for at in range(0, len(entries), SLICE):
            await turn()
            yield form.rows(entries[at : at + SLICE])
    yield form.tail()


async def whole(db: Database, found: Export, form: Format, turn: Turn = _one_turn) -> str:
    """The whole document, built a slice at a time (for an upload, which takes all of it)."""
    return "".join([piece async for piece in pieces(db, found, form, turn)])
