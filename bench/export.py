"""Acks while the web view's downloads run: an incident with 100,000 timeline entries exported (JSON and
Markdown at once) while `/incident note` is sent to the bot and to a bare Bolt app (the floor).

python bench/export.py [--entries 100000] [--downloads 2] [--backend sqlite|postgresql]

Starts `incident-bot serve --http` with the web view on and the floor (bench/_floor.py) against one
emulator, declares an incident through the bot, bulk-inserts its timeline, signs in as U0ALICE, then:
acks of `/incident note` (bot and floor, in turn) with nothing else running; the same while
`--downloads` exports stream (a third would be refused: 429); /healthz meanwhile. Prints each
download's seconds and size, the bot's RSS before and at its peak, and the acks' p50, p99 and max.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import yarl
from _support import (
    Server,
    bot_server,
    command_body,
    drop_pg,
    floor_server,
    machine,
    open_incident,
    percentile,
    pg_database,
    post,
    workspace,
)
from sqlalchemy import select

from slack_emulator import SlackEmulator
from storage import migrate
from storage.db import Database
from storage.models import Incident, TimelineEntry

CLIENT_ID, CLIENT_SECRET = "4444.bench", "bench-client-secret"
TARGET_P99_MS = 100.0
PATHS = ("/ui/incidents/1/export.json", "/ui/incidents/1/postmortem.md")


async def seed(url: str, entries: int) -> None:
    """`entries` notes on INC-1, by bulk insert."""
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            incident = (await conn.execute(select(Incident.id, Incident.declared_at))).one()
            table = TimelineEntry.__table__
            for start in range(0, entries, 10_000):
                rows = [
                    {
                        "incident_id": incident.id,
                        "kind": "note",
                        "text": f"observation {i}: error rate at {i % 97}% in eu-west, <@U0ALICE> looking",
                        "at": incident.declared_at + timedelta(seconds=i),
                        "author_id": "U0ALICE",
                    }
                    for i in range(start, min(start + 10_000, entries))
                ]
                await conn.execute(table.insert(), rows)
    finally:
        await db.dispose()


async def sign_in(base: str) -> aiohttp.ClientSession:
    """A browser-like session signed in as U0ALICE through the emulator's Sign in with Slack."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get(base + "/ui/", allow_redirects=False) as resp:
        login = resp.headers["Location"]
    async with session.get(base + login, allow_redirects=False) as resp:
        authorize = resp.headers["Location"]
    assert parse_qs(urlsplit(authorize).query).get("client_id") == [CLIENT_ID], authorize
    async with session.get(yarl.URL(authorize).update_query(user="U0ALICE"), allow_redirects=False) as resp:
        callback = resp.headers["Location"]
    async with session.get(callback, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
    return session


async def download(session: aiohttp.ClientSession, url: str) -> tuple[int, float, int]:
    """(status, seconds, bytes) of one download, read as it comes."""
    started, size = time.perf_counter(), 0
    async with session.get(url) as resp:
        async for chunk in resp.content.iter_chunked(1 << 16):
            size += len(chunk)
    return resp.status, time.perf_counter() - started, size


async def acks(
    emu: SlackEmulator, bot: Server, floor: Server, channel: str, until: asyncio.Future | None, n: int
) -> dict[str, list[float]]:
    """`/incident note` to the bot and to the floor in turn, `n` times or until `until` is done."""
    times: dict[str, list[float]] = {"bot": [], "floor": [], "healthz": []}
    async with aiohttp.ClientSession() as session:
        i = 0
        while (until is None and i < n) or (until is not None and not until.done()):
            respond = emu.state.response_url("U0ALICE", channel)
            body = command_body("U0ALICE", channel, f"note still looking {i}", respond)
            for name, server in (("bot", bot), ("floor", floor)):
                status, elapsed = await post(session, server.url, *body)
                assert status == 200, (name, status)
                times[name].append(elapsed)
            started = time.perf_counter()
            async with session.get(f"http://127.0.0.1:{bot.port}/healthz") as resp:
                await resp.read()
            times["healthz"].append(time.perf_counter() - started)
            i += 1
            await asyncio.sleep(0.02)
    return times


def _line(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"  {label:<28}{percentile(ms, 50):8.1f}{percentile(ms, 99):8.1f}{max(ms):8.1f}   n={len(ms)}"


async def run(backend: str, entries: int, downloads: int) -> None:
    tmp = tempfile.TemporaryDirectory()
    url = f"sqlite:///{tmp.name}/bench.db" if backend == "sqlite" else await pg_database()
    db = Database(url)
    await migrate.upgrade(db)
    await db.dispose()
    emu = await workspace()
    emu.register_app(CLIENT_ID, CLIENT_SECRET)
    bot = bot_server(emu, Path(tmp.name), url)
    bot.env.update(
        {
            "SLACK_CLIENT_ID": CLIENT_ID,
            "SLACK_CLIENT_SECRET": CLIENT_SECRET,
            "INCIDENT_BOT_SESSION_SECRET": "bench-session-secret-of-32-bytes-or-more",
        }
    )
    floor = floor_server(emu, Path(tmp.name))
    try:
        await bot.start()
        await floor.start()
        channel = await open_incident(emu, bot.url)
        started = time.perf_counter()
        await seed(url, entries)
        seconds = time.perf_counter() - started
        print(f"{backend}: INC-1 with {entries:,} timeline entries (seeded in {seconds:.1f} s)")
        base = f"http://127.0.0.1:{bot.port}"
        session = await sign_in(base)
        try:
            quiet = await acks(emu, bot, floor, channel, None, 100)
            rss_before, peak = bot.rss_mb(), bot.rss_mb()
            tasks = [asyncio.ensure_future(download(session, base + PATHS[i % 2])) for i in range(downloads)]
            everything = asyncio.ensure_future(asyncio.gather(*tasks))
            await asyncio.sleep(0.3)
            async with session.get(base + PATHS[0]) as extra:
                refused = extra.status

            async def watch() -> None:
                nonlocal peak
                while not everything.done():
                    peak = max(peak, bot.rss_mb())
                    await asyncio.sleep(0.1)

            busy, _ = await asyncio.gather(acks(emu, bot, floor, channel, everything, 0), watch())
            results = await everything
        finally:
            await session.close()
        for i, (status, seconds, size) in enumerate(results):
            print(f"  download {PATHS[i % 2]}: {status}, {seconds:.1f} s, {size / 1e6:.1f} MB")
        print(f"  one more download meanwhile: {refused} (at most {downloads} at once)")
        print(f"  bot RSS: {rss_before:.0f} MB before, {peak:.0f} MB at most during the downloads")
        print(f"  {'ack (ms)':<28}{'p50':>8}{'p99':>8}{'max':>8}")
        print(_line("floor, quiet", quiet["floor"]))
        print(_line("bot, quiet", quiet["bot"]))
        print(_line("floor, during downloads", busy["floor"]))
        print(_line("bot, during downloads", busy["bot"]))
        print(_line("bot /healthz, during", busy["healthz"]))
        p99 = percentile(busy["bot"], 99) * 1000
        verdict = "met" if p99 < TARGET_P99_MS else "NOT met"
        print(f"  target: bot ack p99 < {TARGET_P99_MS:.0f} ms during the downloads: {verdict}")
    finally:
        await bot.stop()
        await floor.stop()
        await emu.stop()
        if backend != "sqlite":
            await drop_pg(url)
        tmp.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--downloads", type=int, default=2, help="downloads at once (the bot allows 2)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    print(f"acks during exports on {machine()}")
    asyncio.run(run(args.backend, args.entries, args.downloads))
