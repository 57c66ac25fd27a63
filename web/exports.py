"""The downloads of an incident (the postmortem draft in Markdown, the JSON export), streamed: written
as services.exports renders them, page by page and a slice at a time, so a download of any size holds
one page in memory; it pauses while requests from outside the web view (Slack's acks) are being
answered, and at most EXPORTS_AT_ONCE run in a process at once (others are told to retry)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiohttp import web

from services.exports import Export, Format, JsonFormat, MarkdownFormat, pieces
from services.reports import Reports

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
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
        return await self._stream(request, reports, user, "text/markdown", "-postmortem.md", MarkdownFormat)

    async def json(self, request: web.Request, reports: Reports, user: str) -> web.StreamResponse:
        """The incident and its whole timeline as indented JSON (as `json.dumps(indent=2)` writes it)."""
        return await self._stream(request, reports, user, "application/json", ".json", JsonFormat)

    async def _stream(
        self,
        request: web.Request,
        reports: Reports,
        user: str,
        content_type: str,
        suffix: str,
        form: Callable[[Export], Format],
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
            async for piece in pieces(reports.db, found, out, self.others.turn):
                await response.write(piece.encode())
            await response.write_eof()
            return response
