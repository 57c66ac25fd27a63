"""Event throughput: 16 senders post scribe messages into one incident channel.

python bench/events.py [--events 8000] [--runs 3] [--backends sqlite,postgresql]

Reports events acknowledged per second and the time until every one is on the timeline, on SQLite
and on PostgreSQL (TEST_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/postgres creates a
throw-away database). 5% of the events are sent twice, as Slack's retries, to check none is doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import aiohttp
from _support import bot_server, event_body, machine, median, open_incident, post, workspace
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import async_url

SENDERS = 16
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _pg_database() -> str:
    name = f"incident_bot_bench_{os.getpid()}"
    engine = create_async_engine(async_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def _drop_pg(url: str) -> None:
    engine = create_async_engine(async_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    await engine.dispose()


async def _counts(url: str) -> tuple[int, int, int]:
    engine = create_async_engine(async_url(url))
    async with engine.connect() as conn:
        transcript = (await conn.execute(text("SELECT count(*) FROM transcript_messages"))).scalar_one()
        entries = (
            await conn.execute(text("SELECT count(*) FROM timeline_entries WHERE kind = 'scribe'"))
        ).scalar_one()
        events = (await conn.execute(text("SELECT count(*) FROM processed_events"))).scalar_one()
    await engine.dispose()
    return int(transcript), int(entries), int(events)


async def run_once(backend: str, events: int) -> tuple[float, float]:
    emu = await workspace()
    tmp = tempfile.TemporaryDirectory()
    url = f"sqlite:///{tmp.name}/bench.db" if backend == "sqlite" else await _pg_database()
    bot = await bot_server(emu, Path(tmp.name), url).start()
    try:
        channel = await open_incident(emu, bot.url)
        base = int(time.time())
        bodies = []
        for i in range(events):
            ts = f"{base + i // 1_000_000}.{i % 1_000_000:06d}"  # exact: float sums can collide
            event = {
                "type": "message",
                "channel": channel,
                "channel_type": "channel",
                "user": "U0SCRIBE",
                "text": f"scribe note {i}",
                "ts": ts,
                "event_ts": ts,
            }
            body = event_body(event, f"EvT{i:07d}")
            bodies.append(body)
            if i % 20 == 0:
                bodies.append(body)  # Slack retrying an event: must not double anything
        queue = list(reversed(bodies))
        started = time.perf_counter()

        async def sender() -> None:
            async with aiohttp.ClientSession() as session:
                while queue:
                    status, _ = await post(session, bot.url, *queue.pop())
                    assert status == 200, status

        await asyncio.gather(*(sender() for _ in range(SENDERS)))
        acked = time.perf_counter() - started
        while True:
            transcript, entries, _ = await _counts(url)
            if transcript >= events and entries >= events:
                break
            if time.perf_counter() - started > 300:
                raise RuntimeError(f"only {transcript}/{events} stored after 300 s")
            await asyncio.sleep(0.05)
        stored = time.perf_counter() - started
        await asyncio.sleep(0.5)
        transcript, entries, processed = await _counts(url)
        assert (transcript, entries) == (events, events), (transcript, entries, events)
        assert processed == events, processed
        return len(bodies) / acked, stored
    finally:
        await bot.stop()
        await emu.stop()
        if backend == "postgresql":
            await _drop_pg(url)
        tmp.cleanup()


async def main(events: int, runs: int, backends: list[str]) -> None:
    print(f"event throughput: {events} scribe messages (+5% retries), {SENDERS} senders, on {machine()}")
    print(f"{'backend':11} {'acked/s':>9} {'all stored after':>17}")
    for backend in backends:
        results = [await run_once(backend, events) for _ in range(runs)]
        rate = median([r[0] for r in results])
        stored = median([r[1] for r in results])
        print(f"{backend:11} {rate:9.0f} {stored:16.2f}s   (median of {runs}; none lost or doubled)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=8000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    asyncio.run(main(args.events, args.runs, args.backends.split(",")))
