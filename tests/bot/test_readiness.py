"""/readyz fails while the paging tick has not completed recently, and says why."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp

from tests.harness import Harness


async def _ready(h: Harness) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(h.url + "/readyz") as resp:
        return resp.status, (await resp.json())["status"]


async def test_readyz_fails_while_the_paging_tick_is_stuck(harness: Harness) -> None:
    h = harness
    await h.tick()
    assert await _ready(h) == (200, "ok")
    stuck = asyncio.Event()
    ctx = h.bot.ctx
    real_tick = ctx.jobs.tick

    async def hung() -> int:
        await stuck.wait()  # a page send that never returns, a lock never granted, …
        return await real_tick()

    ctx.jobs.tick = hung  # type: ignore[method-assign]
    tick = asyncio.create_task(h.bot.tick())
    await asyncio.sleep(0.1)
    h.clock.advance(timedelta(seconds=59))
    assert await _ready(h) == (200, "ok"), "within the bound"
    h.clock.advance(timedelta(seconds=2))
    status, reason = await _ready(h)
    assert status == 503 and reason == "the paging tick has not completed for 61 s (bound 60 s)"
    stuck.set()
    await asyncio.wait_for(tick, 10)
    assert await _ready(h) == (200, "ok"), "ready again once a tick completes"
