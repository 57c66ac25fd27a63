"""Event throughput and ack-to-effect latency: 16 senders post scribe messages into one incident channel.

python bench/events.py [--events 8000] [--runs 3] [--backends sqlite,postgresql] [--rate 0]

Reports events acknowledged per second (the bot answers 200 only once the event is stored in its
inbox, so acknowledged means acknowledged and durably stored), the time until every one is in the
transcript and on the timeline, how many were lost or doubled, and the acknowledgement-to-effect
latency (p50, p99) per event, from the bot's inbox table after the run: done_at - created_at over
the op='message' rows. On SQLite and on PostgreSQL (TEST_DATABASE_URL or
postgresql://postgres@127.0.0.1:5432/postgres creates a throw-away database). 5% of the events are
sent twice, as Slack's retries, to check none is doubled.

--rate N paces the senders to N deliveries per second in all (retries included) instead of as fast
as they can, to measure ack-to-effect latency at a steady load below saturation.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass
from math import nan
from pathlib import Path

import aiohttp
from _support import (
    ack_to_effect,
    bot_server,
    drop_pg,
    event_body,
    inbox_counts,
    machine,
    median,
    open_incident,
    percentile,
    pg_database,
    post,
    workspace,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.db import async_url

SENDERS = 16
TARGET_RATE, TARGET_P50_MS = 1500, 50.0


@dataclass
class Result:
    """One run on one backend."""

    acked_per_s: float  # deliveries answered 200 (each stored in the inbox first) per second
    stored_after: float  # seconds from the first delivery until every effect was stored
    lost: int  # events missing from the transcript or the timeline
    doubled: int  # extra transcript rows or timeline entries for the same message
    latencies: list[float]  # ack-to-effect, seconds, one per event


_PROGRESS = text(
    "SELECT (SELECT count(*) FROM transcript_messages WHERE user_id = 'U0SCRIBE'),"
    " (SELECT count(*) FROM timeline_entries WHERE kind = 'scribe'),"
    " (SELECT count(*) FROM inbox WHERE op = 'message' AND state IN ('pending', 'working'))"
)


async def _progress(engine: AsyncEngine) -> tuple[int, int, int]:
    """(transcript rows, scribe timeline entries, message rows still open in the inbox)."""
    async with engine.connect() as conn:
        transcript, entries, open_rows = (await conn.execute(_PROGRESS)).one()
    return int(transcript), int(entries), int(open_rows)


_TRANSCRIPT = text("SELECT ts FROM transcript_messages WHERE user_id = 'U0SCRIBE'")
_TIMELINE = text("SELECT message_ts FROM timeline_entries WHERE kind = 'scribe'")


async def _lost_doubled(engine: AsyncEngine, expected: set[str]) -> tuple[int, int]:
    """Events not in both the transcript and the timeline; rows beyond one per message in either."""
    async with engine.connect() as conn:
        transcript = list((await conn.execute(_TRANSCRIPT)).scalars())
        timeline = list((await conn.execute(_TIMELINE)).scalars())
    lost = len(expected - (set(transcript) & set(timeline)))
    doubled = len(transcript) - len(set(transcript)) + len(timeline) - len(set(timeline))
    return lost, doubled


async def run_once(backend: str, events: int, rate: float) -> Result:
    emu = await workspace()
    tmp = tempfile.TemporaryDirectory()
    url = f"sqlite:///{tmp.name}/bench.db" if backend == "sqlite" else await pg_database()
    bot = await bot_server(emu, Path(tmp.name), url).start()
    engine = create_async_engine(async_url(url))
    try:
        channel = await open_incident(emu, bot.url)
        base = int(time.time())
        bodies = []
        expected = set()
        for i in range(events):
            ts = f"{base + i // 1_000_000}.{i % 1_000_000:06d}"  # exact: float sums can collide
            expected.add(ts)
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
        queue = list(reversed(list(enumerate(bodies))))
        started = time.perf_counter()

        async def sender() -> None:
            async with aiohttp.ClientSession() as session:
                while queue:
                    k, body = queue.pop()
                    if rate:  # delivery k is due k/rate seconds after the start
                        delay = started + k / rate - time.perf_counter()
                        if delay > 0:
                            await asyncio.sleep(delay)
                    status, _ = await post(session, bot.url, *body)
                    assert status == 200, status

        await asyncio.gather(*(sender() for _ in range(SENDERS)))
        acked = time.perf_counter() - started
        # Every acknowledged event must already be a row in the inbox.
        in_inbox = sum(n for (op, _), n in (await inbox_counts(url)).items() if op == "message")
        if in_inbox != events:
            raise RuntimeError(f"{events} events acknowledged but {in_inbox} message rows in the inbox")
        while True:
            transcript, entries, open_rows = await _progress(engine)
            if (transcript >= events and entries >= events) or not open_rows:
                break  # all stored, or nothing left that could store more
            if time.perf_counter() - started > 300:
                raise RuntimeError(f"only {transcript}/{events} stored after 300 s")
            await asyncio.sleep(0.05)
        stored = time.perf_counter() - started
        await asyncio.sleep(0.5)
        lost, doubled = await _lost_doubled(engine, expected)
        latencies = await ack_to_effect(url, "message")
        return Result(len(bodies) / acked, stored, lost, doubled, latencies)
    finally:
        await engine.dispose()
        await bot.stop()
        await emu.stop()
        if backend == "postgresql":
            await drop_pg(url)
        tmp.cleanup()


async def main(events: int, runs: int, backends: list[str], rate: float) -> None:
    pace = f"paced at {rate:g} deliveries/s" if rate else "as fast as they go"
    print(
        f"event throughput: {events} scribe messages (+5% retries), {SENDERS} senders {pace}, on {machine()}"
    )
    print("acked/s: deliveries answered 200; the bot answers only after storing the event in its inbox,")
    print("so each acknowledged event was also durably stored (checked: one inbox row per event at the end)")
    at = f" at {rate:g}/s" if rate else ""
    print(
        f"{'backend':11} {'acked+stored/s':>14} {'effects stored after':>21} {'lost':>5} {'doubled':>8}"
        f"   ack-to-effect{at} p50, p99"
    )
    for backend in backends:
        results = [await run_once(backend, events, rate) for _ in range(runs)]
        acked = median([r.acked_per_s for r in results])
        stored = median([r.stored_after for r in results])
        lost = sum(r.lost for r in results)
        doubled = sum(r.doubled for r in results)
        p50 = median([percentile(r.latencies, 50) if r.latencies else nan for r in results]) * 1000
        p99 = median([percentile(r.latencies, 99) if r.latencies else nan for r in results]) * 1000
        print(
            f"{backend:11} {acked:14.0f} {stored:20.2f}s {lost:5d} {doubled:8d}"
            f"   {p50:8.1f} ms, {p99:8.1f} ms"
        )
    print(
        f"(medians of {runs} run(s); lost and doubled summed over runs; ack-to-effect per event is "
        "inbox.done_at - inbox.created_at over the op='message' rows)"
    )
    if rate:
        print(
            f"(paced: acked/s is the offered rate, not the capacity; the latency figures are for {rate:g}/s)"
        )
    print(
        f"targets: >= {TARGET_RATE:,} events/s acknowledged and stored with {SENDERS} senders on SQLite "
        f"and PostgreSQL; ack-to-effect p50 <= {TARGET_P50_MS:.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=8000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="deliveries per second in all, retries included (default 0: as fast as possible)",
    )
    args = parser.parse_args()
    if args.rate < 0:
        parser.error("--rate must be >= 0")
    asyncio.run(main(args.events, args.runs, args.backends.split(","), args.rate))
