"""Local HTTP receivers for outbound integrations: webhooks, PagerDuty and Statuspage stand-ins."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    """One request a receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on a free port that records requests and answers as told."""

    status: int = 200
    retry_after: str | None = None
    delay: float = 0.0
    answer: dict[str, Any] = field(default_factory=lambda: {"ok": True})
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        self.requests.append(Received(request.method, request.path, dict(request.headers), body, self.status))
        headers = {"Retry-After": self.retry_after} if self.retry_after and self.status >= 400 else {}
        if self.status >= 400:
            return web.json_response({"error": "down"}, status=self.status, headers=headers)
        return web.json_response(self.answer, status=self.status)

    def delivered(self) -> list[Received]:
        """Requests that were answered with success."""
        return [r for r in self.requests if r.status < 400]
