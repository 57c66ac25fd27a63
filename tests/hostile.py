"""A local HTTP server that misbehaves on purpose: trickles, floods, redirects elsewhere, or answers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class HostileServer:
    """`/feed/…` answers `body` (or `status`); `/trickle/…` sends one byte every `every` seconds;
    `/huge/…` streams `huge` bytes (counting them in `sent`); `/elsewhere/…` redirects to `localhost`
    (another host than 127.0.0.1); `/same/…` redirects to `/feed/…` on the same host. Any method."""

    body: str = ""
    status: int = 200
    every: float = 1.0
    requests: list[str] = field(default_factory=list)
    base: str = ""
    trickling: int = 0
    # "answer", or "trickle": /feed/… then trickles too (a calendar server that turns slow).
    mode: str = "answer"
    huge: int = 1 << 30  # a gigabyte, unless the reader stops first
    sent: int = 0

    async def start(self) -> HostileServer:
        app = web.Application()
        app.router.add_route("*", "/feed/{tail:.*}", self._feed)
        app.router.add_route("*", "/trickle/{tail:.*}", self._trickle)
        app.router.add_route("*", "/huge/{tail:.*}", self._huge)
        app.router.add_route("*", "/elsewhere/{tail:.*}", self._elsewhere)
        app.router.add_route("*", "/same/{tail:.*}", self._same)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{self.port}"
        return self

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _feed(self, request: web.Request) -> web.StreamResponse:
        if self.mode == "trickle":
            return await self._trickle(request)
        self.requests.append(request.path_qs)
        if self.status != 200:
            return web.Response(status=self.status, text="no")
        return web.Response(text=self.body, content_type="text/calendar")

    async def _trickle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path_qs)
        resp = web.StreamResponse(headers={"Content-Type": "text/calendar"})
        await resp.prepare(request)
        self.trickling += 1
        try:
            for byte in (self.body or "BEGIN:VCALENDAR\n" * 1000).encode():
                await resp.write(bytes([byte]))
                await asyncio.sleep(self.every)
        except ConnectionError:
            pass  # the reader gave up: what the tests want
        finally:
            self.trickling -= 1
        return resp

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path_qs)
        resp = web.StreamResponse(headers={"Content-Type": "text/calendar"})
        await resp.prepare(request)
        chunk = b"X" * 65536
        try:
            for _ in range(self.huge // len(chunk)):
                await resp.write(chunk)
                self.sent += len(chunk)
        except ConnectionError:
            pass  # the reader stopped: what the tests want
        return resp

    async def _elsewhere(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        tail = request.match_info["tail"]
        raise web.HTTPFound(f"http://localhost:{self.port}/feed/{tail}")

    async def _same(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        raise web.HTTPFound(f"/feed/{request.match_info['tail']}")
