"""The downloads of an incident (the postmortem draft in Markdown, the JSON export), streamed: the
timeline read page by page by keyset and written as it is read, so a download of any size holds one
page in memory, keeps the event loop for one slice of entries at a time, pauses while requests from
outside the web view (Slack's acks) are being answered, and at most EXPORTS_AT_ONCE run in a process
at once (others are told to retry)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

from domain.records import TimelineEntry
from messages.postmortem import json_close, markdown_frame, markdown_rows, spans_days
from services.reports import Export, Reports

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
EXPORT_PAGE = 100  # timeline entries read from the database at a time
SLICE = 50  # entries rendered between two turns of the event loop (a few milliseconds)
EXPORTS_AT_ONCE = 2  # downloads one process streams at the same time
RETRY_AFTER = 5  # seconds a refused download is told to wait
MAX_WAIT = 0.5  # seconds a download waits for other requests to finish before its next slice


class OtherRequests:
    """Counts the requests outside the web view in flight (Slack's, which want an ack within 3 s,
    health checks, webhooks): a download renders nothing while any is, so they go first."""

    def __init__(self) -> None:
        self.busy = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Counts every request but the web view's own while it is handled."""
        if request.path == "/ui" or request.path.startswith("/ui/"):
            return await handler(request)
        self.busy += 1
        self._quiet.clear()
        try:
            return await handler(request)
        finally:
            self.busy -= 1
            if not self.busy:
                self._quiet.set()

    async def turn(self) -> None:
        """A turn of the event loop for everyone else, and a wait while other requests are in flight
        (at most MAX_WAIT: a request that hangs does not stop downloads)."""
        await asyncio.sleep(0)
        if self.busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quiet.wait(), MAX_WAIT)


class Exports:
    """Streams the downloads of every workspace the process serves."""

    def __init__(self, others: OtherRequests, at_once: int = EXPORTS_AT_ONCE) -> None:
        self.others = others
        self._slots = asyncio.Semaphore(at_once)

    async def markdown(self, request: web.Request, reports: Reports, user: str) -> web.StreamResponse:
        """The postmortem draft as a Markdown file."""
        return await self._stream(request, reports, user, "text/markdown", "-postmortem.md", _Markdown)

    async def json(self, request: web.Request, reports: Reports, user: str) -> web.StreamResponse:
        """The incident and its whole timeline as indented JSON (as `json.dumps(indent=2)` writes it)."""
        return await self._stream(request, reports, user, "application/json", ".json", _Json)

    async def _stream(
        self,
        request: web.Request,
        reports: Reports,
        user: str,
        content_type: str,
        suffix: str,
        form: Callable[[Export], _Format],
    ) -> web.StreamResponse:
        if self._slots.locked():
            raise web.HTTPTooManyRequests(
                text=f"Other downloads are being prepared; try again in {RETRY_AFTER} seconds.\n",
                headers={"Retry-After": str(RETRY_AFTER)},
            )
        async with self._slots:
            found = await reports.export(int(request.match_info["number"]), user)
            if found is None:
                raise web.HTTPNotFound()
            out = form(found)
            response = web.StreamResponse(
                headers={
                    "Content-Type": f"{content_type}; charset=utf-8",
                    "Content-Disposition": f'attachment; filename="{found.data.incident.ref}{suffix}"',
                }
            )
            await response.prepare(request)
            await response.write(out.head().encode())
            async for entries in reports.export_pages(found.data.incident.id, EXPORT_PAGE):
                for at in range(0, len(entries), SLICE):
                    await self.others.turn()
                    await response.write(out.rows(entries[at : at + SLICE]).encode())
            await response.write(out.tail().encode())
            await response.write_eof()
            return response


class _Format(Protocol):
    """A download's text in three parts: before the timeline's entries, each page of them, after."""

    def head(self) -> str: ...
    def rows(self, entries: list[TimelineEntry]) -> str: ...
    def tail(self) -> str: ...


class _Markdown:
    def __init__(self, found: Export) -> None:
        self.data, self.days = found.data, spans_days(found.data.incident, found.first, found.last)
        self._head, self._tail = markdown_frame(found.data)

    def head(self) -> str:
        return self._head

    def rows(self, entries: list[TimelineEntry]) -> str:
        return markdown_rows(self.data, entries, self.days)

    def tail(self) -> str:
        return self._tail


class _Json:
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
